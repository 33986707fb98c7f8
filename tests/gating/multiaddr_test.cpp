// Endpoints: parse_multiaddr takes what gating needs from multiaddr text and refuses malformed
// text with invalid_argument naming the component.
#include <catch2/catch.hpp>

#include <cstdint>
#include <sstream>
#include <string>

#include "rcmgr/allowlist.hpp"
#include "rcmgr/multiaddr.hpp"

using rcmgr::parse_multiaddr;

namespace {
std::string ip_of(std::string_view text) {
  auto r = parse_multiaddr(text);
  REQUIRE(r);
  return r->ip ? r->ip->str() : std::string("none");
}
std::string error_of(std::string_view text) {
  auto r = parse_multiaddr(text);
  REQUIRE_FALSE(r);
  CHECK(r.error().code == rcmgr::errc::invalid_argument);
  std::ostringstream os;
  os << r.error();
  return os.str();
}
}  // namespace

TEST_CASE("transport multiaddrs give their IP address and peer id") {
  CHECK(ip_of("/ip4/203.0.113.7/tcp/4001") == "203.0.113.7");
  CHECK(ip_of("/ip4/1.2.3.4") == "1.2.3.4");
  CHECK(ip_of("/ip6/2001:db8::1/udp/4001/quic-v1") == "2001:db8::1");
  CHECK(ip_of("/ip6/::/udp/1/quic") == "::");
  CHECK(ip_of("/ip6/::1/tcp/1") == "::1");
  CHECK(ip_of("/ip6/1:2:3:4:5:6:7:8/tcp/1") == "1:2:3:4:5:6:7:8");
  CHECK(ip_of("/ip6/::ffff:1.2.3.4/tcp/1") == "::ffff:1.2.3.4");  // RFC 5952 section 5
  CHECK(ip_of("/ip6/2001:DB8:0:0:1::/tcp/1") == "2001:db8:0:0:1::");  // the longest run of zeros is elided
  CHECK(ip_of("/ip4/192.0.2.1/udp/443/webrtc-direct/certhash/uEiDDq4_xNyDorZBH3TlGazyJdOWSwvo4PUo5YHFMrvDE8g") == "192.0.2.1");
  CHECK(ip_of("/ip4/192.0.2.1/udp/443/quic-v1/webtransport/certhash/uEiA/certhash/uEiB") == "192.0.2.1");
  CHECK(ip_of("/ip6zone/eth0/ip6/fe80::1/tcp/1") == "fe80::1");
  CHECK(ip_of("/dns4/example.com/tcp/443/wss") == "none");
  CHECK(ip_of("/dns/example.com/tcp/443") == "none");
  CHECK(ip_of("/dns6/example.com/udp/443/quic-v1") == "none");
  CHECK(ip_of("/dnsaddr/bootstrap.libp2p.io/p2p/QmNnooDu7bfjPFoTZYxMNLWUQJyrVwtbZg5gBMjTezGAJN") == "none");
  CHECK(ip_of("/unix/tmp/node.sock") == "none");

  auto r = parse_multiaddr("/ip4/1.2.3.4/tcp/1/p2p/12D3KooWRelay/p2p-circuit/p2p/12D3KooWTarget");
  REQUIRE(r);
  CHECK(r->ip->str() == "1.2.3.4");
  CHECK(r->peer == "12D3KooWTarget");
  auto q = parse_multiaddr("/ip4/1.2.3.4/tcp/1/ipfs/QmNnooDu7bfjPFoTZYxMNLWUQJyrVwtbZg5gBMjTezGAJN");
  REQUIRE(q);
  CHECK(q->peer == "QmNnooDu7bfjPFoTZYxMNLWUQJyrVwtbZg5gBMjTezGAJN");
}

