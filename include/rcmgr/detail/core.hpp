// The engine: scope nodes and the manager's state, and the paths a reservation takes. Every
// path is generated from the topology's analysis: the set of scopes charged in each state of a
// kind is a compile-time mask, unrolled into straight-line code; the state itself (which late
// parents are set) is a small integer switched on once per operation.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <mutex>
#include <new>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

#include "rcmgr/detail/counters.hpp"
#include "rcmgr/detail/key_check.hpp"
#include "rcmgr/detail/kind_traits.hpp"
#include "rcmgr/detail/limit_store.hpp"
#include "rcmgr/detail/live_handles.hpp"
#include "rcmgr/detail/meta.hpp"
#include "rcmgr/detail/siphash.hpp"
#include "rcmgr/detail/storage.hpp"
#include "rcmgr/errors.hpp"
#include "rcmgr/limit_set.hpp"
#include "rcmgr/observer.hpp"
#include "rcmgr/policies.hpp"
#include "rcmgr/result.hpp"
#include "rcmgr/topology.hpp"

namespace rcmgr {

/// What a misuse report says. Misuse never changes accounting beyond what was really held:
/// an over-release is clamped to the amount the scope holds, a negative release is ignored.
struct misuse_event {
  enum class what : std::uint8_t {
    over_release,      ///< release_memory(n) with n above what the scope itself reserved
    negative_release,  ///< release_memory(n) with n < 0
  };
  what kind = what::over_release;
  scope_name scope;
  std::int64_t requested = 0;  ///< bytes asked to release
  std::int64_t available = 0;  ///< bytes the scope held (what was released)
};

/// Counts of misuse seen by a manager since it was created.
struct misuse_stats {
  std::uint64_t over_releases = 0;
  std::int64_t over_released_bytes = 0;  ///< sum of (requested - available) over over_releases, saturating at INT64_MAX
  std::uint64_t negative_releases = 0;
};

namespace detail {

template <class K>
inline constexpr bool is_per_object = kind_traits<K>::shape == kind_shape::per_object;
template <class K>
inline constexpr bool is_shared = !is_per_object<K>;

template <class Core, class K>
struct node;

struct no_owner {};

/// Calls f with the text form of a key. A std::string exists only for keys that need
/// to_string(): naming a scope in an error then uses no string at all for kinds without keys or
/// with text keys, and a firmware that never allocates does not even link operator delete.
template <class Key, class F>
void with_key_text(const Key& k, F&& f) {
  if constexpr (std::is_convertible_v<const Key&, std::string_view>) {
    f(std::string_view(k));
  } else {
    const std::string buf = to_string(k);
    f(std::string_view(buf));
  }
}

// ---- nodes ------------------------------------------------------------------------------------

/// A connection, stream or other per-object scope. Owned by its handle (one reference) and by
/// any spans or owned children open on it. Only the thread using the handle touches `state`,
/// `done`, `parents` and `direct_memory`.
template <class Core, class K>
  requires(is_per_object<K> && !kind_traits<K>::is_span)
struct node<Core, K> {
  using policy = typename Core::policy;
  using G = typename Core::graph;
  static constexpr int index = Core::template index<K>;
  static constexpr int slot_count = G::slot_count(index);
  static constexpr int owner_index = G::owner(index);
  using owner_kind = typename Core::template kind_at_or_void<owner_index>;
  using owner_ptr = std::conditional_t<(owner_index >= 0), node<Core, owner_kind>*, no_owner>;

  counters<kind_traits<K>::accounted, policy> rc;
  std::int64_t direct_memory = 0;  ///< bytes reserved on this scope itself, not through spans
  typename policy::template cell<std::uint32_t> refs{1};
  std::uint8_t state = 0;  ///< bit b set: late parent b is attached
  bool done = false;
  [[no_unique_address]] std::array<void*, std::size_t(slot_count)> parents{};  ///< keyed and view parents, by G::slot
  [[no_unique_address]] owner_ptr owner{};
  [[no_unique_address]] typename kind_traits<K>::carried data{};  ///< carries<T>; empty otherwise
};

/// A span: memory only, reserving through its owner.
template <class Core, class K>
  requires(kind_traits<K>::is_span)
struct node<Core, K> {
  using policy = typename Core::policy;
  using owner_kind = typename K::owner;
  counters<kind_traits<K>::accounted, policy> rc;
  std::int64_t direct_memory = 0;
  typename policy::template cell<std::uint32_t> refs{1};
  bool done = false;
  node<Core, owner_kind>* owner = nullptr;
};

/// Counters of a singleton or keyed scope. Under a memory-caching policy (thread_cached), the
/// scopes every thread shares -- singletons and retained keyed kinds -- cache memory per thread;
/// collected keyed kinds (peers) and views stay exact, like per-object scopes.
template <class Policy, class K>
using shared_counters = std::conditional_t<
    (memory_cache_of<Policy>::chunk > 0 && kind_traits<K>::accounted.contains(resource::memory) &&
     (kind_traits<K>::shape == kind_shape::singleton || lifetime_retains<K>::value)),
    cached_counters<kind_traits<K>::accounted, Policy, memory_cache_of<Policy>::chunk, memory_cache_of<Policy>::slots>,
    counters<kind_traits<K>::accounted, Policy>>;

/// A singleton scope, owned by the manager.
template <class Core, class K>
  requires(kind_traits<K>::shape == kind_shape::singleton)
struct node<Core, K> {
  using policy = typename Core::policy;
  shared_counters<policy, K> rc;
  typename policy::template cell<std::int64_t> direct_memory{};
};

/// Where a keyed or view node reads its limit: the kind's default store (which lives with the
/// manager) or, when its key has an override, the node's own store `own`, which lives exactly as
/// long as the node. No store a reservation can reach is ever freed while it could read it, so
/// reloading limits keeps nothing behind.
template <class Core, class K, bool Stored = !kind_traits<K>::constant_limit>
struct limit_ptr {
  using store = const typename Core::template limit_store_of<K>*;
  typename Core::template limit_store_of<K> own{};  ///< this key's override, when `ptr` points here
  // A store made by set_limit(key, l) is filled in by one thread and read by reservations on
  // others: publish the pointer with release and read it with acquire (a plain load on x86),
  // so a reader never sees the pointer before the values behind it.
  std::conditional_t<Core::policy::concurrent, std::atomic<store>, store> ptr{};
  store load() const noexcept {
    if constexpr (Core::policy::concurrent) return ptr.load(std::memory_order_acquire);
    else return ptr;
  }
  void publish(store s) noexcept {
    if constexpr (Core::policy::concurrent) ptr.store(s, std::memory_order_release);
    else ptr = s;
  }
};
template <class Core, class K>
struct limit_ptr<Core, K, false> {};

/// A keyed scope (a peer, a protocol, a service). Lives in its kind's table while anything
/// refers to it or it holds anything.
template <class Core, class K>
  requires(kind_traits<K>::shape == kind_shape::keyed)
struct node<Core, K> {
  using policy = typename Core::policy;
  /// The key as stored: the kind's key type, or inline text under static_storage.
  using key_type = typename storage_traits<policy>::template stored_key<typename key_of<K>::type>;
  shared_counters<policy, K> rc;
  typename policy::template cell<std::int64_t> direct_memory{};
  typename policy::template cell<std::uint32_t> refs{0};
  [[no_unique_address]] limit_ptr<Core, K> lim;
  std::uint64_t hash;  ///< the key's keyed hash, computed once: the table slot and views' hashes use it
  key_type key;
  template <class Key>
  node(const Key& k, std::uint64_t h) : hash(h), key(k) {}
};

/// A view scope: one per (A, B) pair, e.g. the protocol-peer scope of a protocol and a peer.
template <class Core, class K>
  requires(kind_traits<K>::shape == kind_shape::view)
struct node<Core, K> {
  using policy = typename Core::policy;
  using first_kind = typename kind_traits<K>::shape_option::first;
  using second_kind = typename kind_traits<K>::shape_option::second;
  counters<kind_traits<K>::accounted, policy> rc;
  typename policy::template cell<std::int64_t> direct_memory{};
  typename policy::template cell<std::uint32_t> refs{0};
  [[no_unique_address]] limit_ptr<Core, K> lim;
  std::uint64_t hash;  ///< derived from a's and b's keyed hashes
  node<Core, first_kind>* a;
  node<Core, second_kind>* b;
  node(node<Core, first_kind>* x, node<Core, second_kind>* y, std::uint64_t h) noexcept : hash(h), a(x), b(y) {}
};

// ---- per-kind state held by the manager --------------------------------------------------------

/// Hashes any key type; string-like keys hash as their text so that a lookup by
/// std::string_view finds a std::string or peer_id key without building one.
struct any_key_hash {
  using is_transparent = void;
  template <class Key>
  std::size_t operator()(const Key& k) const noexcept {
    if constexpr (std::is_convertible_v<const Key&, std::string_view>) return std::hash<std::string_view>{}(std::string_view(k));
    else return std::hash<Key>{}(k);
  }
};
template <class A, class B>
bool keys_equal(const A& a, const B& b) noexcept {
  if constexpr (std::is_convertible_v<const A&, std::string_view> && std::is_convertible_v<const B&, std::string_view>)
    return std::string_view(a) == std::string_view(b);
  else return a == b;
}
// The hooks of carries<T> and instead_of<> (connection gating) are all `if constexpr` on the
// kind, so a kind without them compiles as if they did not exist. tests/codegen checks it by
// compiling a session with RCMGR_DETAIL_WITHOUT_SCOPE_HOOKS (which removes them) and without,
// and requiring the same bytes.
#ifdef RCMGR_DETAIL_WITHOUT_SCOPE_HOOKS
inline constexpr bool scope_hooks = false;
#else
inline constexpr bool scope_hooks = true;
#endif

/// The data of open_carrying, passed to open() as its only argument.
template <class T>
struct carry_init {
  T* data;
};
/// The data of open_filling: a callable that fills the node's data in place (see open_filling).
template <class F>
struct carry_fill {
  F* fill;
};
template <class T>
struct is_carry_init : std::false_type {};
template <class T>
struct is_carry_init<carry_init<T>> : std::true_type {};
template <class F>
struct is_carry_init<carry_fill<F>> : std::true_type {};
template <class T>
struct is_carry_fill : std::false_type {};
template <class F>
struct is_carry_fill<carry_fill<F>> : std::true_type {};

template <class Core, class K, kind_shape S = kind_traits<K>::shape>
struct kind_state;

template <class Core, class K>
struct kind_state<Core, K, kind_shape::singleton> {
  [[no_unique_address]] typename Core::template limit_store_of<K> lim;  // empty for compile-time limits
  node<Core, K> n;
};

template <class Core, class K>
struct kind_state<Core, K, kind_shape::per_object> {
  [[no_unique_address]] typename Core::template limit_store_of<K> lim;
};

/// An empty member in place of one a kind does not need (distinct I: two can share no address).
template <int I>
struct no_member {};

/// Keyed and view kinds: a table of live nodes, the default limit, and per-key overrides (plain
/// values: a live node copies its key's override into its own store, see limit_ptr).
template <class Core, class K, kind_shape S>
  requires(S == kind_shape::keyed || S == kind_shape::view)
struct kind_state<Core, K, S> {
  using node_type = node<Core, K>;
  using store = typename Core::template limit_store_of<K>;
  using okey = typename override_key_of<K>::type;
  using storage = storage_traits<typename Core::policy>;

