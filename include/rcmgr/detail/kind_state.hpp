// What the manager holds per scope kind: the limit store, a singleton's node, a keyed or view
// kind's table, node pool and per-key overrides, and the store of a per-object kind's nodes;
// and what the stores report (storage_stats).
#pragma once

#include <cstddef>
#include <functional>
#include <unordered_map>

#include "rcmgr/detail/key_ops.hpp"
#include "rcmgr/detail/kind_traits.hpp"
#include "rcmgr/detail/nodes.hpp"
#include "rcmgr/detail/storage.hpp"

namespace rcmgr {
namespace detail {

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

}  // namespace detail
}  // namespace rcmgr