TEST_CASE("malformed multiaddrs are refused naming the component") {
  CHECK(error_of("") == "multiaddr invalid argument: empty multiaddr");
  CHECK(error_of("ip4/1.2.3.4") == "multiaddr:ip4/1.2.3.4 invalid argument: a multiaddr starts with '/'");
  CHECK(error_of("/ip4/1.2.3") == "multiaddr:/ip4/1.2.3 invalid argument: not an IPv4 address (four decimal numbers 0-255)");
  CHECK(error_of("/ip4/1.2.3.256") == "multiaddr:/ip4/1.2.3.256 invalid argument: not an IPv4 address (four decimal numbers 0-255)");
  CHECK(error_of("/ip4/01.2.3.4").find("not an IPv4 address") != std::string::npos);
  CHECK(error_of("/ip6/1::2::3").find("not an IPv6 address") != std::string::npos);
  CHECK(error_of("/ip6/12345::1").find("not an IPv6 address") != std::string::npos);
  CHECK(error_of("/ip6/1:2:3:4:5:6:7:8:9").find("not an IPv6 address") != std::string::npos);
  CHECK(error_of("/ip6/1:2:3:4:5:6:7").find("not an IPv6 address") != std::string::npos);
  CHECK(error_of("/ip4/1.2.3.4/tcp/65536") == "multiaddr:/tcp/65536 invalid argument: not a port number (0-65535)");
  CHECK(error_of("/ip4/1.2.3.4/tcp") == "multiaddr:tcp invalid argument: missing value");
  CHECK(error_of("/ip4/1.2.3.4/tcpp/1") == "multiaddr:tcpp invalid argument: unknown multiaddr protocol");
  CHECK(error_of("/ip4/1.2.3.4/p2p/not-a-peer").find("not a peer id") != std::string::npos);
  CHECK(error_of("/ip4/1.2.3.4/ipcidr/33").find("prefix length") != std::string::npos);
  CHECK(error_of("/tcp/1/ipcidr/3").find("ipcidr must follow") != std::string::npos);
  CHECK(error_of("//ip4/1.2.3.4").find("unknown multiaddr protocol") != std::string::npos);
}

TEST_CASE("IPv4-mapped IPv6 addresses unmap to IPv4; prefixes mask and print") {
  auto r = parse_multiaddr("/ip6/::ffff:203.0.113.9");
  REQUIRE(r);
  CHECK(r->ip->v6);
  CHECK(r->ip->unmapped().str() == "203.0.113.9");
  CHECK_FALSE(r->ip->unmapped().v6);
  rcmgr::ip_prefix p{r->ip->unmapped().masked(24), 24};
  CHECK(p.str() == "203.0.113.0/24");
  auto v6 = parse_multiaddr("/ip6/2001:db8:aaaa:bbbb::1");
  REQUIRE(v6);
  CHECK(rcmgr::ip_prefix{v6->ip->masked(56), 56}.str() == "2001:db8:aaaa:bb00::/56");
  CHECK(rcmgr::ip_prefix{v6->ip->masked(48), 48}.str() == "2001:db8:aaaa::/48");
  CHECK(parse_multiaddr("/ip4/127.0.0.1")->ip->is_loopback());
  CHECK(parse_multiaddr("/ip6/::1")->ip->is_loopback());
  CHECK_FALSE(parse_multiaddr("/ip6/::2")->ip->is_loopback());
}

TEST_CASE("allowlist entries: address, optional ipcidr, optional peer") {
  auto a = rcmgr::parse_allowlist_entry("/ip4/1.2.3.4");
  REQUIRE(a);
  CHECK(a->network.str() == "1.2.3.4/32");
  CHECK(a->peer.str().empty());
  auto b = rcmgr::parse_allowlist_entry("/ip4/1.2.3.77/ipcidr/24/p2p/12D3KooWPeer");
  REQUIRE(b);
  CHECK(b->network.str() == "1.2.3.0/24");
  CHECK(b->peer.str() == "12D3KooWPeer");
  CHECK(b->str() == "/ip4/1.2.3.0/ipcidr/24/p2p/12D3KooWPeer");
  auto c = rcmgr::parse_allowlist_entry("/ip6/1:2:3::/ipcidr/58");
  REQUIRE(c);
  CHECK(c->network.str() == "1:2:3::/58");
  CHECK_FALSE(rcmgr::parse_allowlist_entry("/dns4/example.com"));
  CHECK_FALSE(rcmgr::parse_allowlist_entry("/ip4/1.2.3.4/ipcidr/40"));
}

