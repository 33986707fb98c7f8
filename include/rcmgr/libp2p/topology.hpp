// The libp2p scope topology, declared with the same public mechanism any user has.
//
//   system <- transient <- (connection until its peer is set) (stream until its protocol is set)
//   system <- service   <- (stream, after its protocol, once set_service is called)
//   system <- protocol  <- (stream, once set_protocol is called)
//   system <- peer      <- (connection once set_peer) (stream from open)
//             service-peer  <- stream, as soon as it has both a service and a peer
//             protocol-peer <- stream, as soon as it has both a protocol and a peer
//
// Every reservation on a stream with peer, protocol and service set is therefore charged to:
// stream, peer, protocol-peer, service-peer, protocol, service, system -- system once.
#pragma once

#include <cstddef>
#include <string_view>

#include "rcmgr/keys.hpp"
#include "rcmgr/topology.hpp"

namespace rcmgr::libp2p {

using mem_streams = accounts<resource::memory, resource::streams>;

struct peer_scope;
struct protocol_scope;
struct service_scope;

/// Global limits: every scope is charged here.
struct system_scope : scope<singleton> {
  static constexpr std::string_view name = "system";
};
/// Connections before their peer is known and streams before their protocol is negotiated.
struct transient_scope : scope<singleton> {
  static constexpr std::string_view name = "transient";
};
/// A service (identify, relay, pubsub, ...); kept for the manager's lifetime.
struct service_scope : scope<keyed_by<service_name, retain>, mem_streams> {
  static constexpr std::string_view name = "service";
  /// Empty names and names longer than this are refused with errc::invalid_argument.
  static constexpr std::size_t max_key_size = max_service_name_size;
  template <class H>
  struct methods {
    /// The service's name (libp2p ServiceScope.Name).
    decltype(auto) name() const { return static_cast<const H&>(*this).key(); }
  };
};
/// A protocol; kept for the manager's lifetime (only locally handled protocols get one).
struct protocol_scope : scope<keyed_by<protocol_id, retain>, mem_streams> {
  static constexpr std::string_view name = "protocol";
  /// Empty ids and ids longer than this are refused with errc::invalid_argument.
  static constexpr std::size_t max_key_size = max_protocol_id_size;
  template <class H>
  struct methods {
    /// The protocol id (libp2p ProtocolScope.Protocol).
    decltype(auto) protocol() const { return static_cast<const H&>(*this).key(); }
  };
};
/// A remote peer; collected as soon as nothing refers to it and it holds nothing.
struct peer_scope : scope<keyed_by<peer_id>> {
  static constexpr std::string_view name = "peer";
  template <class H>
  struct methods {
    /// The peer id (libp2p PeerScope.Peer).
    decltype(auto) peer() const { return static_cast<const H&>(*this).key(); }
  };
};
/// One service's usage by one peer.
struct service_peer_scope : scope<view_of<service_scope, peer_scope>, mem_streams> {
  static constexpr std::string_view name = "service-peer";
};
/// One protocol's usage by one peer.
struct protocol_peer_scope : scope<view_of<protocol_scope, peer_scope>, mem_streams> {
  static constexpr std::string_view name = "protocol-peer";
};

/// A connection: transient until set_peer.
struct connection_scope : scope<accounts<resource::memory, resource::conns, resource::fd>> {
  static constexpr std::string_view name = "connection";
  template <class H>
  struct methods {
    /// The connection's peer scope, or an empty reference before set_peer.
    constexpr auto peer_scope() const { return static_cast<const H&>(*this).template parent<libp2p::peer_scope>(); }
    /// Attaches the connection to its peer: moves its usage from transient to the peer.
    constexpr auto set_peer(const peer_id& p) { return static_cast<H&>(*this).template set<libp2p::peer_scope>(p); }
  };
};

/// A stream: charged to its peer from open; transient until set_protocol; then to the protocol
/// (and protocol-peer), and to the service (and service-peer) once set_service is called.
struct stream_scope : scope<mem_streams> {
  static constexpr std::string_view name = "stream";
  template <class H>
  struct methods {
    constexpr auto protocol_scope() const { return static_cast<const H&>(*this).template parent<libp2p::protocol_scope>(); }
    constexpr auto set_protocol(std::string_view proto) {
      return static_cast<H&>(*this).template set<libp2p::protocol_scope>(proto);
    }
    constexpr auto service_scope() const { return static_cast<const H&>(*this).template parent<libp2p::service_scope>(); }
    constexpr auto set_service(std::string_view svc) { return static_cast<H&>(*this).template set<libp2p::service_scope>(svc); }
    constexpr auto peer_scope() const { return static_cast<const H&>(*this).template parent<libp2p::peer_scope>(); }
  };
};

struct topology : rcmgr::topology<kinds<system_scope, transient_scope, service_scope, protocol_scope, peer_scope,
                                        service_peer_scope, protocol_peer_scope, connection_scope, stream_scope>,
                                  edge<transient_scope, system_scope>,
                                  edge<service_scope, system_scope>,
                                  edge<protocol_scope, system_scope>,
                                  edge<peer_scope, system_scope>,
                                  edge<connection_scope, transient_scope, until<peer_scope>>,
                                  edge<connection_scope, peer_scope, late>,
                                  edge<stream_scope, peer_scope>,
                                  edge<stream_scope, transient_scope, until<protocol_scope>>,
                                  edge<stream_scope, protocol_scope, late>,
                                  edge<stream_scope, protocol_peer_scope>,
                                  edge<stream_scope, service_scope, after<protocol_scope>>,
                                  edge<stream_scope, service_peer_scope>> {};

}  // namespace rcmgr::libp2p
