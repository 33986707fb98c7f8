// The gated libp2p manager: go-libp2p's TestResourceManagerWithAllowlist,
// TestAllowlistAndConnLimiterPlayNice, TestResourceManagerRateLimiting and
// TestVerifySourceAddressRateLimiter, and what rcmgr promises beyond them: a connection's
// subnet count is released whichever way it ends, nothing is charged for refused endpoints.
#include <catch2/catch.hpp>

#include <atomic>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "rcmgr/libp2p/gated_resource_manager.hpp"

using rcmgr::direction;
using rcmgr::gating_options;
using rcmgr::limit;
using rcmgr::peer_id;
namespace lp = rcmgr::libp2p;

namespace {
using manager = rcmgr::gated_resource_manager<>;

std::string text(const rcmgr::error& e) {
  std::ostringstream os;
  os << e;
  return os.str();
}
limit conns(std::int64_t in, std::int64_t out, std::int64_t total) {
  limit l;
  l.conns_inbound = in;
  l.conns_outbound = out;
  l.conns = total;
  return l;
}
rcmgr::ip_prefix prefix(const char* ma) {
  auto e = rcmgr::parse_allowlist_entry(ma);
  REQUIRE(e);
  return e->network;
}
struct fake_clock {
  std::int64_t ns = 1'000'000'000;
  static std::int64_t now(void* u) noexcept { return static_cast<fake_clock*>(u)->ns; }
};
}  // namespace

TEST_CASE("allowlisted endpoints fall back to the allowlisted scopes (TestResourceManagerWithAllowlist)") {
  auto base = lp::default_limits();
  limit sys = base.get<lp::system_scope>(), tr = base.get<lp::transient_scope>();
  sys.conns = 0;
  tr.conns = 0;
  base.set<lp::system_scope>(sys);
  base.set<lp::transient_scope>(tr);
  auto limits = lp::make_gated_limits(base, conns(2, 1, 2), conns(1, 1, 1));
  gating_options o;
  o.allowlist = {"/ip4/1.2.3.4", "/ip4/4.3.2.1/p2p/12D3KooWPeerA"};
  manager m(limits, o);
  REQUIRE(m.gating().ok());

  // not allowlisted: the regular scopes refuse
  auto refused = m.open_connection(direction::inbound, true, "/ip4/1.2.3.5");
  REQUIRE_FALSE(refused);
  CHECK(refused.error().code == rcmgr::errc::limit_exceeded);

  // allowlisted address: in, through the allowlisted scopes; any peer may follow
  auto c1 = m.open_connection(direction::inbound, true, "/ip4/1.2.3.4");
  REQUIRE(c1);
  CHECK(c1->in_alternative());
  CHECK(m.stat<lp::allowlisted_transient_scope>().conns_inbound == 1);
  CHECK(m.stat<lp::allowlisted_system_scope>().conns_inbound == 1);
  CHECK(m.stat<lp::transient_scope>().conns_inbound == 0);
  REQUIRE(c1->set_peer(peer_id("12D3KooWSomebody")));
  CHECK(c1->in_alternative());
  CHECK(m.stat<lp::allowlisted_transient_scope>().conns_inbound == 0);
  CHECK(m.stat<lp::allowlisted_system_scope>().conns_inbound == 1);
  CHECK(m.stat<lp::system_scope>().conns_inbound == 0);  // charged to its peer and allowlisted-system only

  // allowlisted for one peer only, and another peer shows up: moved to the regular scopes, full
  auto c2 = m.open_connection(direction::inbound, true, "/ip4/4.3.2.1");
  REQUIRE(c2);
  auto wrong = c2->set_peer(peer_id("12D3KooWSomebodyElse"));
  REQUIRE_FALSE(wrong);
  CHECK(wrong.error().code == rcmgr::errc::limit_exceeded);
  CHECK(c2->in_alternative());  // refused moves leave it where it was (go leaves it nowhere)
  c2->done();

  // the allowlisted peer: stays allowlisted
  auto c3 = m.open_connection(direction::inbound, true, "/ip4/4.3.2.1");
  REQUIRE(c3);
  REQUIRE(c3->set_peer(peer_id("12D3KooWPeerA")));
  CHECK(c3->in_alternative());
  CHECK(m.stat<lp::allowlisted_system_scope>().conns_inbound == 2);

  // allowlisted-system holds two inbound connections (c1 and c3), allowlisted-transient one
  auto c4 = m.open_connection(direction::inbound, true, "/ip4/1.2.3.4");
  REQUIRE_FALSE(c4);
  CHECK(c4.error().scope.kind == "allowlisted-system");
  c1->done();
  auto c5 = m.open_connection(direction::inbound, true, "/ip4/1.2.3.4");
  REQUIRE(c5);
  auto c6 = m.open_connection(direction::inbound, true, "/ip4/1.2.3.4");
  REQUIRE_FALSE(c6);
  CHECK(c6.error().scope.kind == "allowlisted-transient");
}