  mutable typename Core::policy::mutex mu;  ///< guards table, pool, and the limit fields below
  typename storage::template table<node_type> table;
  typename storage::template shared_store<node_type> pool;
  store lim;
  /// The node the last acquire() found or made, for kinds whose scopes stay (protocols,
  /// services): a one-entry cache in front of the table, so a run of lookups of one key (every
  /// stream's set_protocol, say) compares the key once instead of hashing it. Cleared under
  /// `mu` whenever that node leaves the table.
  node_type* last = nullptr;
  // Kinds with compile-time limits have no per-key limits: no map, so that a heap-free
  // firmware does not even link its (de)allocation code.
  using override_map = std::unordered_map<okey, typename kind_traits<K>::limit_type, any_key_hash, std::equal_to<>>;
  [[no_unique_address]] std::conditional_t<kind_traits<K>::constant_limit, no_member<0>, override_map> overrides;
  kind_state() : table(Core::table_capacity) {}
};

/// The store of a per-object kind's nodes (none for other kinds).
struct no_store {};
template <class Core, class K>
struct object_store_for {
  using type = no_store;
};
template <class Core, class K>
  requires(is_per_object<K> && !kind_traits<K>::is_span)
struct object_store_for<Core, K> {
  using type = typename storage_traits<typename Core::policy>::template object_store<node<Core, K>>;
};

/// What the stores of a manager hold (see basic_resource_manager::storage_stats()).
struct storage_stats {
  std::size_t nodes_live = 0;    ///< scope nodes in use (shared kinds and, where counted, per-object kinds and spans)
  std::size_t nodes_cached = 0;  ///< free nodes kept for reuse (heap pools) or slots used once and free (static)
  std::size_t heap_bytes = 0;    ///< heap memory held by tables and node pools, in bytes
  std::size_t table_slots = 0;   ///< slots of every keyed and view table
};


// ---- the core ---------------------------------------------------------------------------------

template <class Topology, class Policy, class KL = typename Topology::kind_list>
class core;

template <class Topology, class Policy, class... Ks>
class core<Topology, Policy, type_list<Ks...>> {
 public:
  using policy = Policy;
  using graph = typename Topology::graph_type;
  using topology = Topology;
  template <class K>
  static constexpr int index = index_of<K, Ks...>();
  template <int I>
  using kind_at = nth<std::size_t(I), Ks...>;
  template <int I>
  using kind_at_or_void = typename detail::kind_at_or_void<I, Ks...>::type;
  template <class K>
  using limit_store_of = limit_store<typename kind_traits<K>::limit_type, Policy>;
  template <class K>
  using node_t = node<core, K>;
  using observer_type = typename observer_of<Policy>::type;
  /// Most live scopes per keyed or view kind (storage policy); SIZE_MAX for no cap.
  static constexpr std::size_t table_capacity = storage_of<Policy>::type::capacity;
  /// False when no observer was given: every notification then compiles away.
  static constexpr bool observing = observer_enabled<observer_type>;
  /// Whether the observer wants events of type t on scopes of kind K (false without observer).
  template <class K>
  static constexpr bool notifies(scope_event::type t) noexcept {
    if constexpr (kind_traits<K>::is_span)  // spans: also what the observer wants of its owner kind's spans
      return observer_wants<observer_type>(t, kind_traits<K>::name) ||
             observer_wants_span<observer_type>(t, kind_traits<typename live_kind<K>::type>::name);
    else return observer_wants<observer_type>(t, kind_traits<K>::name);
  }

  observer_type& observer() noexcept { return observer_; }

  /// Installs `limits` as given (the manager checks them first). Under exceptions, running out
  /// of memory for the per-key overrides throws std::bad_alloc.
  // The seed mixes in this object's address only, as an integer: g++ -O2 warns
  // (maybe-uninitialized) about a pointer to the object under construction passed as const void*.
  explicit core(const limit_set<Topology>& limits) : seed_(initial_seed(reinterpret_cast<std::uintptr_t>(this))) {
    std::tuple<prepared_overrides<Ks>...> next;
    (prepare_kind<Ks>(limits, std::get<std::size_t(index<Ks>)>(next), true), ...);
    (commit_kind_limits<Ks>(limits, std::get<std::size_t(index<Ks>)>(next), true), ...);
  }
  core(const core&) = delete;
  core& operator=(const core&) = delete;
  /// The tables' hash secret; a topology without keyed or view kinds has no table to key.
  static hash_seed initial_seed(std::uintptr_t where) noexcept {
    if constexpr (((kind_traits<Ks>::shape == kind_shape::keyed || kind_traits<Ks>::shape == kind_shape::view) || ...)) {
      return make_hash_seed(where);
    } else {
      (void)where;
      return hash_seed{};
    }
  }
  ~core() {
    // Debug builds: handles or references still alive would reach freed memory when they end.
    live_.check([](std::size_t k) {
      return std::pair{name_at(int(k)), graph::kinds[k].shape == kind_shape::per_object};
    });
    // Free what the tables still hold: scopes pinned by memory nobody released, or by handles
    // that outlive the manager (a caller bug; such handles must not be used afterwards).
    (destroy_table<Ks>(), ...);
  }

  // ---- live handles and references (counted in debug builds only) ----
  // A span is counted under the kind at the root of its owner chain: spans of spans have no
  // index of their own (their owner is a span too).
  template <class K>
  struct live_kind {
    using type = K;
  };
  template <class K>
    requires(kind_traits<K>::is_span)
  struct live_kind<K> {
    using type = typename live_kind<typename K::owner>::type;
  };
  template <class K>
  void live_opened() noexcept {
    static_assert(index<typename live_kind<K>::type> >= 0, "internal: a live handle's kind is not in the topology");
    live_.opened(std::size_t(index<typename live_kind<K>::type>), kind_traits<K>::is_span);
  }
  template <class K>
  void live_closed() noexcept {
    live_.closed(std::size_t(index<typename live_kind<K>::type>), kind_traits<K>::is_span);
  }
  void set_outlived_handler(outlived_handler h, void* user) noexcept { live_.set_handler(h, user); }

  // ---- lookup ----
  template <class K>
  auto& state() noexcept {
    return std::get<std::size_t(index<K>)>(states_);
  }
  template <class K>
  const auto& state() const noexcept {
    return std::get<std::size_t(index<K>)>(states_);
  }
  template <class K>
    requires(kind_traits<K>::shape == kind_shape::singleton)
  node_t<K>& singleton() noexcept {
    return state<K>().n;
  }
  template <class K>
    requires(kind_traits<K>::shape == kind_shape::singleton)
  const node_t<K>& singleton() const noexcept {
    return state<K>().n;
  }

  template <class K>
  const limit_store_of<K>& limit_of(const node_t<K>& n) const noexcept {
    constexpr auto shape = kind_traits<K>::shape;
    if constexpr ((shape == kind_shape::keyed || shape == kind_shape::view) && !kind_traits<K>::constant_limit)
      return *n.lim.load();
    else return state<K>().lim;
  }

  // ---- naming ----
  template <class K>
  scope_name name_of(const node_t<K>& n) const {
    constexpr auto shape = kind_traits<K>::shape;
    scope_name s(kind_traits<K>::name);
    if constexpr (shape == kind_shape::keyed) {
      with_key_text(n.key, [&](std::string_view k) { s.set_key(k); });
    } else if constexpr (shape == kind_shape::view) {
      with_key_text(n.a->key, [&](std::string_view a) {
        with_key_text(n.b->key, [&](std::string_view b) { s.set_key(a, '@', b); });
      });
    }
    return s;
  }
  // The error builders are cold and out of line: they format names, and inlined they made the
  // reservation paths too large to inline into their callers.
  template <class K>
  [[gnu::cold, gnu::noinline]] error limit_error(const node_t<K>& n, const refusal& why, std::uint8_t prio) const {
    error e;
    e.code = errc::limit_exceeded;
    e.res = why.res;
    e.dir = why.dir;
    e.has_direction = why.has_direction;
    e.total = why.total;
    e.prio = why.res == resource::memory ? prio : priority::always;
    e.current = why.current;
    e.attempted = why.attempted;
    e.limit_value = why.limit_value;
    e.scope = name_of<K>(n);
    if constexpr (observing) refusal_usage() = n.rc.stat();  // for the refusal's event
    return e;
  }
  template <class K>
  [[gnu::cold, gnu::noinline]] error state_error(const node_t<K>& n, errc code, std::string_view detail) const {
    error e;
    e.code = code;
    e.scope = name_of<K>(n);
    e.detail = detail;
    return e;
  }

  // ---- reservation paths ----

  /// Charges `a` to node n of kind K and to everything n is charged to in its current state.
  template <class K, resource_set R>
  result<void> charge(node_t<K>& n, const amount& a, std::uint8_t prio) noexcept {
    if constexpr (kind_traits<K>::is_span) {
      if (n.done) return state_error<K>(n, errc::scope_closed, "the span has ended");
      // The owner first: its check bounds the span (the owner holds at least what the span
      // holds), so adding to the span afterwards cannot overflow, whereas adding first could
      // push a span holding some bytes past INT64_MAX before the owner refused.
      auto r = charge<typename K::owner, R>(*n.owner, a, prio);
      if (r) add_unchecked<R>(n.rc, a);
      return r;
    } else if constexpr (is_per_object<K>) {
      if (n.done) return state_error<K>(n, errc::scope_closed, "the scope has ended");
      if constexpr (node_t<K>::owner_index >= 0) {
        // A child of an ended owner can never reserve again: say so, rather than whatever its
        // own limit would answer (a full stream of a closed connection is closed, not full).
        if (owner_chain_ended<K>(n))
          return state_error<typename node_t<K>::owner_kind>(*n.owner, errc::scope_closed, "the scope has ended");
      }
      refusal why;
      if (!try_add<R>(n.rc, limit_of<K>(n), a, prio, why)) return limit_error<K>(n, why, prio);
      if constexpr (node_t<K>::owner_index >= 0) {
        auto r = charge<typename node_t<K>::owner_kind, R>(*n.owner, a, prio);
        if (!r) {
          sub<R>(n.rc, a);
          return r;
        }
      }
      auto r = dispatch_state<K>(n.state, [&](auto s) {
        return charge_mask<K, graph::flat(index<K>, decltype(s)::value), R>(n, a, prio);
      });
      if (!r) {
        sub<R>(n.rc, a);
        if constexpr (node_t<K>::owner_index >= 0) uncharge<typename node_t<K>::owner_kind, R>(*n.owner, a);
      }
      return r;
    } else {
      refusal why;
      if (!try_add<R>(n.rc, limit_of<K>(n), a, prio, why)) return limit_error<K>(n, why, prio);
      auto r = charge_mask<K, graph::static_closure(index<K>), R>(n, a, prio);
      if (!r) sub<R>(n.rc, a);
      return r;
    }
  }

