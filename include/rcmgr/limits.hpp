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