TEST_CASE("a moved connection lands in transient and system when they have room") {
  auto limits = lp::default_gated_limits();
  limit tr = limits.get<lp::transient_scope>();
  tr.conns_inbound = 1;
  limits.set<lp::transient_scope>(tr);
  gating_options o;
  o.allowlist = {"/ip4/4.3.2.1/p2p/12D3KooWPeerA"};
  manager m(limits, o);
  auto filler = m.open_connection(direction::inbound, false, "/ip4/9.9.9.9");
  REQUIRE(filler);
  auto c = m.open_connection(direction::inbound, false, "/ip4/4.3.2.1");
  REQUIRE(c);
  CHECK(c->in_alternative());
  REQUIRE(c->reserve_memory(1000));
  filler->done();  // transient has room again
  REQUIRE(c->set_peer(peer_id("12D3KooWSomebodyElse")));
  CHECK_FALSE(c->in_alternative());
  CHECK(m.stat<lp::allowlisted_transient_scope>().memory == 0);
  CHECK(m.stat<lp::allowlisted_system_scope>().memory == 0);
  CHECK(m.stat<lp::allowlisted_system_scope>().conns_inbound == 0);
  CHECK(m.stat<lp::system_scope>().memory == 1000);
  CHECK(m.stat<lp::system_scope>().conns_inbound == 1);
  CHECK(m.stat<lp::transient_scope>().conns_inbound == 0);
  c->done();
  CHECK(m.stat<lp::system_scope>().memory == 0);
  CHECK(m.stat<lp::system_scope>().conns_inbound == 0);
}

TEST_CASE("allowlisted networks get a network prefix limit (TestAllowlistAndConnLimiterPlayNice)") {
  auto limits = lp::make_gated_limits(lp::default_limits(), conns(8, 8, 8), lp::default_limits().get<lp::transient_scope>());
  SECTION("IPv4") {
    gating_options o;
    o.allowlist = {"/ip4/1.2.3.0/ipcidr/24"};
    o.network_conns.clear();
    manager m(limits, o);
    auto l = m.gating().network_conn_limits();
    REQUIRE(l.size() == 1);
    CHECK(l[0].network == prefix("/ip4/1.2.3.0/ipcidr/24"));
    CHECK(l[0].conns == 8);
    // and it is used: 8 from one address of the network (not the /32 default... which is also 8),
    // then the 9th from another address of it is refused by the network's count
    std::vector<manager::connection> held;
    for (int i = 0; i < 8; ++i) {
      auto c = m.open_connection(direction::inbound, false, "/ip4/1.2.3." + std::to_string(i + 1));
      REQUIRE(c);
      held.push_back(std::move(*c));
    }
    auto ninth = m.open_connection(direction::inbound, false, "/ip4/1.2.3.100");
    REQUIRE_FALSE(ninth);
    CHECK(text(ninth.error()) == "subnet:1.2.3.0/24 refused 1 inbound connection: 8 inbound in use, inbound limit 8");
  }
  SECTION("IPv6") {
    gating_options o;
    o.allowlist = {"/ip6/1:2:3::/ipcidr/58"};
    o.network_conns.clear();
    manager m(limits, o);
    auto l = m.gating().network_conn_limits();
    REQUIRE(l.size() == 1);
    CHECK(l[0].network.str() == "1:2:3::/58");
    CHECK(l[0].conns == 8);
  }
  SECTION("does not override an explicit limit") {
    gating_options o;
    o.allowlist = {"/ip4/1.2.3.0/ipcidr/24"};
    o.network_conns = {{prefix("/ip4/1.2.3.0/ipcidr/24"), 1}};
    manager m(limits, o);
    auto l = m.gating().network_conn_limits();
    REQUIRE(l.size() == 1);
    CHECK(l[0].conns == 1);
  }
  SECTION("entries added at run time get their network limit too") {
    gating_options o;
    o.network_conns.clear();
    manager m(limits, o);
    CHECK(m.gating().network_conn_limits().empty());
    REQUIRE(m.allowlist().add("/ip4/5.6.7.0/ipcidr/24"));
    auto c = m.open_connection(direction::inbound, false, "/ip4/5.6.7.8");
    REQUIRE(c);
    CHECK(m.gating().conns_in(prefix("/ip4/5.6.7.0/ipcidr/24")) == 1);
    REQUIRE(m.gating().network_conn_limits().size() == 1);
  }
}