  /// True when n's owner, or an owner further up, has ended. Ending a scope leaves its owned
  /// children open (they end with their handles) but releases everything they had charged above.
  template <class K>
  static bool owner_chain_ended(const node_t<K>& n) noexcept {
    if constexpr (node_t<K>::owner_index >= 0) {
      using O = typename node_t<K>::owner_kind;
      return n.owner == nullptr || n.owner->done || owner_chain_ended<O>(*n.owner);
    } else {
      (void)n;
      return false;
    }
  }

  /// Releases `a` from n and everything n is charged to. A release through an owner that has
  /// ended stops there: the owner's end already released everything below it.
  template <class K, resource_set R>
  void uncharge(node_t<K>& n, const amount& a) noexcept {
    if constexpr (kind_traits<K>::is_span) {
      if (n.done) return;
      sub<R>(n.rc, a);
      uncharge<typename K::owner, R>(*n.owner, a);
    } else if constexpr (is_per_object<K>) {
      if (n.done) return;
      sub<R>(n.rc, a);
      if constexpr (node_t<K>::owner_index >= 0) uncharge<typename node_t<K>::owner_kind, R>(*n.owner, a);
      dispatch_state<K>(n.state, [&](auto s) {
        uncharge_mask<K, graph::flat(index<K>, decltype(s)::value), R>(n, a);
        return 0;
      });
    } else {
      sub<R>(n.rc, a);
      uncharge_mask<K, graph::static_closure(index<K>), R>(n, a);
    }
  }

  template <class K>
  result<void> reserve_memory(node_t<K>& n, std::int64_t size, std::uint8_t prio) noexcept {
    constexpr resource_set mem{1u << unsigned(resource::memory)};
    static_assert(kind_traits<K>::accounted.contains(resource::memory),
                  "reserve_memory: this scope kind does not account memory (add resource::memory to its accounts<>)");
    if (size < 0) return state_error<K>(n, errc::invalid_argument, "cannot reserve a negative amount of memory");
    // size 0 goes the normal way too: it changes no counter, but answers scope_closed for an
    // ended scope or owner exactly as a real reservation would.
    auto r = charge<K, mem>(n, amount{size, 0, 0, 0}, prio);
    if (r) {
      if constexpr (is_per_object<K>) n.direct_memory += size;
      else n.direct_memory.fetch_add(size);
    }
    if constexpr (notifies<K>(scope_event::type::reserved) || notifies<K>(scope_event::type::reserve_refused)) {
      if (r ? notifies<K>(scope_event::type::reserved) : notifies<K>(scope_event::type::reserve_refused)) {
      scope_event ev{r ? scope_event::type::reserved : scope_event::type::reserve_refused, name_of<K>(n)};
      ev.memory = size;
      ev.prio = prio;
      if (!r) refused(ev, r.error());
      describe<K>(ev, n);
      observer_.on_event(ev);
      }
    }
    return r;
  }

  template <class K>
  void release_memory(node_t<K>& n, std::int64_t size) noexcept {
    constexpr resource_set mem{1u << unsigned(resource::memory)};
    if (size < 0) {
      report_misuse<K>(n, misuse_event::what::negative_release, size, 0);
      return;
    }
    std::int64_t take = size;
    if constexpr (is_per_object<K>) {
      if (n.done) return;  // everything was released when the scope ended
      if (take > n.direct_memory) {
        report_misuse<K>(n, misuse_event::what::over_release, size, n.direct_memory);
        take = n.direct_memory;
      }
      n.direct_memory -= take;
    } else {
      std::int64_t d = n.direct_memory.load();
      do {
        take = size < d ? size : d;
      } while (!n.direct_memory.compare_exchange(d, d - take));
      if (take < size) report_misuse<K>(n, misuse_event::what::over_release, size, take);
    }
    if (take != 0) uncharge<K, mem>(n, amount{take, 0, 0, 0});
    if constexpr (notifies<K>(scope_event::type::released)) {
      scope_event ev{scope_event::type::released, name_of<K>(n)};
      ev.memory = take;
      describe<K>(ev, n);
      observer_.on_event(ev);
    }
  }

  // ---- opening, attaching and ending per-object scopes ----

  /// The parents an open<K>(...) call names, in edge order: keyed parents (by key) and the
  /// owner (by handle), for at-open and until<> edges.
  template <class K>
  static constexpr auto open_parent_indices() {
    constexpr int i = index<K>;
    constexpr int count = [] {
      int c = 0;
      for (const auto& e : graph::edges)
        if (e.child == i && (e.b == bind_kind::at_open || e.b == bind_kind::until) &&
            (graph::kinds[e.parent].shape == kind_shape::keyed || graph::kinds[e.parent].shape == kind_shape::per_object))
          ++c;
      return c;
    }();
    int_indexed<int, std::size_t(count)> r{};
    int k = 0;
    for (const auto& e : graph::edges)
      if (e.child == i && (e.b == bind_kind::at_open || e.b == bind_kind::until) &&
          (graph::kinds[e.parent].shape == kind_shape::keyed || graph::kinds[e.parent].shape == kind_shape::per_object))
        r[k++] = e.parent;
    return r;
  }

  /// open<K>, with the data the scope carries (carries<T>) set before it is charged. When the
  /// regular scopes refuse and the kind has alternative scopes (instead_of<> edges), the data is
  /// asked whether to retry there (take_alternative()). If the open fails, on_end() is called.
  /// (It goes through open() with the data as its only argument, so that open() compiles for
  /// every other call exactly as it would without this feature.)
  template <class K, class Data>
  result<node_t<K>*> open_carrying(Data&& data, direction dir, bool use_fd) {
    static_assert(open_parent_indices<K>().size() == 0,
                  "open_carrying<K>: a kind opened with data cannot name keyed parents or an owner at open");
    if constexpr (std::is_rvalue_reference_v<Data&&> && !std::is_const_v<std::remove_reference_t<Data>>) {
      return open<K>(dir, use_fd, carry_init<std::remove_cvref_t<Data>>{&data});  // moved from where it is
    } else {
      std::remove_cvref_t<Data> d(std::forward<Data>(data));
      return open<K>(dir, use_fd, carry_init<std::remove_cvref_t<Data>>{&d});
    }
  }
  /// open<K> whose data is filled in place by `fill(data) -> result<void>`, called once the node
  /// exists and before anything is charged (after the closed and storage checks, so a refused
  /// open never runs it). When it fails the open fails with its error, nothing charged and
  /// on_end() not called: what fill took it must give back itself. When it succeeds the data is
  /// the node's, as with open_carrying. (The gated connection's gate ticket is written straight
  /// into the node this way: building it on the stack and copying it in stalled on store
  /// forwarding.)
  template <class K, class Fill>
  result<node_t<K>*> open_filling(Fill&& fill, direction dir, bool use_fd) {
    static_assert(open_parent_indices<K>().size() == 0,
                  "open_filling<K>: a kind opened with data cannot name keyed parents or an owner at open");
    static_assert(std::is_nothrow_invocable_v<Fill&, typename kind_traits<K>::carried&>,
                  "open_filling<K>: the fill must be noexcept (one that threw would leave the new scope half made)");
    return open<K>(dir, use_fd, carry_fill<std::remove_reference_t<Fill>>{&fill});
  }

  template <class K, class... Args>
  result<node_t<K>*> open(direction dir, bool use_fd, Args&&... args) {
    static_assert(is_per_object<K> && !kind_traits<K>::is_span,
                  "open<K>: only per-object kinds are opened; view singleton and keyed kinds with view<K>()");
    constexpr auto parents = open_parent_indices<K>();
    constexpr bool carrying = scope_hooks && (is_carry_init<std::remove_cvref_t<Args>>::value || ...);
    static_assert(sizeof...(Args) == parents.size() + (carrying ? 1u : 0u),
                  "open<K>: give one argument per keyed parent (its key) and per owner (its handle), in edge order");
    if (closed_.load()) {
      error e;
      e.code = errc::manager_closed;
      e.scope = scope_name(kind_traits<K>::name);
      if constexpr (carrying) {
        // the data is never stored: let it release what it holds (a gated connection's ticket)
        if constexpr (requires { (args.data->on_end(), ...); }) (args.data->on_end(), ...);
      }
      return e;
    }
    void* mem = object_store<K>().allocate();
    if (mem == nullptr) {
      error e = storage_error<K>(store_exhausted);
      if constexpr (carrying) {
        // the data was never stored: let it release what it holds (a gated connection's ticket)
        if constexpr (requires { (args.data->on_end(), ...); }) (args.data->on_end(), ...);
      }
      notify_open<K>(&e, nullptr, dir, use_fd);
      return e;
    }
    // A node carrying data is default-initialized (every member has an initializer):
    // value-initializing it (node_t<K>()) zeroes the whole node first, padding included, which
    // for a gated connection's compiled to `rep stos`, a third of open's time. Other nodes keep
    // value-initialization, whose code is smaller on small targets (tests/firmware).
    node_t<K>* n;
    if constexpr (carrying) n = ::new (mem) node_t<K>;
    else n = ::new (mem) node_t<K>();
    // bind the parents named at open
    error bind_err;
    mask_t created = 0;  // keyed parents this call created
#ifdef RCMGR_DETAIL_WITHOUT_SCOPE_HOOKS
    bool bound = bind_open_parents<K>(*n, bind_err, created, std::make_index_sequence<parents.size()>{},
                                      std::forward<Args>(args)...);
#else
    bool bound;
    if constexpr ((is_carry_fill<std::remove_cvref_t<Args>>::value || ...)) {
      if (auto filled = (*(args.fill, ...))(n->data); !filled) {
        destroy_object<K>(n);  // nothing was bound or charged; the fill gave back what it took
        return filled.error();
      }
      bound = true;
    } else if constexpr (carrying) {
      n->data = std::move(*(args.data, ...));
      bound = true;
    } else {
      bound = bind_open_parents<K>(*n, bind_err, created, std::make_index_sequence<parents.size()>{},
                                   std::forward<Args>(args)...);
    }
#endif
    if (bound && !bind_views<K, 0u, 0u>(*n, bind_err)) bound = false;
    if (!bound) {
      if (is_storage_error(bind_err.code)) {
        unbind_mask<K>(*n, view_mask());
        discard_created_parents<K>(*n, created);
      }
      unbind<K>(*n, 0);
      if constexpr (carrying) carried_end<K>(*n);
      destroy_object<K>(n);
      notify_open<K>(&bind_err, nullptr, dir, use_fd);
      return bind_err;
    }
    constexpr resource_set acc = kind_traits<K>::accounted;
    amount a;
    constexpr unsigned conns_bit = 1u << unsigned(resource::conns), streams_bit = 1u << unsigned(resource::streams),
                       fd_bit = 1u << unsigned(resource::fd);
    constexpr resource_set unit{static_cast<std::uint8_t>(
        acc.contains(resource::conns) ? (conns_bit | (acc.contains(resource::fd) ? fd_bit : 0u))
                                      : (acc.contains(resource::streams) ? streams_bit : 0u))};
    if constexpr (unit.contains(resource::conns)) a.conns = one(dir);
    else if constexpr (unit.contains(resource::streams)) a.streams = one(dir);
    if constexpr (unit.contains(resource::fd)) a.fd = use_fd ? 1 : 0;
    if constexpr (unit.bits != 0) {
      auto r = charge<K, unit>(*n, a, priority::always);
      if constexpr (carrying && graph::alt_bit(index<K>) >= 0) {
        if (!r && n->data.take_alternative()) {
          n->state = static_cast<std::uint8_t>(1u << alt_bit_of<index<K>>);
          r = charge<K, unit>(*n, a, priority::always);
        }
      }
      if (!r) {
        notify_open<K>(&r.error(), n, dir, use_fd);  // while bound: the event's path reads the scopes that refused
        unbind<K>(*n, 0);
        if constexpr (carrying) carried_end<K>(*n);
        destroy_object<K>(n);
        return r.error();
      }
    }
    notify_open<K>(nullptr, n, dir, use_fd);
    return n;
  }

