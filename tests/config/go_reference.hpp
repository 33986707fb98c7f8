// go-libp2p's scaling, transcribed independently of rcmgr (its default table and its Scale()
// with go's integer arithmetic), to check rcmgr::libp2p::scale() against and to print what go
// would compute on a machine. Not part of the library.
#pragma once

#include <cstdint>

namespace go_reference {

struct base_limit {  // go: BaseLimit
  std::int64_t streams, streams_inbound, streams_outbound, conns, conns_inbound, conns_outbound, fd, memory;
};
struct base_limit_increase {  // go: BaseLimitIncrease
  std::int64_t streams, streams_inbound, streams_outbound, conns, conns_inbound, conns_outbound, memory;
  double fd_fraction;
};

constexpr std::int64_t mib = std::int64_t{1} << 20;

// go: DefaultLimits (p2p/host/resource-manager/limit_defaults.go)
struct scaling_limit_config {
  base_limit system{2048, 1024, 2048, 128, 64, 128, 256, 128 * mib};
  base_limit_increase system_inc{2048, 1024, 2048, 128, 64, 128, std::int64_t{1} << 30, 1};
  base_limit transient{256, 128, 256, 64, 32, 64, 64, 32 * mib};
  base_limit_increase transient_inc{256, 128, 256, 32, 16, 32, 128 * mib, 0.25};
  base_limit service{4096, 1024, 4096, 0, 0, 0, 0, 64 * mib};
  base_limit_increase service_inc{2048, 512, 2048, 0, 0, 0, 128 * mib, 0};
  base_limit service_peer{256, 128, 256, 0, 0, 0, 0, 16 * mib};
  base_limit_increase service_peer_inc{8, 4, 8, 0, 0, 0, 4 * mib, 0};
  base_limit protocol{2048, 512, 2048, 0, 0, 0, 0, 64 * mib};
  base_limit_increase protocol_inc{512, 256, 512, 0, 0, 0, 164 * mib, 0};
  base_limit protocol_peer{256, 64, 128, 0, 0, 0, 0, 16 * mib};
  base_limit_increase protocol_peer_inc{16, 4, 8, 0, 0, 0, 4, 0};
  base_limit peer{512, 256, 512, 8, 8, 8, 4, 64 * mib};
  base_limit_increase peer_inc{256, 128, 256, 0, 0, 0, 128 * mib, 1.0 / 64};
  base_limit conn{0, 0, 0, 1, 1, 1, 1, 32 * mib};
  base_limit_increase conn_inc{};
  base_limit stream{1, 1, 1, 0, 0, 0, 0, 16 * mib};
  base_limit_increase stream_inc{};
};

// go: func scale(base BaseLimit, inc BaseLimitIncrease, memory int64, numFD int) BaseLimit
inline base_limit scale(const base_limit& base, const base_limit_increase& inc, std::int64_t memory, std::int64_t num_fd) {
  std::int64_t mebibytes_available = 0;
  if (memory > 128 * mib) mebibytes_available = memory >> 20;
  base_limit l{
      base.streams + (inc.streams * mebibytes_available >> 10),
      base.streams_inbound + (inc.streams_inbound * mebibytes_available >> 10),
      base.streams_outbound + (inc.streams_outbound * mebibytes_available >> 10),
      base.conns + (inc.conns * mebibytes_available >> 10),
      base.conns_inbound + (inc.conns_inbound * mebibytes_available >> 10),
      base.conns_outbound + (inc.conns_outbound * mebibytes_available >> 10),
      base.fd,
      base.memory + (inc.memory * mebibytes_available >> 10),
  };
  if (inc.fd_fraction > 0 && num_fd > 0) {
    l.fd = static_cast<std::int64_t>(inc.fd_fraction * static_cast<double>(num_fd));
    if (l.fd < base.fd) l.fd = base.fd;
  }
  return l;
}

struct concrete_limit_config {
  base_limit system, transient, service, service_peer, protocol, protocol_peer, peer, conn, stream;
};

// go: func (cfg *ScalingLimitConfig) Scale(memory int64, numFD int) ConcreteLimitConfig
inline concrete_limit_config scale(const scaling_limit_config& c, std::int64_t memory, std::int64_t num_fd) {
  return {
      scale(c.system, c.system_inc, memory, num_fd),
      scale(c.transient, c.transient_inc, memory, num_fd),
      scale(c.service, c.service_inc, memory, num_fd),
      scale(c.service_peer, c.service_peer_inc, memory, num_fd),
      scale(c.protocol, c.protocol_inc, memory, num_fd),
      scale(c.protocol_peer, c.protocol_peer_inc, memory, num_fd),
      scale(c.peer, c.peer_inc, memory, num_fd),
      scale(c.conn, c.conn_inc, memory, num_fd),
      scale(c.stream, c.conn_inc, memory, num_fd),  // sic: go passes the connection increase here
  };
}

}  // namespace go_reference
