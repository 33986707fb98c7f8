// Policies of a manager, given as extra template arguments in any order, each with a default:
//   concurrency:  thread_cached<> (default) | thread_safe | single_threaded | thread_cached<ChunkBytes, Slots>
//   storage:      hashed_storage (default) | bounded_storage<N> | static_storage<N, KeyBytes>
//                 -- where scope nodes live and how keyed scopes are found
//
// thread_cached<> (the default): thread_safe, plus a per-thread stock of memory on the scopes
// every thread shares (below), so that threads reserving through the same protocol, service and
// system scale instead of contending on their counters. No scope ever holds more than its limit.
//
// thread_safe: the exact policy. Every shared scope (system, transient, services, protocols,
// peers, their views) may be used from any number of threads at once, and so may the manager.
// Reserving and releasing take no lock: each scope's counters are updated with compare-and-swap,
// checked against the limit in the same step, and rolled back on refusal. Looking up, creating or
// collecting a keyed scope takes that kind's table lock. A connection or stream handle (and the
// spans opened on it) is like any C++ object: one thread at a time.
//
// single_threaded: the same code on plain integers and no locks, for event-loop nodes.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "rcmgr/detail/platform.hpp"
#include "rcmgr/observer.hpp"

namespace rcmgr {

namespace detail {
/// A counter on plain integers, with the interface of the atomic one so that one body of code
/// serves both policies; the compiler folds the "compare-exchange" into a plain store.
template <class T>
struct plain_cell {
  T v{};
  constexpr plain_cell() noexcept = default;
  constexpr explicit plain_cell(T x) noexcept : v(x) {}
  T load() const noexcept { return v; }
  void store(T x) noexcept { v = x; }
  bool compare_exchange(T& expected, T desired) noexcept {
    if (v == expected) {
      v = desired;
      return true;
    }
    expected = v;
    return false;
  }
  T fetch_add(T x) noexcept { T o = v; v = T(v + x); return o; }
  T fetch_sub(T x) noexcept { T o = v; v = T(v - x); return o; }
  T fetch_sub_release(T x) noexcept { return fetch_sub(x); }
  bool compare_exchange_release(T& expected, T desired) noexcept { return compare_exchange(expected, desired); }
};

/// An atomic counter. Accounting counters use relaxed order: each scope's word is updated
/// atomically on its own and no other data is published through them.
template <class T>
struct atomic_cell {
  std::atomic<T> v{};
  constexpr atomic_cell() noexcept = default;
  constexpr explicit atomic_cell(T x) noexcept : v(x) {}
  T load() const noexcept { return v.load(std::memory_order_relaxed); }
  void store(T x) noexcept { v.store(x, std::memory_order_relaxed); }
  bool compare_exchange(T& expected, T desired) noexcept {
    return v.compare_exchange_weak(expected, desired, std::memory_order_relaxed, std::memory_order_relaxed);
  }
  T fetch_add(T x) noexcept { return v.fetch_add(x, std::memory_order_relaxed); }
  T fetch_sub(T x) noexcept { return v.fetch_sub(x, std::memory_order_relaxed); }
  /// For reference counts: the last release must see every write made under earlier references.
  T fetch_sub_release(T x) noexcept { return v.fetch_sub(x, std::memory_order_acq_rel); }
  /// For reference counts: dropping a reference that is not the last must still publish the
  /// writes made under it to the thread that drops the last one and frees the node.
  bool compare_exchange_release(T& expected, T desired) noexcept {
    return v.compare_exchange_weak(expected, desired, std::memory_order_release, std::memory_order_relaxed);
  }
};

struct null_mutex {
  constexpr void lock() noexcept {}
  constexpr void unlock() noexcept {}
};
}  // namespace detail

/// Concurrency policy: plain integers, no locks. For a node driven by one event loop.
struct single_threaded {
  using rcmgr_concurrency_tag = void;
  template <class T>
  using cell = detail::plain_cell<T>;
  using mutex = detail::null_mutex;
  static constexpr bool concurrent = false;
};

/// Concurrency policy: lock-free reservations on atomics, locked keyed-scope tables. The exact
/// one: a shared scope's counter is its usage at every instant, and a reservation is refused only
/// when it does not fit. Under contention on shared scopes it does not scale (see thread_cached).
struct thread_safe {
  using rcmgr_concurrency_tag = void;
  template <class T>
  using cell = detail::atomic_cell<T>;
  using mutex = detail::system_mutex;
  static constexpr bool concurrent = true;
};

/// Concurrency policy (the default, as thread_cached<>): thread_safe, plus a per-thread cache of
/// memory on the scopes every thread shares (the singletons and the retained keyed kinds: in
/// libp2p, system, transient, services and protocols), after gRPC's memory quota. A thread reserving through such a scope takes
/// ChunkBytes from its counter at once and serves its next reservations from that local stock,
/// so two threads reserving through the same protocol no longer fight over one cache line.
/// What changes, precisely (everything else is as under thread_safe, and peers, views,
/// connections, streams and spans stay exact):
///  - a cached scope never holds more than its limit: its counter is the bytes in use plus the
///    bytes stocked, and stock is only taken when the counter has room for it;
///  - up to 2 * ChunkBytes per slot (Slots slots, shared by threads beyond Slots) may be stocked
///    while nobody uses them; a reservation that would be refused first returns every slot's
///    stock and tries again, so it is refused early only while other threads restock at the
///    same moment;
///  - only reservations at priority always are served from stock; others are checked against
///    the counter, stock included (conservative), after the same return-and-retry;
///  - stat() of a cached scope subtracts the stock: exact when no reservation is in flight.
/// Each cached scope grows by Slots cache lines.
template <std::int64_t ChunkBytes = 64 * 1024, unsigned Slots = 8>
struct thread_cached : thread_safe {
  static_assert(ChunkBytes > 0, "thread_cached<ChunkBytes, Slots>: ChunkBytes must be positive");
  static_assert(Slots > 0, "thread_cached<ChunkBytes, Slots>: Slots must be positive");
  static constexpr std::int64_t memory_cache_chunk = ChunkBytes;  ///< bytes stocked per refill
  static constexpr unsigned memory_cache_slots = Slots;           ///< per-thread slots per scope
};

namespace detail {
/// How a storage policy keeps nodes and tables.
enum class storage_mode : std::uint8_t {
  heap,     ///< node pools over the global heap; tables grow and shrink
  bounded,  ///< node pools over the global heap; tables sized once, at construction
  inline_,  ///< everything inside the manager object; never the heap
};
}  // namespace detail

/// Storage policy (the default): keyed scopes live in a hash table per kind, keyed with
/// SipHash-1-3 under a secret per-manager key (ids chosen to collide under std::hash do not
/// collide here), their nodes in free lists over the global heap, so that opening and closing
/// scopes in steady state rarely touches the heap. No cap on the number of scopes beyond what
/// the limits imply. Tables and pools give memory back as they empty (see trim()). An
/// allocation that fails is refused with errc::out_of_memory, changing nothing.
struct hashed_storage {
  using rcmgr_storage_tag = void;
  static constexpr detail::storage_mode mode = detail::storage_mode::heap;
  static constexpr std::size_t capacity = static_cast<std::size_t>(-1);  ///< live scopes per kind
  static constexpr std::size_t key_capacity = 0;                          ///< 0: keys stored as their own type
};

/// Storage policy: like hashed_storage, but at most MaxPerKind live scopes of each keyed or view
/// kind; the table is sized for them up front (at construction) and never grows. Creating one
/// more fails with errc::too_many_scopes (opening the stream or connection, or attaching, is
/// refused; view_* hands its function an empty reference). For nodes with a fixed memory
/// budget, and as a second line of defence against key churn (peers pinned by memory nobody
/// releases).
template <std::size_t MaxPerKind>
struct bounded_storage {
  static_assert(MaxPerKind > 0, "bounded_storage<N>: N must be positive");
  using rcmgr_storage_tag = void;
  static constexpr detail::storage_mode mode = detail::storage_mode::bounded;
  static constexpr std::size_t capacity = MaxPerKind;
  static constexpr std::size_t key_capacity = 0;
};

/// Storage policy for nodes without a heap: every scope node and every table lives inside the
/// manager object, which never calls operator new or malloc (not even when constructed).
/// At most N live scopes of each keyed and view kind (peers, protocols, services, their views)
/// and of each per-object kind (connections, streams), and N live spans in all; one more is
/// refused with errc::too_many_scopes. Keys are stored inline: string keys (protocol ids,
/// service names; peer ids are inline already) of at most KeyBytes bytes, longer ones refused
/// with errc::invalid_argument; other key types must be trivially copyable. A lookup compares
/// at most N + 1 table slots (each slot holds a 64-bit keyed hash; keys are compared only on an
/// equal hash); the table is at most half full, so about 1.5 slots on average.
/// Per-key limit overrides (set_limit(key, l), limit sets with overrides) still use the heap.
template <std::size_t N, std::size_t KeyBytes = 64>
struct static_storage {
  static_assert(N > 0, "static_storage<N, KeyBytes>: N must be positive");
  static_assert(KeyBytes > 0 && KeyBytes < 65536, "static_storage<N, KeyBytes>: KeyBytes must be in [1, 65535]");
  using rcmgr_storage_tag = void;
  static constexpr detail::storage_mode mode = detail::storage_mode::inline_;
  static constexpr std::size_t capacity = N;
  static constexpr std::size_t key_capacity = KeyBytes;  ///< bytes of a string key kept inline
};

namespace detail {
template <class P> concept concurrency_policy = requires { typename P::rcmgr_concurrency_tag; };
template <class P> concept storage_policy = requires { typename P::rcmgr_storage_tag; };

template <class Default, template <class> class Pred, class... Ps>
struct pick { using type = Default; };
template <class Default, template <class> class Pred, class P, class... Ps>
struct pick<Default, Pred, P, Ps...>
    : std::conditional_t<Pred<P>::value, std::type_identity<P>, pick<Default, Pred, Ps...>> {};

template <class P> struct is_concurrency : std::bool_constant<concurrency_policy<P>> {};

/// The memory cache of a concurrency policy (a policy_set, or a bare concurrency policy):
/// chunk == 0 means none.
template <class P>
struct memory_cache_of {
  static constexpr std::int64_t chunk = 0;
  static constexpr unsigned slots = 0;
};
template <class P>
  requires requires { P::memory_cache_chunk; }
struct memory_cache_of<P> {
  static constexpr std::int64_t chunk = P::memory_cache_chunk;
  static constexpr unsigned slots = P::memory_cache_slots;
};
template <class P> struct is_storage : std::bool_constant<storage_policy<P>> {};
template <class P> struct is_observer : std::bool_constant<observer_policy<P>> {};

/// The resolved policies of a manager; also what the engine is parameterised on.
template <class... Ps>
struct policy_set {
  static_assert(((concurrency_policy<Ps> || storage_policy<Ps> || observer_policy<Ps>) && ...),
                "rcmgr manager: unknown policy; policies are a concurrency policy (rcmgr::thread_safe, "
                "rcmgr::single_threaded), a storage policy (rcmgr::hashed_storage, bounded_storage<N>, "
                "static_storage<N>) and an observer "
                "(rcmgr::observed_by<T>)");
  static_assert((0 + ... + int(concurrency_policy<Ps>)) <= 1, "rcmgr manager: give at most one concurrency policy");
  static_assert((0 + ... + int(storage_policy<Ps>)) <= 1, "rcmgr manager: give at most one storage policy");
  static_assert((0 + ... + int(observer_policy<Ps>)) <= 1, "rcmgr manager: give at most one observer");
  // The default is thread_cached<>: see docs/design.md, "The default concurrency policy".
  using concurrency = typename pick<thread_cached<>, is_concurrency, Ps...>::type;
  using storage = typename pick<hashed_storage, is_storage, Ps...>::type;
  using observer = typename pick<observed_by<no_observer>, is_observer, Ps...>::type::type;

