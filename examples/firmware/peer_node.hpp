// The embedded node with peers: examples/embedded_node.hpp's system -> connection -> stream, with
// one keyed kind, the remote peer, between the device and its connections. The node opens a
// connection's scope once the security handshake has said who is on the other end, so the peer
// is known at open (libp2p attaches it later, with set_peer; a kind attached late cannot own
// streams, and here connections own theirs).
//
//   system <- peer <- connection <- stream (owned by its connection)
//
// A stream's reservations are charged to the stream, its connection, the connection's peer and
// the system. Peer, connection and stream limits are compile-time constants; the device-wide
// limit is set at run time.
#pragma once

#include <cstdint>
#include <string_view>

#include "embedded_node.hpp"
#include "rcmgr/keys.hpp"
#include "rcmgr/manager.hpp"
#include "rcmgr/topology.hpp"

namespace embedded_peers {

using rcmgr::resource;
using embedded::kib;

/// One peer: at most 2 connections (either way), 8 streams, 40 KiB of buffers -- at least what
/// one connection may hold (embedded::connection_limit()), as the topology check requires.
constexpr rcmgr::limit peer_limit() {
  rcmgr::limit l;
  l.conns_inbound = l.conns_outbound = l.conns = 2;
  l.streams_inbound = l.streams_outbound = l.streams = 8;
  l.memory = 40 * kib;
  return l;
}

struct peer_scope : rcmgr::scope<rcmgr::keyed_by<rcmgr::peer_id>,
                                 rcmgr::accounts<resource::memory, resource::streams, resource::conns>,
                                 rcmgr::limited_by<rcmgr::static_limit<peer_limit()>>> {
  static constexpr std::string_view name = "peer";
};
struct connection_scope : rcmgr::scope<rcmgr::accounts<resource::memory, resource::streams, resource::conns>,
                                       rcmgr::limited_by<rcmgr::static_limit<embedded::connection_limit()>>> {
  static constexpr std::string_view name = "connection";
};
struct stream_scope : rcmgr::scope<rcmgr::accounts<resource::memory, resource::streams>,
                                   rcmgr::limited_by<rcmgr::static_limit<embedded::stream_limit()>>> {
  static constexpr std::string_view name = "stream";
};

struct topology : rcmgr::topology<rcmgr::kinds<embedded::system_scope, peer_scope, connection_scope, stream_scope>,
                                  rcmgr::edge<peer_scope, embedded::system_scope>,
                                  rcmgr::edge<connection_scope, peer_scope>,
                                  rcmgr::edge<stream_scope, connection_scope>> {};

using limits = rcmgr::limit_set<topology>;

inline limits device_limits(std::int64_t memory, std::int64_t max_conns) {
  rcmgr::limit l;
  l.memory = memory;
  l.conns = l.conns_inbound = l.conns_outbound = max_conns;
  limits ls;
  ls.set<embedded::system_scope>(l);
  return ls;
}

}  // namespace embedded_peers
