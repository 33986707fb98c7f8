// The keyed and view kinds' tables: finding or creating the scope of a key or of a pair (with
// its keyed hash), dropping references and collecting idle scopes, undoing a creation that a
// later step could not complete, listing and finding scopes, and the stores' trim and
// statistics. A base of detail::core (CRTP); a lookup takes the kind's table lock, which no
// reservation takes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <new>
#include <optional>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "rcmgr/detail/analysis.hpp"
#include "rcmgr/detail/key_ops.hpp"
#include "rcmgr/detail/kind_state.hpp"
#include "rcmgr/detail/kind_traits.hpp"
#include "rcmgr/detail/meta.hpp"
#include "rcmgr/detail/nodes.hpp"
#include "rcmgr/detail/siphash.hpp"
#include "rcmgr/detail/storage.hpp"
#include "rcmgr/errors.hpp"
#include "rcmgr/observer.hpp"
#include "rcmgr/resources.hpp"

namespace rcmgr {
namespace detail {

template <class Core, class Topology, class Policy, class... Ks>
class core_tables {
  // The manager's own names for its kinds, here for the code below (Core is incomplete while
  // this base is instantiated, so they are spelt from the parameters rather than read from it).
  using graph = typename Topology::graph_type;
  template <class K>
  static constexpr int index = index_of<K, Ks...>();
  template <int I>
  using kind_at = nth<std::size_t(I), Ks...>;
  template <class K>
  using node_t = node<Core, K>;

  Core& self() noexcept { return static_cast<Core&>(*this); }
  const Core& self() const noexcept { return static_cast<const Core&>(*this); }

 public:
  /// The keyed hash of a key: SipHash-1-3 under this manager's secret key, over the text of a
  /// string-like key, and over std::hash's value for any other key type (so two keys with equal
  /// std::hash values collide here too: see docs/guarantees.md).
  template <class Key>
  std::uint64_t key_hash(const Key& key) const noexcept {
    if constexpr (string_like<Key>) {
      return siphash13(self().seed_, std::string_view(key));
    } else {
      const std::size_t h = std::hash<Key>{}(key);
      return siphash13(self().seed_, &h, sizeof h);
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
      auto& ks = self().template state<K>();
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
        if (ks.table.size() >= Core::table_capacity) {
          why = errc::too_many_scopes;
          return nullptr;
        }
        void* mem = ks.table.reserve_one() ? ks.pool.allocate() : nullptr;
        if (mem == nullptr) {
          why = Core::store_exhausted == errc::too_many_scopes ? errc::too_many_scopes : errc::out_of_memory;
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
        if constexpr (!kind_traits<K>::constant_limit) self().template bind_limit<K>(ks, *n, n->key);
        ks.table.insert(h, n);
        if constexpr (lifetime_retains<K>::value) ks.last = n;
        if (created != nullptr) *created = true;
        self().template notify_lifetime<K>(scope_event::type::created, *n);
      }
      n->refs.fetch_add(1);
      return n;
    }
  }

  /// Undoes the creation of a retained keyed scope (a protocol, a service) by an operation that
  /// then failed for want of storage, so that the failure leaves nothing behind: removes it when
  /// the caller's reference is the only one and it holds nothing. Collected kinds (peers) need
  /// no help: dropping the reference collects them. True when removed (with the reference).
  template <class P>
  bool discard_created(node_t<P>* n) noexcept {
    auto& ks = self().template state<P>();
    std::lock_guard lk(ks.mu);
    if (n->refs.load() != 1 || !n->rc.empty() || n->direct_memory.load() != 0) return false;
    self().template notify_lifetime<P>(scope_event::type::destroyed, *n);
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
    auto& ks = self().template state<V>();
    std::lock_guard lk(ks.mu);
    node_t<V>* n = ks.table.find(h, [&](const node_t<V>& x) { return x.a == a && x.b == b; });
    if (n == nullptr) {
      if (ks.table.size() >= Core::table_capacity) {
        why = errc::too_many_scopes;
        return nullptr;
      }
      void* mem = ks.table.reserve_one() ? ks.pool.allocate() : nullptr;
      if (mem == nullptr) {
        why = Core::store_exhausted == errc::too_many_scopes ? errc::too_many_scopes : errc::out_of_memory;
        return nullptr;
      }
      n = ::new (mem) node_t<V>(a, b, h);
      self().template add_ref<typename node_t<V>::first_kind>(a);
      self().template add_ref<typename node_t<V>::second_kind>(b);
      if constexpr (!kind_traits<V>::constant_limit) self().template bind_limit<V>(ks, *n, a->key);
      ks.table.insert(h, n);
      self().template notify_lifetime<V>(scope_event::type::created, *n);
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
      auto& ks = self().template state<K>();
      if constexpr (kind_traits<K>::shape == kind_shape::view) {
        node_t<typename node_t<K>::first_kind>* a = nullptr;
        node_t<typename node_t<K>::second_kind>* b = nullptr;
        {
          std::lock_guard lk(ks.mu);
          if (n->refs.fetch_sub_release(1) == 1 && collectable<K>(*n)) {
            a = n->a;
            b = n->b;
            self().template notify_lifetime<K>(scope_event::type::destroyed, *n);
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
          self().template notify_lifetime<K>(scope_event::type::destroyed, *n);
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

  // ---- introspection ----
  template <class K>
  auto list() const {
    static_assert(kind_traits<K>::shape == kind_shape::keyed || kind_traits<K>::shape == kind_shape::view,
                  "list<K>: only keyed and view kinds have many instances to list");
    const auto& ks = self().template state<K>();
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
      const auto& ks = self().template state<K>();
      std::lock_guard lk(ks.mu);
      const node_t<K>* n = ks.table.find(h, [&](const node_t<K>& x) { return keys_equal(x.key, key); });
      if (n == nullptr) return std::nullopt;
      return n->rc.stat();
    }
  }

  template <class K>
  std::size_t live_count() const {
    const auto& ks = self().template state<K>();
    std::lock_guard lk(ks.mu);
    return ks.table.size();
  }

  // ---- storage ----
  /// Returns the free nodes of every pool to the heap and shrinks every table to its contents.
  void trim() noexcept { (trim_kind<Ks>(), ...), self().span_store_.trim(); }
  detail::storage_stats storage_stats() const noexcept {
    detail::storage_stats out;
    (add_stats<Ks>(out), ...);
    const pool_stats sp = self().span_store_.stats();
    out.nodes_live += sp.live;
    out.nodes_cached += sp.cached;
    out.heap_bytes += sp.heap_bytes;
    return out;
  }

 protected:
  // Called by core's destructor (destroy_table) and by trim() and storage_stats() above.
  template <class K>
  void destroy_table() noexcept {
    if constexpr (kind_traits<K>::shape == kind_shape::keyed || kind_traits<K>::shape == kind_shape::view) {
      auto& ks = self().template state<K>();
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
      auto& ks = self().template state<K>();
      std::lock_guard lk(ks.mu);
      ks.pool.trim();
      ks.table.shrink();
    } else if constexpr (is_per_object<K> && !kind_traits<K>::is_span) {
      self().template object_store<K>().trim();
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
      const auto& ks = self().template state<K>();
      std::lock_guard lk(ks.mu);
      add(ks.pool.stats());
      out.heap_bytes += ks.table.heap_bytes();
      out.table_slots += ks.table.capacity();
    } else if constexpr (is_per_object<K> && !kind_traits<K>::is_span) {
      add(std::get<std::size_t(index<K>)>(self().object_stores_).stats());
    }
  }
};

}  // namespace detail
}  // namespace rcmgr
