// Limits that grow with the machine: go-libp2p's ScalingLimitConfig, as plain data.
//
// Each libp2p scope kind has a base limit (what a node gets with at most 128 MiB for the
// manager) and an increase per GiB of memory given to the manager. With `memory` bytes and
// `fds` descriptors given to the manager, every stream, connection and memory value is
//
//     base + increase * (memory >> 20) / 1024        (the increase counts only above 128 MiB)
//
// and the descriptor limit is max(fd_fraction * fds, base.fd) when fd_fraction > 0 (else base.fd).
// Unlimited base values stay unlimited; results saturate at rcmgr::unlimited.
//
// Where this differs from go-libp2p (on purpose):
//  - the stream scope grows with the *stream* increase. go-libp2p's Scale() passes the
//    connection increase for the stream scope; with its default table both are zero, so the
//    defaults agree, but a custom table with a stream increase is silently ignored in go.
//  - autoscale() honours cgroup memory limits (see rcmgr/system_resources.hpp); go sizes the
//    limits from physical RAM, which overcommits containers.
#pragma once

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <map>

#include "rcmgr/keys.hpp"
#include "rcmgr/libp2p/default_limits.hpp"
#include "rcmgr/libp2p/topology.hpp"
#include "rcmgr/limits.hpp"
#include "rcmgr/system_resources.hpp"