  // what the engine reads
  template <class T>
  using cell = typename concurrency::template cell<T>;
  using mutex = typename concurrency::mutex;
  static constexpr bool concurrent = concurrency::concurrent;
  static constexpr std::int64_t memory_cache_chunk = memory_cache_of<concurrency>::chunk;
  static constexpr unsigned memory_cache_slots = memory_cache_of<concurrency>::slots;
  /// The same policies in one fixed order, all named: resource_manager<> and
  /// resource_manager<thread_cached<>> (or <hashed_storage, thread_cached<>>) share one engine
  /// type, so a program instantiates, and an explicit instantiation covers, each engine once.
  using canonical = policy_set<concurrency, storage, typename pick<observed_by<no_observer>, is_observer, Ps...>::type>;
  // Last, once every member exists: clang stops declaring members at a failed assertion, and
  // the engine would then add an error per member it reads.
  static_assert(RCMGR_HAS_THREADS || !concurrent,
                "rcmgr manager: this standard library has no threads (no std::mutex); give rcmgr::single_threaded "
                "as the concurrency policy");
};

/// The storage policy of an engine policy (a policy_set, or a bare concurrency policy).
template <class P>
struct storage_of { using type = hashed_storage; };
template <class P>
  requires requires { typename P::storage; }
struct storage_of<P> { using type = typename P::storage; };

/// The observer of an engine policy (a policy_set, or a bare concurrency policy).
template <class P>
struct observer_of { using type = no_observer; };
template <class P>
  requires requires { typename P::observer; }
struct observer_of<P> { using type = typename P::observer; };
}  // namespace detail
}  // namespace rcmgr