TEST_CASE("connection rate limits refuse with rate_limited (TestResourceManagerRateLimiting)") {
  auto limits = lp::default_gated_limits();
  gating_options o;
  o.ipv4_subnet_rates.clear();
  o.ipv6_subnet_rates.clear();
  o.network_rates.clear();
  o.global_rate = {0.00001, 2};
  manager m(limits, o);
  for (int i = 0; i < 2; ++i) {
    auto c = m.open_connection(direction::inbound, true, "/ip4/1.2.3.4");
    REQUIRE(c);
    c->done();
  }
  auto r = m.open_connection(direction::inbound, true, "/ip4/1.2.3.4");
  REQUIRE_FALSE(r);
  CHECK(r.error().code == rcmgr::errc::rate_limited);
  CHECK(text(r.error()).find("rate limit exceeded") != std::string::npos);
  CHECK(m.stat<lp::system_scope>().conns() == 0);
}

TEST_CASE("go's default rate: 16 connections from one address, then 1 per 5 s") {
  fake_clock c;
  gating_options o;
  o.now_ns = &fake_clock::now;
  o.clock_user = &c;
  manager m(lp::default_gated_limits(), o);
  for (int i = 0; i < 16; ++i) {
    auto h = m.open_connection(direction::inbound, false, "/ip4/198.51.100.1/tcp/4001");
    REQUIRE(h);
  }
  auto r = m.open_connection(direction::inbound, false, "/ip4/198.51.100.1/tcp/4001");
  REQUIRE_FALSE(r);
  CHECK(text(r.error()) == "rate:198.51.100.1/32 refused 1 inbound connection: rate limit exceeded (the subnet's connection bucket is empty, burst 16)");
  c.ns += 5'000'000'000;
  REQUIRE(m.open_connection(direction::inbound, false, "/ip4/198.51.100.1/tcp/4001"));
  CHECK_FALSE(m.open_connection(direction::inbound, false, "/ip4/198.51.100.1/tcp/4001"));
  // loopback is exempt
  for (int i = 0; i < 100; ++i) REQUIRE(m.open_connection(direction::inbound, false, "/ip4/127.0.0.1/tcp/1"));
}

TEST_CASE("verify_source_address through the manager (TestVerifySourceAddressRateLimiter)") {
  auto limits = lp::make_gated_limits(lp::default_limits(), conns(100, 100, 100), lp::default_limits().get<lp::transient_scope>());
  gating_options o;
  o.ipv4_subnet_conns = {{32, 2}};
  o.ipv6_subnet_conns.clear();
  manager m(limits, o);
  CHECK_FALSE(m.verify_source_address("/ip4/1.2.3.4/udp/1234/quic-v1"));
  CHECK(m.verify_source_address("/ip4/1.2.3.4/udp/1234/quic-v1"));
  CHECK_FALSE(m.verify_source_address("/ip4/1.2.3.5/udp/1234/quic-v1"));
  CHECK(m.verify_source_address("/ip4/1.2.3.5/udp/1234/quic-v1"));
  CHECK(m.verify_source_address("not a multiaddr"));
}