  template <class K>
  void notify_open(const error* err, node_t<K>* n, direction dir, bool use_fd) {
    if constexpr (notifies<K>(scope_event::type::opened) || notifies<K>(scope_event::type::open_refused)) {
      if (!(err == nullptr ? notifies<K>(scope_event::type::opened) : notifies<K>(scope_event::type::open_refused))) return;
      scope_event ev{err == nullptr ? scope_event::type::opened : scope_event::type::open_refused,
                     scope_name(kind_traits<K>::name)};
      ev.dir = dir;
      ev.fd = use_fd;
      limit l;
      if (n != nullptr) {
        describe<K>(ev, *n);
        describe_limit<K>(ev, *n, l);
      }
      if (err != nullptr) {
        refused(ev, *err);
        ev.object = nullptr;  // a refused scope never existed for the caller
      }
      observer_.on_event(ev);
    } else {
      (void)err, (void)n, (void)dir, (void)use_fd;
    }
  }

  /// set<P>(key) on a per-object node: attach a late parent and move the node's usage.
  template <class K, class P, class... Key>
  result<void> attach(node_t<K>& n, const Key&... key) {
    constexpr int i = index<K>, p = index<P>;
    static_assert(p >= 0, "set<P>: P is not a kind of this topology");
    constexpr int b = graph::late_bit(i, p);
    static_assert(b >= 0, "set<P>: P is not a late parent of this kind (declare edge<K, P, late> or after<Q>)");
    constexpr bool keyed = kind_traits<P>::shape == kind_shape::keyed;
    static_assert(keyed == (sizeof...(Key) == 1), "set<P>: give the key of a keyed parent, nothing for a singleton");
    [[maybe_unused]] const std::uint8_t state_before = n.state;
    auto r = attach_impl<K, P>(n, key...);
    if constexpr (notifies<K>(scope_event::type::attached) || notifies<K>(scope_event::type::attach_refused)) {
      if (!(r ? notifies<K>(scope_event::type::attached) : notifies<K>(scope_event::type::attach_refused))) return r;
      scope_event ev{r ? scope_event::type::attached : scope_event::type::attach_refused, name_of<K>(n)};
      describe<K>(ev, n);
      if (r) ev.before = path_of<K>(n, state_before);
      if constexpr (keyed) {
        std::string buf;
        ev.parent = scope_name(kind_traits<P>::name, key_text(key...,  buf));
      } else {
        ev.parent = scope_name(kind_traits<P>::name);
      }
      if (!r) refused(ev, r.error());
      observer_.on_event(ev);
    }
    return r;
  }

  template <class K, class P, class... Key>
  result<void> attach_impl(node_t<K>& n, const Key&... key) {
    constexpr int i = index<K>, p = index<P>;
    constexpr int b = graph::late_bit(i, p);
    constexpr bool keyed = kind_traits<P>::shape == kind_shape::keyed;
    if (n.done) return state_error<K>(n, errc::scope_closed, "the scope has ended");
    if (n.state & (1u << b)) return state_error<K>(n, errc::already_attached, attached_text<P>());
    if (!prerequisites_met<K, P>(n.state)) return state_error<K>(n, errc::not_attached, prerequisite_text<K, P>());
    if constexpr (keyed) {
      if (const key_problem kp = key_problem_of<P>(key...)) return key_error(kind_traits<P>::name, kp);
    }
    if constexpr (scope_hooks && graph::alt_bit(i) >= 0 && !std::is_same_v<typename kind_traits<K>::carried, no_carry>) {
      // A scope in its alternative scopes whose data says it no longer belongs there (libp2p:
      // an allowlist entry naming another peer) moves to the regular ones first, or is refused.
      if ((n.state & (1u << alt_bit_of<i>)) && !n.data.template keep_alternative<P>(key...))
        if (auto r = leave_alternative<K>(n); !r) return r;
    }
    return dispatch_state<K>(n.state, [&](auto s) -> result<void> {
      constexpr unsigned S = decltype(s)::value;
      constexpr unsigned S2 = S | (1u << b);
      [[maybe_unused]] constexpr mask_t gained = graph::direct(i, S2) & ~graph::direct(i, S);  // parents bound by this call
      [[maybe_unused]] mask_t created = 0;
      if constexpr (!graph::valid_state(i, S2)) {
        return state_error<K>(n, errc::not_attached, prerequisite_text<K, P>());
      } else {
        if constexpr (keyed) {
          errc why{};
          bool fresh = false;
          auto* pn = acquire<P>(key..., why, &fresh);
          if (pn == nullptr) return storage_error<P>(why);
          n.parents[slot_of<i, p>] = pn;
          created = fresh ? bit(p) : 0;
        }
        if (error full; !bind_views<K, S, S2>(n, full)) {
          // Out of storage: undo everything, including a retained scope this call created.
          unbind_mask<K>(n, gained & view_mask());
          discard_created_parents<K>(n, created);
          unbind_mask<K>(n, gained);
          return full;
        }
        const amount u = n.rc.snapshot();
        constexpr mask_t added = graph::flat(i, S2) & ~graph::flat(i, S);
        constexpr mask_t removed = graph::flat(i, S) & ~graph::flat(i, S2);
        auto r = charge_mask<K, added, kind_traits<K>::accounted>(n, u, priority::always);
        if (!r) {
          unbind_mask<K>(n, gained);
          return r;
        }
        uncharge_mask<K, removed, kind_traits<K>::accounted>(n, u);
        constexpr mask_t lost = graph::direct(i, S) & ~graph::direct(i, S2);
        unbind_mask<K>(n, lost);
        n.state = static_cast<std::uint8_t>(S2);
        return {};
      }
    });
  }

  /// Moves a scope from its alternative scopes to the regular ones, all or nothing: its usage is
  /// charged to the regular scopes it lacks (priority always), then released from the others.
  template <class K>
  result<void> leave_alternative(node_t<K>& n) noexcept {
    constexpr int i = index<K>;
    constexpr unsigned alt = 1u << graph::alt_bit(i);
    return dispatch_state<K>(n.state, [&](auto s) -> result<void> {
      constexpr unsigned S = decltype(s)::value;
      if constexpr (!(S & alt)) {
        return {};
      } else {
        constexpr unsigned S2 = S & ~alt;
        constexpr mask_t added = graph::flat(i, S2) & ~graph::flat(i, S);
        constexpr mask_t removed = graph::flat(i, S) & ~graph::flat(i, S2);
        const amount u = n.rc.snapshot();
        auto r = charge_mask<K, added, kind_traits<K>::accounted>(n, u, priority::always);
        if (!r) return r;
        uncharge_mask<K, removed, kind_traits<K>::accounted>(n, u);
        n.state = static_cast<std::uint8_t>(S2);
        return {};
      }
    });
  }
  /// True when a per-object scope is charged to its alternative scopes (instead_of<> edges).
  template <class K>
  static bool in_alternative(const node_t<K>& n) noexcept {
    if constexpr (graph::alt_bit(index<K>) >= 0) return (n.state >> alt_bit_of<index<K>>) & 1u;
    else return (void)n, false;
  }
  template <class K>
  static void carried_end(node_t<K>& n) noexcept {
    if constexpr (requires { n.data.on_end(); }) n.data.on_end();
    else (void)n;
  }

  /// done(): release everything the node holds from everything it was charged to.
  template <class K>
  void end(node_t<K>& n) noexcept {
    if (n.done) return;
    if constexpr (scope_hooks && is_per_object<K> && !kind_traits<K>::is_span) carried_end<K>(n);
    constexpr resource_set acc = kind_traits<K>::accounted;
    const amount u = n.rc.snapshot();
    if constexpr (notifies<K>(scope_event::type::ended)) {
      scope_event ev{scope_event::type::ended, name_of<K>(n)};
      ev.released = n.rc.stat();
      describe<K>(ev, n);
      observer_.on_event(ev);
    }
    if constexpr (kind_traits<K>::is_span) {
      if (!u.empty()) uncharge<typename K::owner, acc>(*n.owner, u);
    } else {
      if (!u.empty()) {
        if constexpr (node_t<K>::owner_index >= 0) uncharge<typename node_t<K>::owner_kind, acc>(*n.owner, u);
        dispatch_state<K>(n.state, [&](auto s) {
          uncharge_mask<K, graph::flat(index<K>, decltype(s)::value), acc>(n, u);
          return 0;
        });
      }
    }
    n.rc.clear();
    n.direct_memory = 0;
    n.done = true;
    if constexpr (kind_traits<K>::is_span) {
      release_owner<typename K::owner>(n.owner);
      n.owner = nullptr;
    } else {
      unbind<K>(n, n.state);
    }
  }

  /// Drops one reference to a per-object node; frees it with the last.
  template <class K>
  void release_object(node_t<K>* n) noexcept {
    if (n->refs.fetch_sub_release(1) == 1) {
      end<K>(*n);
      destroy_object<K>(n);
    }
  }

