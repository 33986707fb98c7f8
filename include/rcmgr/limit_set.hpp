// limit_set<Topology>: the limits of every kind of a topology. Kinds with runtime limits hold a
// default value; keyed and view kinds also hold per-key overrides (views are overridden by their
// first component's key: a protocol-peer limit is set per protocol). Kinds with compile-time
// limits hold nothing here.
#pragma once

#include <tuple>
#include <type_traits>
#include <unordered_map>

#include "rcmgr/detail/key_check.hpp"
#include "rcmgr/detail/kind_traits.hpp"
#include "rcmgr/errors.hpp"
#include "rcmgr/result.hpp"
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

/// The values of any limit type, as an rcmgr::limit (to check them).
template <class L>
constexpr limit values_of(const L& l) noexcept {
  if constexpr (std::is_same_v<L, limit>) return l;
  else
    return {l.stream_limit(direction::inbound), l.stream_limit(direction::outbound), l.stream_total_limit(),
            l.conn_limit(direction::inbound),   l.conn_limit(direction::outbound),   l.conn_total_limit(),
            l.fd_limit(),                       l.memory_limit()};
}

/// What is wrong with `l` as a limit of kind K (see limit_problem); empty when nothing is.
template <class K, class L>
std::string_view limit_problem_of(const L& l) noexcept {
  return limit_problem(values_of(l), kind_traits<K>::accounted);
}
inline error invalid_limit(std::string_view kind, std::string_view key, std::string_view why) noexcept {
  error e;
  e.code = errc::invalid_argument;
  e.scope = key.empty() ? scope_name(kind) : scope_name(kind, key);
  e.detail = why;
  return e;
}

/// True when some kind of the list has runtime limits (so that set() can refuse a value).
template <class KL>
struct any_runtime_limit;
template <class... Ks>
struct any_runtime_limit<type_list<Ks...>> : std::bool_constant<(kind_limits<Ks>::has_value || ...)> {};

/// The first value a limit_set refused; nothing for a set of compile-time limits only.
struct refusal_slot {
  bool refused = false;
  error first{};
};
struct no_refusal_slot {};

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
  /// Sets the default limit of K. A negative value, or a value for a resource K does not account
  /// other than `unlimited` or 0 (go-libp2p's "blockAll"), is refused: nothing is stored and the
  /// first such refusal is kept for check(), which every manager entry point calls. Fields of
  /// resources K does not account are stored as `unlimited`, the one form the writer and the
  /// reader of limit files agree on.
  template <class K>
  limit_set& set(const limit_type_of<K>& l) {
    check_kind<K>();
    static_assert(detail::kind_limits<K>::has_value, "rcmgr::limit_set::set: this kind's limit is a compile-time constant");
    if (const auto why = detail::limit_problem_of<K>(l); !why.empty()) {
      refuse(detail::invalid_limit(detail::kind_traits<K>::name, {}, why));
      return *this;
    }
    std::get<tuple_info::template index<K>>(kinds_).base = canonical<K>(l);
    return *this;
  }
  /// Sets the limit of one key of a keyed or view kind. Refused like set(l), and also when the
  /// key cannot name a scope (an empty or too long peer id, say).
  template <class K>
  limit_set& set(const override_key_of<K>& k, const limit_type_of<K>& l) {
    check_kind<K>();
    static_assert(detail::kind_limits<K>::has_overrides,
                  "rcmgr::limit_set::set(key, limit): only keyed and view kinds with runtime limits have per-key limits");
    using key_kind = typename detail::override_key_kind<K>::type;
    if (const key_problem kp = detail::key_problem_of<key_kind>(k)) {
      error e = detail::key_error(detail::kind_traits<K>::name, kp);
      refuse(e);
      return *this;
    }
    if (const auto why = detail::limit_problem_of<K>(l); !why.empty()) {
      std::string buf;
      refuse(detail::invalid_limit(detail::kind_traits<K>::name, detail::key_text(k, buf), why));
      return *this;
    }
    std::get<tuple_info::template index<K>>(kinds_).overrides.insert_or_assign(k, canonical<K>(l));
    return *this;
  }
  /// Success, or the first value set() refused (errc::invalid_argument naming the kind, the key
  /// and the field). A manager refuses a limit set that holds a refusal.
  result<void> check() const noexcept {
    if constexpr (can_refuse) {
      if (refusal_.refused) return refusal_.first;
    }
    return {};
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
  template <class K, class L>
  static L canonical(const L& l) noexcept {
    if constexpr (std::is_same_v<L, limit>) return detail::canonical_limit(l, detail::kind_traits<K>::accounted);
    else return l;
  }
  void refuse(const error& e) noexcept {
    if constexpr (can_refuse) {
      if (!refusal_.refused) refusal_.first = e;
      refusal_.refused = true;
    }
  }
  static constexpr bool can_refuse = detail::any_runtime_limit<typename Topology::kind_list>::value;

  typename tuple_info::type kinds_{};
  [[no_unique_address]] std::conditional_t<can_refuse, detail::refusal_slot, detail::no_refusal_slot> refusal_{};
};

}  // namespace rcmgr