TEST_CASE("the subnet count is released however the connection ends") {
  gating_options o;
  o.ipv4_subnet_conns = {{24, 2}};
  o.ipv4_subnet_rates.clear();
  auto sub = prefix("/ip4/203.0.113.0/ipcidr/24");
  auto limits = lp::default_gated_limits();
  limit peer = limits.get<lp::peer_scope>();
  peer.conns = peer.conns_inbound = 1;
  limits.set<lp::peer_scope>(peer);
  manager m(limits, o);
  SECTION("done") {
    auto c = m.open_connection(direction::inbound, false, "/ip4/203.0.113.1/tcp/1");
    REQUIRE(c);
    CHECK(m.gating().conns_in(sub) == 1);
    c->done();
    CHECK(m.gating().conns_in(sub) == 0);
  }
  SECTION("destructor, with a span still open") {
    std::optional<rcmgr::result<manager::connection>> c(m.open_connection(direction::inbound, false, "/ip4/203.0.113.1/tcp/1"));
    REQUIRE(*c);
    auto span = (*c)->begin_span();
    REQUIRE(span);
    c.reset();
    CHECK(m.gating().conns_in(sub) == 0);
  }
  SECTION("after set_peer, and after a refused set_peer") {
    auto a = m.open_connection(direction::inbound, false, "/ip4/203.0.113.1/tcp/1");
    auto b = m.open_connection(direction::inbound, false, "/ip4/203.0.113.2/tcp/1");
    REQUIRE(a);
    REQUIRE(b);
    REQUIRE(a->set_peer(peer_id("12D3KooWP")));
    REQUIRE_FALSE(b->set_peer(peer_id("12D3KooWP")));  // the peer holds one connection
    CHECK(m.gating().conns_in(sub) == 2);
    auto third = m.open_connection(direction::inbound, false, "/ip4/203.0.113.3/tcp/1");
    REQUIRE_FALSE(third);
    CHECK(text(third.error()) == "subnet:203.0.113.0/24 refused 1 inbound connection: 2 inbound in use, inbound limit 2");
    a->done();
    b->done();
    CHECK(m.gating().conns_in(sub) == 0);
  }
  SECTION("an open refused by transient") {
    limit tr = limits.get<lp::transient_scope>();
    tr.conns_inbound = 0;
    REQUIRE(m.set_limit<lp::transient_scope>(tr));
    REQUIRE_FALSE(m.open_connection(direction::inbound, false, "/ip4/203.0.113.1/tcp/1"));
    CHECK(m.gating().conns_in(sub) == 0);
    CHECK(m.stat<lp::system_scope>().conns() == 0);
  }
  SECTION("a fallback to the allowlisted scopes escapes the subnet count, as in go") {
    limit tr = limits.get<lp::transient_scope>();
    tr.conns_inbound = 0;
    REQUIRE(m.set_limit<lp::transient_scope>(tr));
    REQUIRE(m.allowlist().add("/ip4/203.0.113.1/p2p/12D3KooWBoot"));
    auto c = m.open_connection(direction::inbound, false, "/ip4/203.0.113.1/tcp/1");
    REQUIRE(c);
    CHECK(c->in_alternative());
    CHECK(m.gating().conns_in(sub) == 0);
    c->done();
    CHECK(m.gating().conns_in(sub) == 0);
  }
}

TEST_CASE("bad endpoints are refused with nothing charged; endpoints without an IP are not gated") {
  manager m;
  auto r = m.open_connection(direction::inbound, true, "/ip4/300.1.2.3/tcp/1");
  REQUIRE_FALSE(r);
  CHECK(r.error().code == rcmgr::errc::invalid_argument);
  CHECK(text(r.error()) == "multiaddr:/ip4/300.1.2.3 invalid argument: not an IPv4 address (four decimal numbers 0-255)");
  CHECK(m.stat<lp::system_scope>().conns() == 0);
  CHECK(m.stat<lp::system_scope>().fd == 0);
  CHECK(m.gating().tracked_subnets() == 0);
  for (int i = 0; i < 50; ++i) REQUIRE(m.open_connection(direction::inbound, false, "/dns4/example.com/tcp/443/wss"));
  REQUIRE(m.open_connection(direction::outbound, false, ""));
}