  template <class O>
  result<node_t<span_of<O>>*> begin_span(node_t<O>& owner) {
    using S = span_of<O>;
    if constexpr (is_per_object<O>) {
      if (owner.done) return state_error<O>(owner, errc::scope_closed, "cannot begin a span on an ended scope");
    }
    static_assert(sizeof(node_t<S>) <= sizeof(span_node) && alignof(node_t<S>) <= alignof(span_node),
                  "internal: every span node has the layout of span_node");
    void* mem = span_store_.allocate();
    if (mem == nullptr) return storage_error<S>(store_exhausted);
    auto* n = ::new (mem) node_t<S>();
    n->owner = &owner;
    add_ref<O>(&owner);
    if constexpr (notifies<O>(scope_event::type::span_begun)) {
      scope_event ev{scope_event::type::span_begun, name_of<O>(owner)};
      describe<S>(ev, *n);
      limit l;
      describe_limit<S>(ev, *n, l);
      observer_.on_event(ev);
    }
    return n;
  }

  // ---- observation: what observers may read about a node (compiled only when observing) ----

  /// Fills the event's object, usage and path from node n.
  template <class K>
  void describe(scope_event& ev, node_t<K>& n) const noexcept {
    if constexpr (is_per_object<K>) ev.object = &n;
    ev.usage = n.rc.stat();
    std::uint8_t st = 0;
    if constexpr (is_per_object<K> && !kind_traits<K>::is_span) st = n.state;
    ev.path = path_of<K>(n, st);
    if constexpr (kind_traits<K>::is_span) {
      if (root_usage<K>(n, ev.owner_usage)) ev.owner_kind = kind_traits<typename live_kind<K>::type>::name;
    }
  }
  /// The usage of the scope at the root of a span's owner chain; false when a scope on the chain has ended.
  template <class K>
  static bool root_usage(const node_t<K>& n, scope_stat& out) noexcept {
    if constexpr (kind_traits<K>::is_span) {
      return !n.done && n.owner != nullptr && root_usage<typename K::owner>(*n.owner, out);
    } else {
      if constexpr (is_per_object<K>) {
        if (n.done || owner_chain_ended<K>(n)) return false;
      }
      out = n.rc.stat();
      return true;
    }
  }
  /// Points the event at node n's limit, kept in `l` (a span's is its owner's, as in go-libp2p).
  template <class K>
  void describe_limit(scope_event& ev, const node_t<K>& n, limit& l) const noexcept {
    if constexpr (kind_traits<K>::is_span) {
      describe_limit<typename K::owner>(ev, *n.owner, l);
    } else {
      const auto& s = limit_of<K>(n);
      l = limit{s.stream_limit(direction::inbound), s.stream_limit(direction::outbound), s.stream_total_limit(),
                s.conn_limit(direction::inbound),   s.conn_limit(direction::outbound),   s.conn_total_limit(),
                s.fd_limit(),                       s.memory_limit()};
      ev.lim = &l;
      ev.accounted = kind_traits<K>::accounted;
    }
  }
  /// A refusal's error, and for a limit's refusal the refusing scope's usage (see limit_error).
  void refused(scope_event& ev, const error& err) const noexcept {
    ev.err = &err;
    if constexpr (observing) {
      if (err.code == errc::limit_exceeded) ev.refuser_usage = refusal_usage();
    }
  }
  /// Where limit_error leaves the refusing scope's usage for the event that follows on this thread.
  scope_stat& refusal_usage() const noexcept {
    if constexpr (Policy::concurrent) {
      static thread_local scope_stat last;
      return last;
    } else {
      return refusal_usage_;
    }
  }
  /// Tells the observer that keyed or view node n was created, or is about to be destroyed.
  /// Called under the kind's table lock, so that the events of one key come in order.
  template <class K>
  void notify_lifetime(scope_event::type t, node_t<K>& n) noexcept {
    if constexpr (notifies<K>(scope_event::type::created) || notifies<K>(scope_event::type::destroyed)) {
      if (!(t == scope_event::type::created ? notifies<K>(scope_event::type::created)
                                            : notifies<K>(scope_event::type::destroyed)))
        return;
      scope_event ev{t, name_of<K>(n)};
      describe<K>(ev, n);
      limit l;
      if (t == scope_event::type::created) describe_limit<K>(ev, n, l);
      observer_.on_event(ev);
    } else {
      (void)t, (void)n;
    }
  }
  template <class K>
  scope_path path_of(const node_t<K>& n, std::uint8_t st) const noexcept {
    return scope_path{this, &n, st, &visit_path<K>};
  }
  template <class K>
  static void visit_path(const void* c, const void* node, std::uint8_t st, scope_path::callback cb, void* ctx) {
    auto& self = *const_cast<core*>(static_cast<const core*>(c));
    self.template visit_node<K>(*const_cast<node_t<K>*>(static_cast<const node_t<K>*>(node)), st, cb, ctx);
  }
  /// Calls cb for n and everything n is charged to in state st. Stops at an ended scope: its
  /// parents are no longer bound.
  template <class K>
  void visit_node(node_t<K>& n, std::uint8_t st, scope_path::callback cb, void* ctx) {
    const void* object = nullptr;
    if constexpr (is_per_object<K>) object = &n;
    cb(ctx, name_of<K>(n), n.rc.stat(), object);
    if constexpr (kind_traits<K>::is_span) {
      using O = typename K::owner;
      if (n.done || n.owner == nullptr || n.owner->done) return;
      std::uint8_t ost = 0;
      if constexpr (is_per_object<O> && !kind_traits<O>::is_span) ost = n.owner->state;
      visit_node<O>(*n.owner, ost, cb, ctx);
    } else if constexpr (is_per_object<K>) {
      if (n.done) return;
      if constexpr (node_t<K>::owner_index >= 0) {
        if (owner_chain_ended<K>(n)) return;
        using O = typename node_t<K>::owner_kind;
        visit_node<O>(*n.owner, n.owner->state, cb, ctx);
      }
      dispatch_state<K>(st, [&](auto s) {
        visit_mask<K, graph::flat(index<K>, decltype(s)::value)>(n, cb, ctx);
        return 0;
      });
    } else {
      visit_mask<K, graph::static_closure(index<K>)>(n, cb, ctx);
    }
  }
  template <class K, mask_t M>
  void visit_mask(node_t<K>& n, scope_path::callback cb, void* ctx) {
    [[maybe_unused]] constexpr auto idx = graph::template ordered<M>();
    [&]<std::size_t... J>(std::index_sequence<J...>) {
      (visit_one<K, idx[J]>(n, cb, ctx), ...);
    }(std::make_index_sequence<idx.size()>{});
  }
  template <class K, int A>
  void visit_one(node_t<K>& n, scope_path::callback cb, void* ctx) {
    if constexpr (kind_traits<kind_at<A>>::shape != kind_shape::singleton) {
      if (n.parents[std::size_t(slot_of<index<K>, A>)] == nullptr) return;  // unbound since
    }
    auto& p = instance<K, A>(n);
    cb(ctx, name_of<kind_at<A>>(p), p.rc.stat(), nullptr);
  }

  // ---- references to shared and per-object nodes ----
  template <class K>
  void add_ref(node_t<K>* n) noexcept {
    if constexpr (kind_traits<K>::shape != kind_shape::singleton) n->refs.fetch_add(1);
  }
  template <class K>
  void release_owner(node_t<K>* n) noexcept {
    if constexpr (is_per_object<K>) release_object<K>(n);
    else release_ref<K>(n);
  }

  /// The keyed hash of a key: SipHash-1-3 under this manager's secret key, over the text of a
  /// string-like key, and over std::hash's value for any other key type (so two keys with equal
  /// std::hash values collide here too: see docs/guarantees.md).
  template <class Key>
  std::uint64_t key_hash(const Key& key) const noexcept {
    if constexpr (string_like<Key>) {
      return siphash13(seed_, std::string_view(key));
    } else {
      const std::size_t h = std::hash<Key>{}(key);
      return siphash13(seed_, &h, sizeof h);
    }
  }

  /// Finds or creates the keyed scope for `key`, with a reference the caller must release.
  /// Returns nullptr, changing nothing, when the kind's table is full (why = too_many_scopes),
  /// an allocation failed (out_of_memory), or the key is longer than the storage policy keeps
  /// inline (invalid_argument).
  template <class K, class Key>
  node_t<K>* acquire(const Key& key, errc& why, bool* created = nullptr) {
    static_assert(kind_traits<K>::shape == kind_shape::keyed);
    using public_key = typename key_of<K>::type;
    if constexpr (!std::is_same_v<Key, public_key> &&
                  (!string_like<Key> || !string_like<public_key> || std::is_trivially_copyable_v<public_key>)) {
      // Hash and compare what the table stores: the kind's key type built from the argument
      // (a peer_id from text, std::hash of the key type rather than of the argument's type).
      // Only text for a std::string key is used as it is: its copy would allocate, and the
      // string stores the text exactly.
      return acquire<K>(public_key(key), why, created);
    } else {
      using st = storage_traits<Policy>;
      if constexpr (st::template length_checked<public_key>) {
        if (std::string_view(key).size() > st::policy::key_capacity) {
          why = errc::invalid_argument;
          return nullptr;
        }
      }
      auto& ks = state<K>();
      if constexpr (lifetime_retains<K>::value) {
        // A retained kind has few keys, looked up by every stream: try the last one first.
        std::lock_guard lk(ks.mu);
        if (node_t<K>* m = ks.last; m != nullptr && keys_equal(m->key, key)) {
          m->refs.fetch_add(1);
          return m;
        }
      }
      const std::uint64_t h = key_hash(key);
      std::lock_guard lk(ks.mu);
      node_t<K>* n = ks.table.find(h, [&](const node_t<K>& x) { return keys_equal(x.key, key); });
      if constexpr (lifetime_retains<K>::value) ks.last = n;
      if (n == nullptr) {
        if (ks.table.size() >= table_capacity) {
          why = errc::too_many_scopes;
          return nullptr;
        }
        void* mem = ks.table.reserve_one() ? ks.pool.allocate() : nullptr;
        if (mem == nullptr) {
          why = store_exhausted == errc::too_many_scopes ? errc::too_many_scopes : errc::out_of_memory;
          return nullptr;
        }
#if defined(__cpp_exceptions)
        // Copying the key may allocate (a std::string longer than its inline buffer): a failure
        // there is out of memory like any other, and leaves nothing behind.
        try {
          n = ::new (mem) node_t<K>(key, h);
        } catch (const std::bad_alloc&) {
          ks.pool.deallocate(mem);
          why = errc::out_of_memory;
          return nullptr;
        } catch (...) {
          ks.pool.deallocate(mem);
          throw;
        }
#else
        n = ::new (mem) node_t<K>(key, h);
#endif
        if constexpr (!kind_traits<K>::constant_limit) bind_limit<K>(ks, *n, n->key);
        ks.table.insert(h, n);
        if constexpr (lifetime_retains<K>::value) ks.last = n;
        if (created != nullptr) *created = true;
        notify_lifetime<K>(scope_event::type::created, *n);
      }
      n->refs.fetch_add(1);
      return n;
    }
  }