namespace rcmgr::libp2p {

inline constexpr std::int64_t gib = std::int64_t{1} << 30;

/// How much a scope's limit grows per GiB of memory given to the manager (go-libp2p's
/// BaseLimitIncrease). Counts are added per GiB; memory is bytes added per GiB.
struct limit_increase {
  std::int64_t streams_inbound = 0;
  std::int64_t streams_outbound = 0;
  std::int64_t streams = 0;
  std::int64_t conns_inbound = 0;
  std::int64_t conns_outbound = 0;
  std::int64_t conns = 0;
  std::int64_t memory = 0;   ///< bytes per GiB
  double fd_fraction = 0.0;  ///< share of the manager's descriptors; 0: the base fd stays
  friend constexpr bool operator==(const limit_increase&, const limit_increase&) = default;
};

/// A scaled limit description for one scope: base limit + increase (go-libp2p's pair of
/// BaseLimit and BaseLimitIncrease).
struct scaling_limit {
  limit base;
  limit_increase increase;
  friend constexpr bool operator==(const scaling_limit&, const scaling_limit&) = default;
};

/// A scaling description for every libp2p scope kind, with optional per-key entries (go-libp2p's
/// ServiceLimits, ServicePeerLimits, ProtocolLimits, ProtocolPeerLimits, PeerLimits).
struct scaling_config {
  scaling_limit system, transient, service, service_peer, protocol, protocol_peer, peer, connection, stream;
  std::map<service_name, scaling_limit> services;       ///< per service name
  std::map<service_name, scaling_limit> service_peers;  ///< per service name (applies to each of its peers)
  std::map<protocol_id, scaling_limit> protocols;       ///< per protocol id
  std::map<protocol_id, scaling_limit> protocol_peers;  ///< per protocol id (applies to each of its peers)
  std::map<peer_id, scaling_limit> peers;               ///< per peer id
};

/// go-libp2p's default scaling table (DefaultLimits): the bases are default_limits().
inline scaling_config default_scaling() {
  const limits b = default_limits();
  scaling_config c;
  c.system = {b.get<system_scope>(), {1024, 2048, 2048, 64, 128, 128, 1 * gib, 1.0}};
  c.transient = {b.get<transient_scope>(), {128, 256, 256, 16, 32, 32, 128 * mib, 0.25}};
  c.service = {b.get<service_scope>(), {512, 2048, 2048, 0, 0, 0, 128 * mib, 0.0}};
  c.service_peer = {b.get<service_peer_scope>(), {4, 8, 8, 0, 0, 0, 4 * mib, 0.0}};
  c.protocol = {b.get<protocol_scope>(), {256, 512, 512, 0, 0, 0, 164 * mib, 0.0}};
  // go-libp2p's table says 4 *bytes* per GiB here (not 4 MiB as for service-peer). Kept as is so
  // the numbers match go's; in effect protocol-peer memory does not grow.
  c.protocol_peer = {b.get<protocol_peer_scope>(), {4, 8, 16, 0, 0, 0, 4, 0.0}};
  c.peer = {b.get<peer_scope>(), {128, 256, 256, 0, 0, 0, 128 * mib, 1.0 / 64}};
  c.connection = {b.get<connection_scope>(), {}};
  c.stream = {b.get<stream_scope>(), {}};
  return c;
}

namespace detail {

/// a + b, saturating at unlimited; unlimited stays unlimited. a, b >= 0.
constexpr std::int64_t sat_add(std::int64_t a, std::int64_t b) noexcept {
  if (a == unlimited || b == unlimited) return unlimited;
  std::int64_t r = 0;
  return __builtin_add_overflow(a, b, &r) ? unlimited : r;
}

/// floor(inc * mebibytes / 1024) without overflow (saturating), for inc, mebibytes >= 0:
/// with mebibytes = 1024 q + r it is inc*q + floor(inc*r / 1024).
constexpr std::int64_t per_gib(std::int64_t inc, std::int64_t mebibytes) noexcept {
  if (inc <= 0 || mebibytes <= 0) return 0;
  const std::int64_t q = mebibytes >> 10, r = mebibytes & 1023;
  std::int64_t a = 0, b = 0;
  if (__builtin_mul_overflow(inc, q, &a)) return unlimited;
  if (__builtin_mul_overflow(inc, r, &b)) return unlimited;
  return sat_add(a, b >> 10);
}

constexpr std::int64_t grow(std::int64_t base, std::int64_t inc, std::int64_t mebibytes) noexcept {
  if (base == unlimited) return unlimited;
  return sat_add(base, per_gib(inc, mebibytes));
}

}  // namespace detail

/// Mebibytes that count for the increase: (memory >> 20), or 0 at or below 128 MiB (as go).
constexpr std::int64_t scaling_mebibytes(std::int64_t memory_bytes) noexcept {
  return memory_bytes > 128 * mib ? (memory_bytes >> 20) : 0;
}

/// One scope's limit for `memory_bytes` and `fds` given to the manager.
constexpr limit scale(const scaling_limit& s, std::int64_t memory_bytes, std::int64_t fds) noexcept {
  const std::int64_t m = scaling_mebibytes(memory_bytes);
  const limit& b = s.base;
  const limit_increase& i = s.increase;
  limit l;
  l.streams_inbound = detail::grow(b.streams_inbound, i.streams_inbound, m);
  l.streams_outbound = detail::grow(b.streams_outbound, i.streams_outbound, m);
  l.streams = detail::grow(b.streams, i.streams, m);
  l.conns_inbound = detail::grow(b.conns_inbound, i.conns_inbound, m);
  l.conns_outbound = detail::grow(b.conns_outbound, i.conns_outbound, m);
  l.conns = detail::grow(b.conns, i.conns, m);
  l.memory = detail::grow(b.memory, i.memory, m);
  l.fd = b.fd;
  if (i.fd_fraction > 0 && fds > 0 && b.fd != unlimited) {
    // floor, as go's int(fraction * float64(fds)); clamped to the int64 range
    const double f = std::floor(i.fd_fraction * static_cast<double>(fds));
    const std::int64_t v = f >= 9.2e18 ? unlimited : static_cast<std::int64_t>(f);
    l.fd = v > b.fd ? v : b.fd;
  }
  return l;
}

/// The limits of every libp2p scope for `memory_bytes` and `fds` given to the manager.
inline limits scale(const scaling_config& c, std::int64_t memory_bytes, std::int64_t fds) {
  limits ls;
  ls.set<system_scope>(scale(c.system, memory_bytes, fds));
  ls.set<transient_scope>(scale(c.transient, memory_bytes, fds));
  ls.set<service_scope>(scale(c.service, memory_bytes, fds));
  ls.set<service_peer_scope>(scale(c.service_peer, memory_bytes, fds));
  ls.set<protocol_scope>(scale(c.protocol, memory_bytes, fds));
  ls.set<protocol_peer_scope>(scale(c.protocol_peer, memory_bytes, fds));
  ls.set<peer_scope>(scale(c.peer, memory_bytes, fds));
  ls.set<connection_scope>(scale(c.connection, memory_bytes, fds));
  ls.set<stream_scope>(scale(c.stream, memory_bytes, fds));  // the stream increase (go uses the connection's)
  for (const auto& [k, s] : c.services) ls.set<service_scope>(k, scale(s, memory_bytes, fds));
  for (const auto& [k, s] : c.service_peers) ls.set<service_peer_scope>(k, scale(s, memory_bytes, fds));
  for (const auto& [k, s] : c.protocols) ls.set<protocol_scope>(k, scale(s, memory_bytes, fds));
  for (const auto& [k, s] : c.protocol_peers) ls.set<protocol_peer_scope>(k, scale(s, memory_bytes, fds));
  for (const auto& [k, s] : c.peers) ls.set<peer_scope>(k, scale(s, memory_bytes, fds));
  return ls;
}

/// go-libp2p's default table scaled to `memory_bytes` and `fds`.
inline limits scale(std::int64_t memory_bytes, std::int64_t fds) { return scale(default_scaling(), memory_bytes, fds); }

/// Which part of the machine the manager may use. The defaults are go-libp2p's: 1/8 of the
/// memory and half of the descriptors.
struct machine_share {
  std::int64_t memory_divisor = 8;  ///< the manager gets memory / memory_divisor bytes
  std::int64_t fd_divisor = 2;      ///< and fds / fd_divisor descriptors
};

/// What the manager is given of `r` under `share`: {memory bytes, descriptors}.
struct manager_budget {
  std::int64_t memory = 0;  ///< bytes
  std::int64_t fds = 0;
};
constexpr manager_budget budget_of(const system_resources& r, machine_share share = {}) noexcept {
  return {share.memory_divisor > 0 ? r.memory.bytes / share.memory_divisor : r.memory.bytes,
          share.fd_divisor > 0 ? r.fds / share.fd_divisor : r.fds};
}

/// Limits scaled to the given machine.
inline limits autoscale(const scaling_config& c, const system_resources& r, machine_share share = {}) {
  const manager_budget b = budget_of(r, share);
  return scale(c, b.memory, b.fds);
}

/// Limits scaled to this machine: go-libp2p's default table with 1/8 of the memory available to
/// the process (cgroup limits honoured) and half of its descriptor limit.
inline limits autoscale() { return autoscale(default_scaling(), detect_system_resources()); }

}  // namespace rcmgr::libp2p
