// The go-libp2p default limits (the base values of its default scaling table), as a limit_set.
#pragma once

#include <cstdint>

#include "rcmgr/libp2p/topology.hpp"
#include "rcmgr/limit_set.hpp"
#include "rcmgr/limits.hpp"

namespace rcmgr::libp2p {

using limits = limit_set<topology>;

inline constexpr std::int64_t mib = std::int64_t{1} << 20;

/// Streams limits as inbound/outbound/total.
constexpr limit stream_limit(std::int64_t in, std::int64_t out, std::int64_t total, std::int64_t memory) noexcept {
  limit l;
  l.streams_inbound = in;
  l.streams_outbound = out;
  l.streams = total;
  l.memory = memory;
  return l;
}

/// go-libp2p's base limits: what its default configuration gives a node with less than 128 MiB
/// for the manager (see libp2p/scaling.hpp for limits scaled to the machine).
inline limits default_limits() {
  limits ls;
  ls.set<system_scope>({1024, 2048, 2048, 64, 128, 128, 256, 128 * mib});
  ls.set<transient_scope>({128, 256, 256, 32, 64, 64, 64, 32 * mib});
  ls.set<service_scope>(stream_limit(1024, 4096, 4096, 64 * mib));
  ls.set<service_peer_scope>(stream_limit(128, 256, 256, 16 * mib));
  ls.set<protocol_scope>(stream_limit(512, 2048, 2048, 64 * mib));
  ls.set<protocol_peer_scope>(stream_limit(64, 128, 256, 16 * mib));
  ls.set<peer_scope>({256, 512, 512, 8, 8, 8, 4, 64 * mib});
  {
    limit c = limit::unlimited_all();
    c.conns_inbound = c.conns_outbound = c.conns = 1;
    c.fd = 1;
    c.memory = 32 * mib;
    ls.set<connection_scope>(c);
  }
  ls.set<stream_scope>(stream_limit(1, 1, 1, 16 * mib));
  return ls;
}

}  // namespace rcmgr::libp2p