  static constexpr bool is_storage_error(errc e) noexcept {
    return e == errc::out_of_memory || e == errc::too_many_scopes || e == errc::invalid_argument;
  }
  /// Undoes the creation of a retained keyed scope (a protocol, a service) by an operation that
  /// then failed for want of storage, so that the failure leaves nothing behind: removes it when
  /// the caller's reference is the only one and it holds nothing. Collected kinds (peers) need
  /// no help: dropping the reference collects them. True when removed (with the reference).
  template <class P>
  bool discard_created(node_t<P>* n) noexcept {
    auto& ks = state<P>();
    std::lock_guard lk(ks.mu);
    if (n->refs.load() != 1 || !n->rc.empty() || n->direct_memory.load() != 0) return false;
    notify_lifetime<P>(scope_event::type::destroyed, *n);
    if (ks.last == n) ks.last = nullptr;
    ks.table.erase(n->hash, n);
    n->~node_t<P>();
    ks.pool.deallocate(n);
    return true;
  }
  template <class K>
  void discard_created_parents(node_t<K>& n, mask_t created) noexcept {
    auto one = [&]<class PK>(std::type_identity<PK>) {
      if constexpr (kind_traits<PK>::shape == kind_shape::keyed && lifetime_retains<PK>::value && is_per_object<K> &&
                    !kind_traits<K>::is_span) {
        constexpr int s = graph::slot(index<K>, index<PK>);
        if constexpr (s >= 0) {
          void*& slot = n.parents[std::size_t(s)];
          if ((created & bit(index<PK>)) && slot != nullptr && discard_created<PK>(static_cast<node_t<PK>*>(slot))) slot = nullptr;
        }
      }
    };
    (void)one;
    (void)created;
    (one(std::type_identity<Ks>{}), ...);
  }

  /// Finds or creates the view scope of (a, b); the caller holds references to a and b.
  /// Returns nullptr, changing nothing, when the table is full or an allocation failed.
  template <class V>
  node_t<V>* acquire_view(node_t<typename node_t<V>::first_kind>* a, node_t<typename node_t<V>::second_kind>* b,
                          errc& why) {
    // a's and b's hashes are keyed already; an odd multiplier keeps the map from b's hash to
    // the view's hash one-to-one for a given a (and the other way round).
    const std::uint64_t h = a->hash ^ (b->hash * 0x9e3779b97f4a7c15ull);
    auto& ks = state<V>();
    std::lock_guard lk(ks.mu);
    node_t<V>* n = ks.table.find(h, [&](const node_t<V>& x) { return x.a == a && x.b == b; });
    if (n == nullptr) {
      if (ks.table.size() >= table_capacity) {
        why = errc::too_many_scopes;
        return nullptr;
      }
      void* mem = ks.table.reserve_one() ? ks.pool.allocate() : nullptr;
      if (mem == nullptr) {
        why = store_exhausted == errc::too_many_scopes ? errc::too_many_scopes : errc::out_of_memory;
        return nullptr;
      }
      n = ::new (mem) node_t<V>(a, b, h);
      add_ref<typename node_t<V>::first_kind>(a);
      add_ref<typename node_t<V>::second_kind>(b);
      if constexpr (!kind_traits<V>::constant_limit) bind_limit<V>(ks, *n, a->key);
      ks.table.insert(h, n);
      notify_lifetime<V>(scope_event::type::created, *n);
    }
    n->refs.fetch_add(1);
    return n;
  }

  /// Drops a reference to a keyed or view node, collecting it if it is idle. The decrement to
  /// zero happens under the table lock, so a concurrent lookup either sees the node with a
  /// reference or does not find it. A view's references to its components are dropped after
  /// the view's lock is released (no table lock is ever held while taking another).
  template <class K>
  void release_ref(node_t<K>* n) noexcept {
    if constexpr (kind_traits<K>::shape == kind_shape::singleton) {
      (void)n;
    } else {
      std::uint32_t r = n->refs.load();
      // Not the last reference: a release decrement, so that whoever drops the last one (with
      // acquire) sees every counter update made under this one before it tests and frees the node.
      while (r > 1)
        if (n->refs.compare_exchange_release(r, r - 1)) return;
      auto& ks = state<K>();
      if constexpr (kind_traits<K>::shape == kind_shape::view) {
        node_t<typename node_t<K>::first_kind>* a = nullptr;
        node_t<typename node_t<K>::second_kind>* b = nullptr;
        {
          std::lock_guard lk(ks.mu);
          if (n->refs.fetch_sub_release(1) == 1 && collectable<K>(*n)) {
            a = n->a;
            b = n->b;
            notify_lifetime<K>(scope_event::type::destroyed, *n);
            ks.table.erase(n->hash, n);
            n->~node_t<K>();
            ks.pool.deallocate(n);
          }
        }
        if (a != nullptr) {
          release_ref<typename node_t<K>::first_kind>(a);
          release_ref<typename node_t<K>::second_kind>(b);
        }
      } else {
        std::lock_guard lk(ks.mu);
        if (n->refs.fetch_sub_release(1) == 1 && collectable<K>(*n)) {
          notify_lifetime<K>(scope_event::type::destroyed, *n);
          if (ks.last == n) ks.last = nullptr;
          ks.table.erase(n->hash, n);
          n->~node_t<K>();
          ks.pool.deallocate(n);
        }
      }
    }
  }

  template <class K>
  bool collectable(const node_t<K>& n) const noexcept {
    if constexpr (lifetime_retains<K>::value) return false;
    else return n.rc.empty() && n.direct_memory.load() == 0;
  }

  // ---- limits ----
  /// Replaces the limits of every kind limited by rcmgr::limit, all or nothing: a limit set
  /// holding a refused value is refused (invalid_argument), and every allocation the new per-key
  /// overrides need is made before anything changes (out_of_memory otherwise). Compile-time
  /// limits have nothing to replace, and user-defined limit types are fixed at construction:
  /// they are stored as given, and replacing one while another thread reads it would be a race.
  result<void> apply_limits(const limit_set<Topology>& ls) {
    if (auto c = ls.check(); !c) return c;
    std::tuple<prepared_overrides<Ks>...> next;
    if (!prepare_overrides(ls, next, false)) return out_of_memory_error();
    (commit_kind_limits<Ks>(ls, std::get<std::size_t(index<Ks>)>(next), false), ...);
    return {};  // the replaced override maps are freed here, outside every lock
  }

  template <class K>
  static error out_of_memory_error() noexcept {
    error e;
    e.code = errc::out_of_memory;
    e.scope = scope_name(kind_traits<K>::name);
    e.detail = "no memory for the new limits; nothing was changed";
    return e;
  }
  static error out_of_memory_error() noexcept {
    error e;
    e.code = errc::out_of_memory;
    e.detail = "no memory for the new limits; nothing was changed";
    return e;
  }

  template <class K>
  static constexpr bool has_override_map = (kind_traits<K>::shape == kind_shape::keyed || kind_traits<K>::shape == kind_shape::view) &&
                                           !kind_traits<K>::constant_limit;
  struct no_override_map {};
  template <class K, bool = has_override_map<K>>
  struct override_map_of {
    using type = no_override_map;
  };
  template <class K>
  struct override_map_of<K, true> {
    using type = typename kind_state<core, K>::override_map;
  };
  template <class K>
  using prepared_overrides = typename override_map_of<K>::type;

  /// Copies ls's per-key overrides into the maps the kinds will hold; false when memory ran out.
  template <class Tuple>
  static bool prepare_overrides(const limit_set<Topology>& ls, Tuple& next, bool initial) noexcept {
#if defined(__cpp_exceptions)
    try {
#endif
      (prepare_kind<Ks>(ls, std::get<std::size_t(index<Ks>)>(next), initial), ...);
      return true;
#if defined(__cpp_exceptions)
    } catch (const std::bad_alloc&) {
      return false;
    }
#endif
  }
  template <class K, class Map>
  static void prepare_kind(const limit_set<Topology>& ls, Map& m, bool initial) {
    if constexpr (has_override_map<K>) {
      if (!initial && !kind_traits<K>::mutable_limit) return;
      const auto& src = ls.template overrides<K>();
      // reserve(0) still allocates a bucket array: a manager without per-key limits (a heap-free
      // one) must not touch the heap here.
      if (!src.empty()) m.reserve(src.size());
      for (const auto& [k, l] : src) m.emplace(k, l);
    } else {
      (void)ls, (void)m, (void)initial;
    }
  }

  /// Installs K's limits from ls and its prepared override map (which receives the old one).
  /// Allocates nothing.
  template <class K, class Map>
  void commit_kind_limits(const limit_set<Topology>& ls, Map& m, bool initial) noexcept {
    using T = kind_traits<K>;
    if constexpr (!T::constant_limit) {
      if (!initial && !T::mutable_limit) return;
      if constexpr (has_override_map<K>) {
        auto& ks = state<K>();
        std::lock_guard lk(ks.mu);
        set_store(ks.lim, ls.template get<K>());
        ks.overrides.swap(m);
        for (auto* n : ks.table) {
          if constexpr (T::shape == kind_shape::keyed) bind_limit<K>(ks, *n, n->key);
          else bind_limit<K>(ks, *n, n->a->key);
        }
      } else {
        set_store(state<K>().lim, ls.template get<K>());
      }
    } else {
      (void)ls, (void)m, (void)initial;
    }
  }

  /// Points node n at its key's override (copied into the node's own store) or at the default.
  /// Called under the kind's table lock.
  template <class K, class KS, class Key>
  static void bind_limit(KS& ks, node_t<K>& n, const Key& key) noexcept {
    if (ks.overrides.empty()) {  // the usual case: no per-key limits, nothing to hash
      n.lim.publish(&ks.lim);
      return;
    }
    auto it = ks.overrides.find(key);
    if (it == ks.overrides.end()) {
      n.lim.publish(&ks.lim);
      return;
    }
    set_store(n.lim.own, it->second);
    n.lim.publish(&n.lim.own);
  }

  template <class K>
  result<void> set_limit(const typename kind_traits<K>::limit_type& given) {
    static_assert(std::is_same_v<typename kind_traits<K>::limit_type, limit>,
                  "set_limit: only kinds limited by rcmgr::limit can change their limits at run time");
    if (const auto why = detail::limit_problem_of<K>(given); !why.empty())
      return detail::invalid_limit(kind_traits<K>::name, {}, why);
    const limit l = canonical_limit(given, kind_traits<K>::accounted);
    if constexpr (kind_traits<K>::shape == kind_shape::keyed || kind_traits<K>::shape == kind_shape::view) {
      auto& ks = state<K>();
      std::lock_guard lk(ks.mu);
      ks.lim.set(l);
    } else {
      state<K>().lim.set(l);
    }
    return {};
  }

