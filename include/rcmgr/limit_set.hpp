// limit_set<Topology>: the limits of every kind of a topology. Kinds with runtime limits hold a
// default value; keyed and view kinds also hold per-key overrides (views are overridden by their
// first component's key: a protocol-peer limit is set per protocol). Kinds with compile-time
// limits hold nothing here.
#pragma once

#include <tuple>
#include <type_traits>
#include <unordered_map>

#include "rcmgr/detail/kind_traits.hpp"
#include "rcmgr/topology.hpp"

namespace rcmgr {

namespace detail {
struct no_overrides {};

template <class K>
struct kind_limits {
  using traits = kind_traits<K>;
  using limit_type = typename traits::limit_type;
  using key_type = typename override_key_of<K>::type;
  static constexpr bool has_value = !traits::constant_limit;
  static constexpr bool has_overrides =
      has_value && (traits::shape == kind_shape::keyed || traits::shape == kind_shape::view);

  [[no_unique_address]] std::conditional_t<has_value, limit_type, limit_type> base{};
  [[no_unique_address]] std::conditional_t<has_overrides, std::unordered_map<key_type, limit_type>, no_overrides> overrides{};
};

template <class KL>
struct limit_tuple;
template <class... Ks>
struct limit_tuple<type_list<Ks...>> {
  using type = std::tuple<kind_limits<Ks>...>;
  template <class K>
  static constexpr int index = index_of<K, Ks...>();
};
}  // namespace detail

/// The limit type of kind K.
template <class K>
using limit_type_of = typename detail::kind_traits<K>::limit_type;
/// The key by which kind K's limits are overridden (void when K has no overrides).
template <class K>
using override_key_of = typename detail::override_key_of<K>::type;

template <scope_topology Topology>
class limit_set {
  using tuple_info = detail::limit_tuple<typename Topology::kind_list>;

  template <class K>
  static constexpr void check_kind() {
    static_assert(tuple_info::template index<K> >= 0, "rcmgr::limit_set: this kind is not part of the topology");
  }

 public:
  using topology_type = Topology;

  /// The default limit of K (the limit of a singleton or per-object kind).
  template <class K>
  const limit_type_of<K>& get() const noexcept {
    check_kind<K>();
    return std::get<tuple_info::template index<K>>(kinds_).base;
  }
  /// The limit that applies to key `k` of K: its override if there is one, else the default.
  template <class K, class Key>
  const limit_type_of<K>& get(const Key& k) const {
    check_kind<K>();
    const auto& kl = std::get<tuple_info::template index<K>>(kinds_);
    if constexpr (detail::kind_limits<K>::has_overrides) {
      if (auto it = kl.overrides.find(override_key_of<K>(k)); it != kl.overrides.end()) return it->second;
    }
    return kl.base;
  }
  /// Sets the default limit of K.
  template <class K>
  limit_set& set(const limit_type_of<K>& l) {
    check_kind<K>();
    static_assert(detail::kind_limits<K>::has_value, "rcmgr::limit_set::set: this kind's limit is a compile-time constant");
    std::get<tuple_info::template index<K>>(kinds_).base = l;
    return *this;
  }
  /// Sets the limit of one key of a keyed or view kind.
  template <class K>
  limit_set& set(const override_key_of<K>& k, const limit_type_of<K>& l) {
    check_kind<K>();
    static_assert(detail::kind_limits<K>::has_overrides,
                  "rcmgr::limit_set::set(key, limit): only keyed and view kinds with runtime limits have per-key limits");
    std::get<tuple_info::template index<K>>(kinds_).overrides.insert_or_assign(k, l);
    return *this;
  }
  /// Removes the override of one key; returns whether there was one.
  template <class K>
  bool erase(const override_key_of<K>& k) {
    check_kind<K>();
    static_assert(detail::kind_limits<K>::has_overrides, "rcmgr::limit_set::erase: this kind has no per-key limits");
    return std::get<tuple_info::template index<K>>(kinds_).overrides.erase(k) != 0;
  }
  /// The per-key overrides of K (an unordered_map from key to limit).
  template <class K>
  const auto& overrides() const noexcept {
    check_kind<K>();
    static_assert(detail::kind_limits<K>::has_overrides, "rcmgr::limit_set::overrides: this kind has no per-key limits");
    return std::get<tuple_info::template index<K>>(kinds_).overrides;
  }

 private:
  typename tuple_info::type kinds_{};
};

}  // namespace rcmgr
