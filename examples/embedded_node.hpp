// The scope topology of a small embedded node: no peers, protocols, services or transient scope,
// only the device (system), its connections and the streams multiplexed on each connection.
//
//   system <- connection <- stream      (a stream is owned by its connection)
//
// A stream's reservations are charged to the stream, its connection and the system, in that
// order; the connection is reached through the stream's owner pointer, so a stream node stores
// no parent slots at all. Per-connection and per-stream limits are compile-time constants: they
// take no storage and fold into the reservation code. The device-wide limit stays a run-time
// value, since it depends on how much RAM the firmware image leaves free.
#pragma once

#include <cstdint>
#include <string_view>

#include "rcmgr/manager.hpp"
#include "rcmgr/topology.hpp"

namespace embedded {

using rcmgr::resource;

inline constexpr std::int64_t kib = 1024;

/// One connection: itself, at most 4 streams each way and 6 in total, 32 KiB of buffers.
constexpr rcmgr::limit connection_limit() {
  rcmgr::limit l;
  l.conns_inbound = l.conns_outbound = l.conns = 1;
  l.streams_inbound = l.streams_outbound = 4;
  l.streams = 6;
  l.memory = 32 * kib;
  return l;
}
/// One stream: itself and 8 KiB of buffers.
constexpr rcmgr::limit stream_limit() {
  rcmgr::limit l;
  l.streams_inbound = l.streams_outbound = l.streams = 1;
  l.memory = 8 * kib;
  return l;
}

/// The device: every connection and stream is charged here. No file descriptors (the network
/// stack hands out its own connection blocks, which the connection count stands for).
struct system_scope : rcmgr::scope<rcmgr::singleton, rcmgr::accounts<resource::memory, resource::streams, resource::conns>> {
  static constexpr std::string_view name = "system";
};
struct connection_scope : rcmgr::scope<rcmgr::accounts<resource::memory, resource::streams, resource::conns>,
                                       rcmgr::limited_by<rcmgr::static_limit<connection_limit()>>> {
  static constexpr std::string_view name = "connection";
};
struct stream_scope : rcmgr::scope<rcmgr::accounts<resource::memory, resource::streams>,
                                   rcmgr::limited_by<rcmgr::static_limit<stream_limit()>>> {
  static constexpr std::string_view name = "stream";
};

struct topology : rcmgr::topology<rcmgr::kinds<system_scope, connection_scope, stream_scope>,
                                  rcmgr::edge<connection_scope, system_scope>,
                                  rcmgr::edge<stream_scope, connection_scope>> {};

/// The manager of an event-loop node: plain integers, no locks.
using manager = rcmgr::basic_resource_manager<topology, rcmgr::single_threaded>;
using limits = rcmgr::limit_set<topology>;

/// Device-wide limits for a node that can spare `memory` bytes for network buffers.
inline limits device_limits(std::int64_t memory, std::int64_t max_conns) {
  rcmgr::limit l;
  l.memory = memory;
  l.conns = max_conns;
  l.conns_inbound = max_conns;
  l.conns_outbound = max_conns;
  limits ls;
  ls.set<system_scope>(l);
  return ls;
}

}  // namespace embedded