  template <class K, class Key>
  result<void> set_limit(const Key& key, const limit& given) {
    static_assert(std::is_same_v<typename kind_traits<K>::limit_type, limit>,
                  "set_limit: only kinds limited by rcmgr::limit can change their limits at run time");
    static_assert(kind_traits<K>::shape == kind_shape::keyed || kind_traits<K>::shape == kind_shape::view,
                  "set_limit(key, limit): only keyed and view kinds have per-key limits");
    using key_kind = typename override_key_kind<K>::type;
    if (const key_problem kp = key_problem_of<key_kind>(key)) return key_error(kind_traits<K>::name, kp);
    if (const auto why = detail::limit_problem_of<K>(given); !why.empty()) {
      std::string buf;
      return detail::invalid_limit(kind_traits<K>::name, key_text(key, buf), why);
    }
    const limit l = canonical_limit(given, kind_traits<K>::accounted);
    auto& ks = state<K>();
    std::lock_guard lk(ks.mu);
#if defined(__cpp_exceptions)
    try {
#endif
      ks.overrides.insert_or_assign(typename override_key_of<K>::type(key), l);  // strong guarantee
#if defined(__cpp_exceptions)
    } catch (const std::bad_alloc&) {
      return out_of_memory_error<K>();
    }
#endif
    if constexpr (kind_traits<K>::shape == kind_shape::keyed) {
      using public_key = typename key_of<K>::type;
      const auto find = [&](const auto& k) {
        return ks.table.find(key_hash(k), [&](const node_t<K>& x) { return keys_equal(x.key, k); });
      };
      node_t<K>* n;
      if constexpr (string_like<Key> || std::is_same_v<Key, public_key>) n = find(key);
      else n = find(public_key(key));
      if (n != nullptr) bind_limit<K>(ks, *n, n->key);
    } else {
      for (auto* n : ks.table)
        if (keys_equal(n->a->key, key)) bind_limit<K>(ks, *n, n->a->key);
    }
    return {};
  }

  template <class K>
  typename kind_traits<K>::limit_type current_limit() const {
    using L = typename kind_traits<K>::limit_type;
    if constexpr (kind_traits<K>::constant_limit) return L{};
    else if constexpr (std::is_same_v<L, limit>) return state<K>().lim.get();
    else return state<K>().lim.value;
  }

  // ---- introspection ----
  template <class K>
  auto list() const {
    static_assert(kind_traits<K>::shape == kind_shape::keyed || kind_traits<K>::shape == kind_shape::view,
                  "list<K>: only keyed and view kinds have many instances to list");
    const auto& ks = state<K>();
    std::lock_guard lk(ks.mu);
    if constexpr (kind_traits<K>::shape == kind_shape::keyed) {
      std::vector<std::pair<typename key_of<K>::type, scope_stat>> out;
      out.reserve(ks.table.size());
      for (const auto* n : ks.table) out.emplace_back(typename key_of<K>::type(n->key), n->rc.stat());
      return out;
    } else {
      using A = typename node_t<K>::first_kind;
      using B = typename node_t<K>::second_kind;
      std::vector<std::pair<std::pair<typename key_of<A>::type, typename key_of<B>::type>, scope_stat>> out;
      out.reserve(ks.table.size());
      for (const auto* n : ks.table)
        out.push_back({{typename key_of<A>::type(n->a->key), typename key_of<B>::type(n->b->key)}, n->rc.stat()});
      return out;
    }
  }

  /// Usage of the live keyed scope of `key`, or nothing when there is none. Creates nothing.
  template <class K, class Key>
  std::optional<scope_stat> find_stat(const Key& key) const {
    static_assert(kind_traits<K>::shape == kind_shape::keyed, "stat<K>(key): only keyed kinds have keys");
    using public_key = typename key_of<K>::type;
    if constexpr (!string_like<Key> && !std::is_same_v<Key, public_key>) {
      return find_stat<K>(public_key(key));  // hash what the table stores, as acquire() does
    } else {
      using st = storage_traits<Policy>;
      if constexpr (st::template length_checked<public_key>) {
        if (std::string_view(key).size() > st::policy::key_capacity) return std::nullopt;  // never stored
      }
      const std::uint64_t h = key_hash(key);
      const auto& ks = state<K>();
      std::lock_guard lk(ks.mu);
      const node_t<K>* n = ks.table.find(h, [&](const node_t<K>& x) { return keys_equal(x.key, key); });
      if (n == nullptr) return std::nullopt;
      return n->rc.stat();
    }
  }

  template <class K>
  std::size_t live_count() const {
    const auto& ks = state<K>();
    std::lock_guard lk(ks.mu);
    return ks.table.size();
  }

  // ---- storage ----
  /// Returns the free nodes of every pool to the heap and shrinks every table to its contents.
  void trim() noexcept { (trim_kind<Ks>(), ...), span_store_.trim(); }
  detail::storage_stats storage_stats() const noexcept {
    detail::storage_stats out;
    (add_stats<Ks>(out), ...);
    const pool_stats sp = span_store_.stats();
    out.nodes_live += sp.live;
    out.nodes_cached += sp.cached;
    out.heap_bytes += sp.heap_bytes;
    return out;
  }

  // ---- manager state ----
  void close() noexcept { closed_.store(true); }
  bool closed() const noexcept { return closed_.load(); }

  misuse_stats misuse() const noexcept {
    return {over_releases_.load(), over_released_bytes_.load(), negative_releases_.load()};
  }
  using misuse_handler = void (*)(const misuse_event&, void*);
  void on_misuse(misuse_handler h, void* user) noexcept {
    handler_ = h;
    handler_user_ = user;
  }

  template <class K>
  void report_misuse(const node_t<K>& n, misuse_event::what w, std::int64_t requested, std::int64_t available) noexcept {
    if (w == misuse_event::what::over_release) {
      over_releases_.fetch_add(1);
      // Saturate: a caller releasing INT64_MAX twice must not overflow the total (undefined
      // behaviour on plain integers, a negative total on atomics).
      const std::int64_t extra = requested - available;  // > 0: available < requested
      std::int64_t cur = over_released_bytes_.load();
      while (!over_released_bytes_.compare_exchange(cur, cur > INT64_MAX - extra ? INT64_MAX : cur + extra)) {
      }
    } else {
      negative_releases_.fetch_add(1);
    }
    if (handler_ != nullptr) {
      misuse_event ev{w, name_of<K>(n), requested, available};
      handler_(ev, handler_user_);
    }
  }

 private:
  static constexpr std::string_view name_at(int q) {
    std::string_view r;
    ((index<Ks> == q ? (r = kind_traits<Ks>::name, 0) : 0), ...);
    return r;
  }
  template <std::size_t N>
  struct fixed_text {
    char buf[N]{};
    std::size_t len = 0;
    constexpr void add(std::string_view s) {
      for (char c : s)
        if (len < N) buf[len++] = c;
    }
    constexpr std::string_view view() const { return {buf, len}; }
  };
  template <class P>
  static constexpr fixed_text<96> attached_text_storage = [] {
    fixed_text<96> t;
    t.add("already attached to a ");
    t.add(kind_traits<P>::name);
    t.add(" scope");
    return t;
  }();
  template <class K, class P>
  static constexpr fixed_text<128> prerequisite_text_storage = [] {
    fixed_text<128> t;
    constexpr int i = index<K>, p = index<P>;
    t.add("set the ");
    for (const auto& e : graph::edges)
      if (e.child == i && e.parent == p && e.b == bind_kind::after) {
        t.add(core::name_at(e.q));
        break;
      }
    t.add(" before the ");
    t.add(kind_traits<P>::name);
    return t;
  }();

  static constexpr fixed_text<96> key_length_text_storage = [] {
    fixed_text<96> t;
    t.add("key longer than the storage policy keeps inline (");
    char digits[24];
    int d = 0;
    for (std::size_t v = storage_of<Policy>::type::key_capacity; d == 0 || v != 0; v /= 10) digits[d++] = char('0' + v % 10);
    while (d > 0) t.add(std::string_view(&digits[--d], 1));
    t.add(" bytes)");
    return t;
  }();
  static constexpr std::string_view key_length_text() noexcept { return key_length_text_storage.view(); }

  template <class K, class F>
  static decltype(auto) dispatch_state(std::uint8_t s, F&& f) {
    return dispatch_state_impl<K>(s, f, std::make_index_sequence<std::size_t(graph::state_count(index<K>))>{});
  }
  // An if-chain that returns f's result directly. Assigning into a default-constructed result
  // instead made every reservation zero a whole result<void> (~144 bytes, rep stos), which cost
  // more than charging seven scopes on the single-threaded policy.
  template <class K, class F, std::size_t S0, std::size_t... S>
  static decltype(auto) dispatch_state_impl(std::uint8_t s, F& f, std::index_sequence<S0, S...>) {
    if constexpr (sizeof...(S) == 0) {
      (void)s;
      return f(std::integral_constant<unsigned, unsigned(S0)>{});
    } else {
      if (s == S0) return f(std::integral_constant<unsigned, unsigned(S0)>{});
      return dispatch_state_impl<K>(s, f, std::index_sequence<S...>{});
    }
  }

  /// The node of ancestor kind A for node n of kind K: the manager's singleton, or a parent slot.
  template <class K, int A>
  node_t<kind_at<A>>& instance(node_t<K>& n) noexcept {
    using AK = kind_at<A>;
    if constexpr (kind_traits<AK>::shape == kind_shape::singleton) {
      (void)n;
      return singleton<AK>();
    } else {
      static_assert(is_per_object<K>, "internal: a shared kind's ancestors are singletons");
      return *static_cast<node_t<AK>*>(n.parents[std::size_t(slot_of<index<K>, A>)]);
    }
  }

  template <class K, mask_t M, resource_set R>
  result<void> charge_mask(node_t<K>& n, const amount& a, std::uint8_t prio) noexcept {
    constexpr auto idx = graph::template ordered<M>();
    return charge_seq<K, R, idx>(n, a, prio, std::make_index_sequence<idx.size()>{});
  }

  template <class K, resource_set R, auto Idx, std::size_t... J>
  result<void> charge_seq(node_t<K>& n, const amount& a, std::uint8_t prio, std::index_sequence<J...>) noexcept {
    if constexpr (sizeof...(J) == 0) {
      (void)n, (void)a, (void)prio;
      return {};
    } else {
      refusal why;
      std::size_t passed = 0;
      const bool ok = ((try_add<R>(instance<K, Idx[J]>(n).rc, limit_of<kind_at<Idx[J]>>(instance<K, Idx[J]>(n)), a, prio, why)
                            ? (++passed, true)
                            : false) &&
                       ...);
      if (ok) [[likely]]
        return {};
      ((J < passed ? sub<R>(instance<K, Idx[J]>(n).rc, a) : void()), ...);
      error e;
      ((J == passed ? (e = limit_error<kind_at<Idx[J]>>(instance<K, Idx[J]>(n), why, prio), void()) : void()), ...);
      return e;
    }
  }

