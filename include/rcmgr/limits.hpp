// Limit types. A scope kind names its limit type as a template parameter (`limited_by<L>`):
//  - `limit`              runtime values (the default); may be replaced while the manager runs;
//  - `static_limit<V>`    compile-time constants: no storage, folded into the reservation code,
//                         and checked against the parents' constants when the topology is built;
//  - `unlimited_limit`    never refuses; the check compiles away;
//  - any type modelling `scope_limit`, e.g. one that computes its values.
#pragma once

#include <concepts>
#include <cstdint>
#include <limits>
#include <string_view>

#include "rcmgr/resources.hpp"

namespace rcmgr {

/// The value meaning "no limit". Also what go-libp2p calls "unlimited".
inline constexpr std::int64_t unlimited = std::numeric_limits<std::int64_t>::max();
/// The value meaning "refuse everything" (go-libp2p's "blockAll", or an explicit 0).
inline constexpr std::int64_t block_all = 0;

/// Runtime limit values for one scope: the go-libp2p `BaseLimit`. Memory is in bytes; every other
/// field is a count. A field left out is `unlimited`. Negative values are invalid (see `valid()`).
struct limit {
  std::int64_t streams_inbound = unlimited;
  std::int64_t streams_outbound = unlimited;
  std::int64_t streams = unlimited;  ///< inbound + outbound together
  std::int64_t conns_inbound = unlimited;
  std::int64_t conns_outbound = unlimited;
  std::int64_t conns = unlimited;  ///< inbound + outbound together
  std::int64_t fd = unlimited;
  std::int64_t memory = unlimited;  ///< bytes

  static constexpr limit unlimited_all() noexcept { return {}; }
  static constexpr limit blocked() noexcept { return {0, 0, 0, 0, 0, 0, 0, 0}; }

  constexpr std::int64_t memory_limit() const noexcept { return memory; }
  constexpr std::int64_t stream_limit(direction d) const noexcept {
    return d == direction::inbound ? streams_inbound : streams_outbound;
  }
  constexpr std::int64_t stream_total_limit() const noexcept { return streams; }
  constexpr std::int64_t conn_limit(direction d) const noexcept {
    return d == direction::inbound ? conns_inbound : conns_outbound;
  }
  constexpr std::int64_t conn_total_limit() const noexcept { return conns; }
  constexpr std::int64_t fd_limit() const noexcept { return fd; }

  /// True when no field is negative.
  constexpr bool valid() const noexcept {
    return streams_inbound >= 0 && streams_outbound >= 0 && streams >= 0 && conns_inbound >= 0 &&
           conns_outbound >= 0 && conns >= 0 && fd >= 0 && memory >= 0;
  }
  friend constexpr bool operator==(const limit&, const limit&) = default;
};

namespace detail {
/// The fields of rcmgr::limit, in declaration order, with the resource each limits.
struct limit_member {
  std::int64_t limit::*member;
  resource res;
  std::string_view negative;    ///< static text: this field is below zero
  std::string_view unaccounted;  ///< static text: this field is set on a kind that does not account it
};
inline constexpr limit_member limit_members[] = {
    {&limit::streams_inbound, resource::streams, "streams_inbound is negative",
     "streams_inbound is set, but this kind does not account streams"},
    {&limit::streams_outbound, resource::streams, "streams_outbound is negative",
     "streams_outbound is set, but this kind does not account streams"},
    {&limit::streams, resource::streams, "streams is negative", "streams is set, but this kind does not account streams"},
    {&limit::conns_inbound, resource::conns, "conns_inbound is negative",
     "conns_inbound is set, but this kind does not account connections"},
    {&limit::conns_outbound, resource::conns, "conns_outbound is negative",
     "conns_outbound is set, but this kind does not account connections"},
    {&limit::conns, resource::conns, "conns is negative", "conns is set, but this kind does not account connections"},
    {&limit::fd, resource::fd, "fd is negative", "fd is set, but this kind does not account file descriptors"},
    {&limit::memory, resource::memory, "memory is negative", "memory is set, but this kind does not account memory"},
};

/// What is wrong with `l` as the limit of a kind accounting `acc`: a negative field, or a field
/// of a resource the kind does not account set to anything but `unlimited` (left out) or 0
/// (go-libp2p's "blockAll", which it writes for every such field). Empty when nothing is;
/// `field` receives the offending member.
constexpr std::string_view limit_problem(const limit& l, resource_set acc, const limit_member** field = nullptr) noexcept {
  for (const auto& m : limit_members) {
    const std::int64_t v = l.*m.member;
    if (field != nullptr) *field = &m;
    if (v < 0) return m.negative;
    if (!acc.contains(m.res) && v != unlimited && v != 0) return m.unaccounted;
  }
  return {};
}

/// `l` with every field of a resource outside `acc` set to `unlimited`: the one form a limit_set
/// keeps, so that what it holds, what the writer writes and what the reader reads are the same.
constexpr limit canonical_limit(limit l, resource_set acc) noexcept {
  for (const auto& m : limit_members)
    if (!acc.contains(m.res)) l.*m.member = unlimited;
  return l;
}
}  // namespace detail

/// What every limit type provides: the go-libp2p `Limit` interface.
template <class L>
concept scope_limit = requires(const L& l, direction d) {
  { l.memory_limit() } -> std::convertible_to<std::int64_t>;
  { l.stream_limit(d) } -> std::convertible_to<std::int64_t>;
  { l.stream_total_limit() } -> std::convertible_to<std::int64_t>;
  { l.conn_limit(d) } -> std::convertible_to<std::int64_t>;
  { l.conn_total_limit() } -> std::convertible_to<std::int64_t>;
  { l.fd_limit() } -> std::convertible_to<std::int64_t>;
};

/// Compile-time limit values. Empty: a scope kind limited this way stores nothing for its
/// limit, and the compiler folds every comparison against it.
template <limit V>
struct static_limit {
  static_assert(V.valid(), "static_limit: every value must be >= 0 (use rcmgr::unlimited for no limit)");
  static constexpr limit value = V;
  static constexpr std::int64_t memory_limit() noexcept { return V.memory; }
  static constexpr std::int64_t stream_limit(direction d) noexcept { return V.stream_limit(d); }
  static constexpr std::int64_t stream_total_limit() noexcept { return V.streams; }
  static constexpr std::int64_t conn_limit(direction d) noexcept { return V.conn_limit(d); }
  static constexpr std::int64_t conn_total_limit() noexcept { return V.conns; }
  static constexpr std::int64_t fd_limit() noexcept { return V.fd; }
};

/// A limit that never refuses anything.
using unlimited_limit = static_limit<limit{}>;

/// True for limit types whose values are known at compile time (they expose `value`).
template <class L>
concept constant_limit = scope_limit<L> && requires {
  { L::value } -> std::convertible_to<limit>;
};

/// Largest memory a reservation at priority `prio` may bring a scope to: floor(lim * (prio+1) / 256),
/// computed without overflow for every lim in [0, INT64_MAX]. `unlimited` stays unlimited.
constexpr std::int64_t memory_threshold(std::int64_t lim, std::uint8_t prio) noexcept {
  if (lim == unlimited) return unlimited;
  const std::int64_t p = std::int64_t{prio} + 1;  // 1..256
  // lim = 256*a + b, so lim*p/256 = a*p + b*p/256 exactly; a*p <= lim, b*p < 65536.
  return (lim >> 8) * p + (((lim & 0xff) * p) >> 8);
}

}  // namespace rcmgr
