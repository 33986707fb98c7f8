// Limit publication: installing a limit set (all or nothing), set_limit for a kind or one key,
// the per-key overrides a keyed or view node reads through its limit_ptr, and current_limit.
// A base of detail::core (CRTP): none of it is on a reservation's path, which only reads the
// stores this code publishes (see limit_ptr in nodes.hpp).
#pragma once

#include <cstddef>
#include <new>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>

#include "rcmgr/detail/key_check.hpp"
#include "rcmgr/detail/key_ops.hpp"
#include "rcmgr/detail/kind_state.hpp"
#include "rcmgr/detail/kind_traits.hpp"
#include "rcmgr/detail/meta.hpp"
#include "rcmgr/detail/nodes.hpp"
#include "rcmgr/errors.hpp"
#include "rcmgr/limit_set.hpp"
#include "rcmgr/limits.hpp"
#include "rcmgr/result.hpp"

namespace rcmgr {
namespace detail {

template <class Core, class Topology, class Policy, class... Ks>
class core_limits {
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
    using type = typename kind_state<Core, K>::override_map;
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
        auto& ks = self().template state<K>();
        std::lock_guard lk(ks.mu);
        set_store(ks.lim, ls.template get<K>());
        ks.overrides.swap(m);
        for (auto* n : ks.table) {
          if constexpr (T::shape == kind_shape::keyed) bind_limit<K>(ks, *n, n->key);
          else bind_limit<K>(ks, *n, n->a->key);
        }
      } else {
        set_store(self().template state<K>().lim, ls.template get<K>());
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
      auto& ks = self().template state<K>();
      std::lock_guard lk(ks.mu);
      ks.lim.set(l);
    } else {
      self().template state<K>().lim.set(l);
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
    auto& ks = self().template state<K>();
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
        return ks.table.find(self().key_hash(k), [&](const node_t<K>& x) { return keys_equal(x.key, k); });
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
    else if constexpr (std::is_same_v<L, limit>) return self().template state<K>().lim.get();
    else return self().template state<K>().lim.value;
  }

 private:
  template <class Store, class L>
  static void set_store(Store& st, const L& l) {
    if constexpr (requires { st.set(l); }) st.set(l);
    else st = Store(l);
  }
};

}  // namespace detail
}  // namespace rcmgr
