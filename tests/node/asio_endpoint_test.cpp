// rcmgr::asio::to_endpoint: a socket address becomes the endpoint gating reads, the same one the
// multiaddr text of that address gives, and a gated manager counts connections opened with it
// exactly as with the text. Real sockets on loopback (127.0.0.1, and ::1 where the machine has
// IPv6), each connect bounded in time.
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <catch2/catch.hpp>

#include <string>

#include "rcmgr/asio/endpoint.hpp"
#include "rcmgr/libp2p/gated_resource_manager.hpp"

namespace net = boost::asio;
using tcp = net::ip::tcp;

namespace {
/// Accepts one connection on `listen_at` (port 0: any) and returns both ends' endpoints as the
/// server sees them: {the accepted socket's remote endpoint, the client's local endpoint}.
std::pair<tcp::endpoint, tcp::endpoint> accept_one(const net::ip::address& listen_at) {
  net::io_context io;
  tcp::acceptor acc(io, tcp::endpoint(listen_at, 0));
  tcp::socket client(io), server(io);
  client.connect(acc.local_endpoint());  // loopback: completes at once or fails
  acc.accept(server);
  return {server.remote_endpoint(), client.local_endpoint()};
}
std::string text_of(const tcp::endpoint& e) {
  return (e.address().is_v4() ? "/ip4/" : "/ip6/") + e.address().to_string() + "/tcp/" + std::to_string(e.port());
}
}  // namespace

TEST_CASE("an accepted socket's remote endpoint is the address its multiaddr text names") {
  const auto [remote, client_side] = accept_one(net::ip::make_address("127.0.0.1"));
  CHECK(remote == client_side);
  const rcmgr::endpoint ep = rcmgr::asio::to_endpoint(remote);
  const auto parsed = rcmgr::parse_multiaddr(text_of(remote));
  REQUIRE(parsed);
  REQUIRE(ep.ip);
  CHECK(*ep.ip == *parsed->ip);
  CHECK(ep.ip->str() == "127.0.0.1");
  CHECK(ep.peer.empty());

  boost::system::error_code ec;
  const auto v6 = net::ip::make_address("::1", ec);
  bool have_v6 = true;
  try {
    const auto [remote6, client6] = accept_one(v6);
    CHECK(remote6 == client6);
    const auto ep6 = rcmgr::asio::to_endpoint(remote6);
    REQUIRE(ep6.ip);
    CHECK(ep6.ip->v6);
    CHECK(*ep6.ip == *rcmgr::parse_multiaddr(text_of(remote6))->ip);
  } catch (const boost::system::system_error&) {
    have_v6 = false;  // no IPv6 loopback on this machine
  }
  INFO("IPv6 loopback available: " << have_v6);
}

TEST_CASE("addresses of every kind convert as their text parses") {
  for (const char* a : {"203.0.113.7", "0.0.0.0", "255.255.255.255", "2001:db8::1", "::ffff:192.0.2.1", "fe80::1", "::"}) {
    const auto addr = net::ip::make_address(a);
    const auto ip = rcmgr::asio::to_ip_address(addr);
    const auto parsed = rcmgr::parse_multiaddr(std::string(addr.is_v4() ? "/ip4/" : "/ip6/") + a);
    INFO(a);
    REQUIRE(parsed);
    CHECK(ip == *parsed->ip);
    CHECK(ip.str() == addr.to_string());
  }
  // the udp endpoint too (a QUIC listener's source address)
  const net::ip::udp::endpoint u(net::ip::make_address("198.51.100.9"), 4001);
  CHECK(rcmgr::asio::to_endpoint(u).ip->str() == "198.51.100.9");
}

TEST_CASE("a gated manager counts a connection opened from a socket address as one opened from its text") {
  rcmgr::gated_resource_manager<rcmgr::thread_safe> mgr;
  const tcp::endpoint from(net::ip::make_address("203.0.113.7"), 40000);
  const rcmgr::ip_prefix subnet{rcmgr::asio::to_ip_address(from.address()), 32};
  auto a = mgr.open_connection(rcmgr::direction::inbound, true, rcmgr::asio::to_endpoint(from));
  REQUIRE(a);
  auto b = mgr.open_connection(rcmgr::direction::inbound, true, "/ip4/203.0.113.7/tcp/40001");
  REQUIRE(b);
  CHECK(mgr.gating().conns_in(subnet) == 2);
  // go's default: 8 per IPv4 address, whichever way they are given
  std::vector<rcmgr::gated_resource_manager<rcmgr::thread_safe>::connection> more;
  for (int i = 0; i < 6; ++i) more.push_back(*mgr.open_connection(rcmgr::direction::inbound, true, rcmgr::asio::to_endpoint(from)));
  auto refused = mgr.open_connection(rcmgr::direction::inbound, true, rcmgr::asio::to_endpoint(from));
  REQUIRE_FALSE(refused);
  CHECK(refused.error().code == rcmgr::errc::limit_exceeded);
  CHECK(refused.error().scope.key() == "203.0.113.7/32");
  a->done();
  b->done();
  more.clear();
  CHECK(mgr.gating().conns_in(subnet) == 0);
}
