// The scope nodes: one struct per kind shape (per-object, span, singleton, keyed, view), and
// where a keyed or view node reads its limit (limit_ptr). Nodes are plain data: the engine
// (detail/core.hpp) does everything to them, with the manager type as their first parameter.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "rcmgr/detail/counters.hpp"
#include "rcmgr/detail/kind_traits.hpp"
#include "rcmgr/detail/storage.hpp"
#include "rcmgr/policies.hpp"

namespace rcmgr {
namespace detail {

template <class K>
inline constexpr bool is_per_object = kind_traits<K>::shape == kind_shape::per_object;
template <class K>
inline constexpr bool is_shared = !is_per_object<K>;

template <class Core, class K>
struct node;

struct no_owner {};

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

}  // namespace detail
}  // namespace rcmgr