  template <class K, mask_t M, resource_set R>
  void uncharge_mask(node_t<K>& n, const amount& a) noexcept {
    [[maybe_unused]] constexpr auto idx = graph::template ordered<M>();
    [&]<std::size_t... J>(std::index_sequence<J...>) {
      (sub<R>(instance<K, idx[J]>(n).rc, a), ...);
    }(std::make_index_sequence<idx.size()>{});
  }

  template <class K, class P>
  static constexpr bool prerequisites_met(std::uint8_t s) noexcept {
    // The late bits P's edges wait for, as one constant: the check is then one test at run time
    // (a loop over the edges here was not folded by the compiler and cost a few ns per attach).
    constexpr unsigned need = [] {
      constexpr int i = index<K>, p = index<P>;
      unsigned m = 0;
      for (const auto& e : graph::edges)
        if (e.child == i && e.parent == p && e.b == bind_kind::after) m |= 1u << graph::late_bit(i, e.q);
      return m;
    }();
    return (s & need) == need;
  }
  template <class P>
  static constexpr std::string_view attached_text() noexcept {
    return attached_text_storage<P>.view();
  }
  template <class K, class P>
  static constexpr std::string_view prerequisite_text() noexcept {
    return prerequisite_text_storage<K, P>.view();
  }
  template <class K, std::size_t... J, class... Args>
  bool bind_open_parents(node_t<K>& n, error& err, mask_t& created, std::index_sequence<J...>, Args&&... args) {
    [[maybe_unused]] constexpr auto parents = open_parent_indices<K>();
    bool ok = true;
    ((ok = ok && bind_one<K, parents[J]>(n, err, created, std::forward<Args>(args))), ...);
    return ok;
  }
  template <class K, int P, class Arg>
  bool bind_one(node_t<K>& n, error& err, mask_t& created, Arg&& arg) {
    using PK = kind_at<P>;
    if constexpr (kind_traits<PK>::shape == kind_shape::keyed) {
      if (const key_problem kp = key_problem_of<PK>(arg)) {
        err = key_error(kind_traits<PK>::name, kp);
        return false;
      }
      errc why{};
      bool fresh = false;
      auto* pn = acquire<PK>(arg, why, &fresh);
      if (pn == nullptr) {
        err = storage_error<PK>(why);
        return false;
      }
      n.parents[slot_of<index<K>, P>] = pn;
      if (fresh) created |= bit(P);
      return true;
    } else {
      auto* o = arg.rcmgr_node();  // a handle of the owner kind
      static_assert(std::is_same_v<std::remove_pointer_t<decltype(o)>, node_t<PK>>,
                    "open<K>: the owner argument must be a handle of the owner kind");
      if (o == nullptr || o->done) {
        err = error{};
        err.code = errc::scope_closed;
        err.scope = scope_name(kind_traits<PK>::name);
        err.detail = "cannot open a scope on an ended owner";
        return false;
      }
      add_ref<PK>(o);
      n.owner = o;
      return true;
    }
  }

  /// Acquires the views that become complete going from state S to S2; false if a view table
  /// is full (the views acquired so far stay in their slots for the caller to unbind).
  template <class K, unsigned S, unsigned S2>
  bool bind_views(node_t<K>& n, error& err) {
    constexpr int i = index<K>;
    constexpr mask_t fresh = (graph::direct(i, S2) & ~(S == S2 ? 0 : graph::direct(i, S))) & view_mask();
    return [&]<std::size_t... J>(std::index_sequence<J...>) {
      [[maybe_unused]] constexpr auto idx = graph::template ordered<fresh>();
      return (bind_view<K, idx[J]>(n, err) && ...);
    }(std::make_index_sequence<std::size_t(popcount(fresh))>{});
  }
  /// What a store answers when it has no node to give: a full static store is a cap, a failed
  /// heap allocation is out of memory.
  static constexpr errc store_exhausted =
      storage_traits<Policy>::mode == storage_mode::inline_ ? errc::too_many_scopes : errc::out_of_memory;
  template <class K>
  [[gnu::cold]] static error storage_error(errc why) noexcept {
    error e;
    e.code = why;
    e.scope = scope_name(kind_traits<K>::name);
    switch (why) {
      case errc::too_many_scopes: e.detail = "the storage policy's capacity for this kind is exhausted"; break;
      case errc::out_of_memory: e.detail = "allocating the scope's storage failed; nothing changed"; break;
      default: e.detail = key_length_text(); break;
    }
    return e;
  }
  template <class K, int V>
  bool bind_view(node_t<K>& n, error& err) {
    using VK = kind_at<V>;
    using A = typename node_t<VK>::first_kind;
    using B = typename node_t<VK>::second_kind;
    constexpr int i = index<K>;
    auto* a = static_cast<node_t<A>*>(n.parents[slot_of<i, index<A>>]);
    auto* b = static_cast<node_t<B>*>(n.parents[slot_of<i, index<B>>]);
    errc why{};
    auto* v = acquire_view<VK>(a, b, why);
    n.parents[slot_of<i, V>] = v;
    if (v == nullptr) err = storage_error<VK>(why);
    return v != nullptr;
  }
  /// graph::slot(I, P) as a constant. The graph's functions are constexpr, but only a constant
  /// context makes the compiler evaluate them: clang++ 14 at -O2 called slot() and direct() at
  /// run time (each a walk over every edge and every state of the kind), which made a stream's
  /// lifecycle about 60 times slower than with g++. Every run-time use goes through a constant.
  template <int I, int P>
  static constexpr int slot_of = graph::slot(I, P);
  template <int I>
  static constexpr int alt_bit_of = graph::alt_bit(I);
  static constexpr mask_t view_mask() {
    mask_t m = 0;
    for (int j = 0; j < graph::n; ++j)
      if (graph::kinds[j].shape == kind_shape::view) m |= bit(j);
    return m;
  }

  /// Releases the references of the parents in mask M (views first: they refer to the others).
  template <class K>
  void unbind_mask(node_t<K>& n, mask_t m) noexcept {
    constexpr int i = index<K>;
    auto drop = [&]<class PK>(std::type_identity<PK>) {
      constexpr int p = index<PK>;
      if constexpr (kind_traits<PK>::shape != kind_shape::singleton && kind_traits<PK>::shape != kind_shape::per_object) {
        if constexpr (graph::slot(i, p) >= 0) {
          if (m & bit(p)) {
            void*& slot = n.parents[std::size_t(slot_of<i, p>)];
            if (slot != nullptr) {
              release_ref<PK>(static_cast<node_t<PK>*>(slot));
              slot = nullptr;
            }
          }
        }
      }
    };
    (void)drop;
    if constexpr (is_per_object<K> && !kind_traits<K>::is_span) {
      ((kind_traits<Ks>::shape == kind_shape::view ? drop(std::type_identity<Ks>{}) : void()), ...);
      ((kind_traits<Ks>::shape != kind_shape::view ? drop(std::type_identity<Ks>{}) : void()), ...);
    }
  }
  /// Releases every parent reference a node holds in state s, and its owner.
  template <class K>
  void unbind(node_t<K>& n, std::uint8_t s) noexcept {
    unbind_mask<K>(n, ~mask_t{0});
    (void)s;
    if constexpr (node_t<K>::owner_index >= 0) {
      if (n.owner != nullptr) {
        release_owner<typename node_t<K>::owner_kind>(n.owner);
        n.owner = nullptr;
      }
    }
  }

  /// The store of a per-object kind's nodes, or the span store.
  template <class K>
  auto& object_store() noexcept {
    if constexpr (kind_traits<K>::is_span) return span_store_;
    else return std::get<std::size_t(index<K>)>(object_stores_);
  }
  template <class K>
  void destroy_object(node_t<K>* n) noexcept {
    n->~node_t<K>();
    object_store<K>().deallocate(n);
  }
  template <class K>
  void destroy_table() noexcept {
    if constexpr (kind_traits<K>::shape == kind_shape::keyed || kind_traits<K>::shape == kind_shape::view) {
      auto& ks = state<K>();
      for (auto* n : ks.table) {
        n->~node_t<K>();
        ks.pool.deallocate(n);
      }
      ks.last = nullptr;
      ks.table.clear();
    }
  }
  template <class K>
  void trim_kind() noexcept {
    if constexpr (kind_traits<K>::shape == kind_shape::keyed || kind_traits<K>::shape == kind_shape::view) {
      auto& ks = state<K>();
      std::lock_guard lk(ks.mu);
      ks.pool.trim();
      ks.table.shrink();
    } else if constexpr (is_per_object<K> && !kind_traits<K>::is_span) {
      object_store<K>().trim();
    }
  }
  template <class K>
  void add_stats(detail::storage_stats& out) const noexcept {
    auto add = [&](const pool_stats& p) {
      out.nodes_live += p.live;
      out.nodes_cached += p.cached;
      out.heap_bytes += p.heap_bytes;
    };
    if constexpr (kind_traits<K>::shape == kind_shape::keyed || kind_traits<K>::shape == kind_shape::view) {
      const auto& ks = state<K>();
      std::lock_guard lk(ks.mu);
      add(ks.pool.stats());
      out.heap_bytes += ks.table.heap_bytes();
      out.table_slots += ks.table.capacity();
    } else if constexpr (is_per_object<K> && !kind_traits<K>::is_span) {
      add(std::get<std::size_t(index<K>)>(object_stores_).stats());
    }
  }

  template <class Store, class L>
  static void set_store(Store& st, const L& l) {
    if constexpr (requires { st.set(l); }) st.set(l);
    else st = Store(l);
  }

  /// The layout of every span node (spans of any owner differ only in their owner's type).
  using span_node = node_t<span_of<kind_at<0>>>;
  hash_seed seed_;  ///< secret key of the keyed tables' hash
  std::tuple<kind_state<core, Ks>...> states_;
  std::tuple<typename object_store_for<core, Ks>::type...> object_stores_;
  typename storage_traits<Policy>::template object_store<span_node> span_store_;
  typename Policy::template cell<bool> closed_{};
  typename Policy::template cell<std::uint64_t> over_releases_{};
  typename Policy::template cell<std::int64_t> over_released_bytes_{};
  typename Policy::template cell<std::uint64_t> negative_releases_{};
  misuse_handler handler_ = nullptr;
  void* handler_user_ = nullptr;
  [[no_unique_address]] observer_type observer_{};
  /// refusal_usage() of a single-threaded observed manager.
  [[no_unique_address]] mutable std::conditional_t<observing && !Policy::concurrent, scope_stat, no_member<1>> refusal_usage_{};
  [[no_unique_address]] live_handles<track_live_handles, sizeof...(Ks)> live_{};
};

}  // namespace detail
}  // namespace rcmgr