TEST_CASE("allowlist entries given in the options are checked") {
  gating_options o;
  o.allowlist = {"/ip4/1.2.3.4", "/ip4/1.2.3.4/ipcidr/64"};
  manager m(lp::default_gated_limits(), o);
  CHECK_FALSE(m.gating().ok());
  CHECK(m.gating().first_error().code == rcmgr::errc::invalid_argument);
  CHECK(m.allowlist().list() == std::vector<std::string>{"/ip4/1.2.3.4"});
}

TEST_CASE("threads opening and ending connections from shared subnets leave every count at zero") {
  gating_options o;
  o.ipv4_subnet_rates.clear();  // counts only: rates would make the outcome depend on timing
  o.ipv6_subnet_rates.clear();
  o.ipv4_subnet_conns = {{32, 2}, {24, 5}};
  rcmgr::gated_resource_manager<rcmgr::thread_safe> m(lp::default_gated_limits(), o);
  std::atomic<bool> over{false};
  const auto net24 = prefix("/ip4/198.51.100.0/ipcidr/24");  // outside the threads: prefix() asserts
  auto worker = [&](int id) {
    std::vector<rcmgr::gated_resource_manager<rcmgr::thread_safe>::connection> held;
    for (int i = 0; i < 5000; ++i) {
      const std::string ep = "/ip4/198.51.100." + std::to_string((i * 7 + id) % 6 + 1) + "/tcp/1";
      if (auto c = m.open_connection(i % 2 ? direction::inbound : direction::outbound, false, ep)) held.push_back(std::move(*c));
      if (m.gating().conns_in(net24) > 5) over = true;
      if (held.size() > 3 || (i % 5 == 0 && !held.empty())) held.erase(held.begin());
      if (id == 0 && i % 500 == 0) {  // the allowlist changes under the readers
        // (no Catch2 assertion inside a thread: record failures instead)
        if (!m.allowlist().add("/ip4/203.0.113.0/ipcidr/24") || !*m.allowlist().remove("/ip4/203.0.113.0/ipcidr/24")) over = true;
      }
    }
  };
  std::thread a(worker, 0), b(worker, 1);
  a.join();
  b.join();
  CHECK_FALSE(over);
  CHECK(m.gating().conns_in(prefix("/ip4/198.51.100.0/ipcidr/24")) == 0);
  for (int h = 1; h <= 6; ++h) CHECK(m.gating().conns_in(prefix(("/ip4/198.51.100." + std::to_string(h)).c_str())) == 0);
  CHECK(m.stat<lp::system_scope>().conns() == 0);
}

TEST_CASE("threads looking up the allowlist while it changes: replaced snapshots are freed once no lookup runs") {
  rcmgr::allowlist al;
  REQUIRE(al.add("/ip4/192.0.2.0/ipcidr/24"));
  REQUIRE(al.add("/ip4/198.51.100.7"));
  CHECK(al.retained() == 0);  // nobody was looking: each change freed the snapshot it replaced
  const auto inside = *rcmgr::parse_multiaddr("/ip4/192.0.2.9")->ip;
  const auto peer_addr = *rcmgr::parse_multiaddr("/ip4/203.0.113.5")->ip;
  std::atomic<bool> wrong{false};
  std::atomic<int> readers_done{0};
  auto reader = [&] {
    for (int i = 0; i < 20000; ++i) {
      // the /24 is never removed: every lookup must find it, whatever snapshot it reads
      if (!al.allowed(inside)) wrong = true;
      (void)al.allowed(peer_addr, "12D3KooWPeerA");
    }
    ++readers_done;
  };
  std::thread r1(reader), r2(reader);
  for (int i = 0; i < 2000 && readers_done.load() < 2; ++i) {
    if (!al.add("/ip4/203.0.113.0/ipcidr/24/p2p/12D3KooWPeerA")) wrong = true;
    auto removed = al.remove("/ip4/203.0.113.0/ipcidr/24/p2p/12D3KooWPeerA");
    if (!removed || !*removed) wrong = true;
  }
  r1.join();
  r2.join();
  CHECK_FALSE(wrong);
  // with no lookup running, the next change frees everything replaced before it
  REQUIRE(al.add("/ip4/203.0.113.0/ipcidr/24"));
  CHECK(al.retained() == 0);
  CHECK(al.allowed(*rcmgr::parse_multiaddr("/ip4/203.0.113.200")->ip));
  CHECK(al.list().size() == 3);
}
