// rcmgr::asio endpoints: what connection gating needs from a Boost.Asio socket address, without
// writing multiaddr text and parsing it back. An accepted socket's remote_endpoint() goes
// straight to gated_resource_manager::open_connection:
//
//   auto conn = mgr.open_connection(rcmgr::direction::inbound, true,
//                                   rcmgr::asio::to_endpoint(socket.remote_endpoint()));
//
// (From text, the same connection costs a multiaddr parse more: docs/performance.md.)
#pragma once

#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/udp.hpp>

#include "rcmgr/multiaddr.hpp"

namespace rcmgr::asio {

/// The address as gating sees it. An IPv4-mapped IPv6 address (a dual-stack socket's view of an
/// IPv4 peer) stays IPv6 here, as it is written; the gate unmaps it (docs/gating.md).
inline ip_address to_ip_address(const boost::asio::ip::address& a) noexcept {
  if (a.is_v4()) return ip_address::from_v4_bytes(a.to_v4().to_bytes());
  return ip_address::from_v6_bytes(a.to_v6().to_bytes());
}

/// The endpoint of a TCP or UDP socket address: its IP (the port plays no part in gating; a
/// socket address names no peer).
template <class Protocol>
endpoint to_endpoint(const boost::asio::ip::basic_endpoint<Protocol>& e) noexcept {
  endpoint ep;
  ep.ip = to_ip_address(e.address());
  return ep;
}

}  // namespace rcmgr::asio