TEST_CASE("the IPv4 fast path reads exactly what the general parser reads") {
  // "/ip4/<quad>" is read eight bytes at a time; anything it does not accept goes to the general
  // parser, which must then agree. Generated texts: valid quads and near misses (leading zeros,
  // octets over 255, missing or extra dots, stray bytes, short and long texts).
  std::uint64_t state = 0x9e3779b97f4a7c15ull;
  auto next = [&] {
    state += 0x9e3779b97f4a7c15ull;
    std::uint64_t z = state;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  };
  const char alphabet[] = {'0', '1', '2', '5', '9', '.', '.', '/', 'a', ':', '\0', char(0xff), '3', '4'};
  int valid = 0, refused = 0;
  for (int it = 0; it < 200000; ++it) {
    std::string t;
    if (next() % 2 != 0) {
      for (int k = 0; k < 4; ++k) {
        if (k != 0) t += next() % 40 != 0 ? '.' : alphabet[next() % sizeof alphabet];
        if (next() % 12 == 0) t += '0';
        t += std::to_string(next() % 300);
      }
      if (next() % 3 == 0) t += "/tcp/4001";
      else if (next() % 6 == 0) t += alphabet[next() % sizeof alphabet];
    } else {
      const std::size_t len = next() % 24;
      for (std::size_t k = 0; k < len; ++k) t += alphabet[next() % sizeof alphabet];
    }
    // the two ways of classifying bytes agree (only one of them is used on a given machine)
    unsigned char window[16] = {};
    for (std::size_t k = 0; k < t.size() && k < 16; ++k) window[k] = static_cast<unsigned char>(t[k]);
    if (it % 4 == 0)
      for (auto& b : window) b = static_cast<unsigned char>(next());  // any byte at all
    unsigned dg1 = 0, dt1 = 0, dg2 = 0, dt2 = 0;
    rcmgr::detail::ip4_classes(window, dg1, dt1);
    rcmgr::detail::ip4_classes_portable(window, dg2, dt2);
    REQUIRE(dg1 == dg2);
    REQUIRE(dt1 == dt2);
    std::uint32_t fast = 0, general = 0;
    const std::size_t got = rcmgr::detail::fast_ip4(t.data(), t.size(), fast);
    const std::string_view quad = std::string_view(t).substr(0, t.find('/'));
    const bool ok = rcmgr::detail::parse_ip4_word(quad, general);
    INFO("text: " << t);
    REQUIRE(got == (ok ? quad.size() : 0u));
    if (ok) REQUIRE(fast == general);
    ok ? ++valid : ++refused;
    // and the whole parse gives the same address either way
    auto r = parse_multiaddr("/ip4/" + t);
    if (ok && (quad.size() == t.size() || t.substr(quad.size()) == "/tcp/4001")) {
      REQUIRE(r);
      REQUIRE(r->ip);
      std::uint32_t w = 0;
      for (int k = 0; k < 4; ++k) w = w << 8 | r->ip->bytes[std::size_t(k)];
      REQUIRE(w == general);
    } else if (!ok) {
      REQUIRE_FALSE(r);
    }
  }
  CHECK(valid > 20000);
  CHECK(refused > 20000);
}

TEST_CASE("the tcp/udp port after a fast-path IPv4 address is read as the general parser reads it") {
  // "/ip4/<quad>/tcp/<port>" skips the protocol table; the outcome must not change: a port is
  // 1-10 digits up to 65535 (leading zeros allowed, as the general parser allows them), and what
  // follows is checked as after any other component (an /ipcidr there is refused).
  std::uint64_t state = 0x2545f4914f6cdd1dull;
  auto next = [&] {
    state ^= state << 13, state ^= state >> 7, state ^= state << 17;
    return state;
  };
  const std::string_view tails[] = {"", "/", "/p2p/QmPeer1", "/quic-v1", "/ipcidr/8", "/bogus", "/tcp/1"};
  int accepted = 0, refused = 0;
  for (int it = 0; it < 50000; ++it) {
    std::string port;
    const std::size_t len = next() % 8;
    for (std::size_t k = 0; k < len; ++k) port += next() % 20 == 0 ? 'x' : char('0' + next() % 10);
    const std::string_view tail = tails[next() % std::size(tails)];
    const std::string proto = next() % 2 != 0 ? "tcp" : "udp";
    const std::string text = "/ip4/192.0.2." + std::to_string(next() % 256) + "/" + proto + "/" + port + std::string(tail);
    std::uint32_t value = 0;
    const bool port_ok = rcmgr::detail::parse_dec(port, 65535, value);
    const bool tail_ok = tail != "/ipcidr/8" && tail != "/bogus";
    auto r = parse_multiaddr(text);
    INFO("text: " << text);
    REQUIRE(bool(r) == (port_ok && tail_ok));
    if (r) {
      REQUIRE(r->ip);
      CHECK(r->ip->bytes[0] == 192);
      CHECK(r->peer == (tail == "/p2p/QmPeer1" ? "QmPeer1" : ""));
      ++accepted;
    } else {
      // the message names the component at fault
      const std::string at = std::string(r.error().scope.key());
      CHECK((port_ok ? at.find(std::string(tail.substr(1, 4))) != std::string::npos : at.find(proto) != std::string::npos));
      ++refused;
    }
  }
  CHECK(accepted > 5000);
  CHECK(refused > 5000);
}
