// Gating under hostile or unusual input: allowlist entries written as IPv4-mapped IPv6 networks,
// hand-built prefixes whose length is outside the address family.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "hardening/alloc_hooks.hpp"  // this binary's operator new can be made to fail
#include "rcmgr/allowlist.hpp"
#include "rcmgr/gating.hpp"
#include "rcmgr/libp2p/gated_resource_manager.hpp"
#include "rcmgr/multiaddr.hpp"

using rcmgr::direction;
namespace lp = rcmgr::libp2p;

namespace {
rcmgr::ip_address ip(const char* ma) {
  auto r = rcmgr::parse_multiaddr(ma);
  REQUIRE(r);
  REQUIRE(r->ip);
  return *r->ip;
}
}  // namespace

TEST_CASE("an allowlist entry written as an IPv4-mapped network allows the IPv4 addresses it maps, as in go") {
  // go's net.IPNet.Contains treats ::ffff:a.b.c.d/96+n as a.b.c.d/n; gating matches unmapped
  // addresses, so the mapped form must become the IPv4 network or it would match nothing.
  auto e = rcmgr::parse_allowlist_entry("/ip6/::ffff:203.0.113.0/ipcidr/120");
  REQUIRE(e);
  CHECK(e->str() == "/ip4/203.0.113.0/ipcidr/24");
  CHECK(rcmgr::parse_allowlist_entry("/ip6/::ffff:203.0.113.7")->str() == "/ip4/203.0.113.7");
  // shorter than /96 it is an IPv6 network (no IPv4 address is in it, in go either)
  CHECK(rcmgr::parse_allowlist_entry("/ip6/::ffff:0:0/ipcidr/80")->str() == "/ip6/::/ipcidr/80");

  rcmgr::allowlist al;
  REQUIRE(al.add("/ip6/::ffff:203.0.113.0/ipcidr/120"));
  CHECK(al.allowed(ip("/ip4/203.0.113.9")));
  CHECK(al.allowed(ip("/ip6/::ffff:203.0.113.9")));  // a mapped address asked directly
  CHECK_FALSE(al.allowed(ip("/ip4/203.0.114.9")));
  REQUIRE(al.add("/ip4/198.51.100.1/p2p/12D3KooWBoot"));
  CHECK(al.allowed(ip("/ip6/::ffff:198.51.100.1"), "12D3KooWBoot"));
  // the IPv4 form and the mapped form are the same entry
  CHECK(al.remove("/ip4/203.0.113.0/ipcidr/24").value());
  CHECK_FALSE(al.allowed(ip("/ip4/203.0.113.9")));
}

TEST_CASE("a connection from an address in a mapped allowlist network falls back to the allowlisted scopes") {
  auto limits = lp::default_gated_limits();
  rcmgr::limit tr = limits.get<lp::transient_scope>();
  tr.conns_inbound = 0;
  limits.set<lp::transient_scope>(tr);
  rcmgr::gating_options o;
  o.allowlist = {"/ip6/::ffff:203.0.113.0/ipcidr/120"};
  rcmgr::gated_resource_manager<> m(limits, o);
  REQUIRE(m.gating().ok());
  auto c = m.open_connection(direction::inbound, false, "/ip4/203.0.113.5/tcp/4001");
  REQUIRE(c);
  CHECK(c->in_alternative());
  auto d = m.open_connection(direction::inbound, false, "/ip4/192.0.2.5/tcp/4001");
  REQUIRE_FALSE(d);
}

TEST_CASE("a prefix length outside the address family is clamped, never read past the address") {
  // Built by hand (gating_options is plain data); the ASan/UBSan build checks the reads and shifts.
  rcmgr::ip_prefix neg{ip("/ip4/10.0.0.0"), -1};
  CHECK(neg.contains(ip("/ip4/192.0.2.1")));  // as /0
  CHECK_FALSE(neg.contains(ip("/ip6/::1")));
  CHECK(neg.str() == "10.0.0.0/0");
  rcmgr::ip_prefix big{ip("/ip6/2001:db8::1"), 1000};
  CHECK(big.contains(ip("/ip6/2001:db8::1")));  // as /128
  CHECK_FALSE(big.contains(ip("/ip6/2001:db8::2")));
  CHECK(big.str() == "2001:db8::1/128");
  rcmgr::ip_prefix wide{ip("/ip4/10.1.2.3"), 64};
  CHECK(wide.contains(ip("/ip4/10.1.2.3")));  // as /32
  CHECK_FALSE(wide.contains(ip("/ip4/10.1.2.4")));

  rcmgr::gating_options o;
  o.network_conns = {{{ip("/ip6/2001:db8::1"), 1000}, 1}, {{ip("/ip4/10.0.0.0"), -8}, 2}};
  rcmgr::gate<> g(o);
  rcmgr::gate_ticket a, b, c;
  REQUIRE(g.admit(ip("/ip6/2001:db8::1"), direction::inbound, a));
  CHECK_FALSE(g.admit(ip("/ip6/2001:db8::1"), direction::inbound, b));
  REQUIRE(g.admit(ip("/ip4/192.0.2.1"), direction::inbound, b));
  REQUIRE(g.admit(ip("/ip4/198.51.100.1"), direction::inbound, c));
  rcmgr::gate_ticket d;
  CHECK_FALSE(g.admit(ip("/ip4/203.0.113.1"), direction::inbound, d));
  g.release(a);
  g.release(b);
  g.release(c);
  CHECK(g.conns_in({ip("/ip6/2001:db8::1"), 1000}) == 0);
}

namespace {
struct fake_clock {
  std::int64_t ns = 0;
  static std::int64_t now(void* u) noexcept { return static_cast<fake_clock*>(u)->ns; }
};
constexpr std::int64_t second = 1'000'000'000;
}  // namespace

TEST_CASE("a clock that goes backwards does not freeze the rate limits; one that jumps years ahead refills to the burst only") {
  fake_clock clk;
  clk.ns = 1000 * second;
  rcmgr::gating_options o;
  o.ipv4_subnet_conns.clear();
  o.ipv4_subnet_rates = {{32, {1.0, 2}}};  // 1 per second, burst 2
  o.now_ns = &fake_clock::now;
  o.clock_user = &clk;
  rcmgr::gate<> g(o);
  const auto a = ip("/ip4/192.0.2.1");
  rcmgr::gate_ticket t;
  REQUIRE(g.admit(a, direction::inbound, t));
  REQUIRE(g.admit(a, direction::inbound, t));
  CHECK(g.admit(a, direction::inbound, t).error().code == rcmgr::errc::rate_limited);
  clk.ns -= 3600 * second;  // an hour back: nothing refills...
  CHECK_FALSE(g.admit(a, direction::inbound, t));
  clk.ns += second;  // ...but a second after it, a token is back (not an hour later)
  CHECK(g.admit(a, direction::inbound, t));
  CHECK_FALSE(g.admit(a, direction::inbound, t));
  clk.ns += 20 * 365 * 24 * 3600 * second;  // twenty years ahead: the burst, no more
  CHECK(g.admit(a, direction::inbound, t));
  CHECK(g.admit(a, direction::inbound, t));
  CHECK_FALSE(g.admit(a, direction::inbound, t));
}

TEST_CASE("ipcidr applies only to the leading address") {
  // go's allowlist would read this as ::/24 (the last address); rcmgr's endpoint IP is the first
  // one: the entry is ambiguous, so it is refused rather than read as 1.2.3.0/24.
  auto r = rcmgr::parse_allowlist_entry("/ip4/1.2.3.4/ip6/::1/ipcidr/24");
  REQUIRE_FALSE(r);
  CHECK(r.error().code == rcmgr::errc::invalid_argument);
  CHECK_FALSE(rcmgr::parse_multiaddr("/ip4/1.2.3.4/ip4/5.6.7.8/ipcidr/8"));
  CHECK(rcmgr::parse_allowlist_entry("/ip4/1.2.3.4/ipcidr/24")->str() == "/ip4/1.2.3.0/ipcidr/24");
  CHECK(rcmgr::parse_multiaddr("/ip6zone/eth0/ip6/fe80::1/ipcidr/64")->cidr == 64);
  CHECK_FALSE(rcmgr::parse_multiaddr("/ip6zone/eth0/ip6/fe80::1/tcp/1/ipcidr/64"));
}

TEST_CASE("a long allowlist in the options is published as one snapshot") {
  // One snapshot per entry kept every intermediate copy: 4096 entries with peers cost ~800 MiB.
  rcmgr::gating_options o;
  for (int i = 0; i < 4096; ++i)
    o.allowlist.push_back("/ip4/10." + std::to_string(i / 256) + "." + std::to_string(i % 256) + ".1/p2p/12D3KooWPeer" +
                          std::to_string(i));
  o.allowlist.push_back("/ip4/300.0.0.1");  // a bad entry is still reported, the others kept
  o.allowlist.push_back("/ip4/192.0.2.0/ipcidr/24");
  rcmgr::gate<> g(o);
  CHECK_FALSE(g.ok());
  CHECK(g.allowlist().version() == 1);
  CHECK(g.allowlist().list().size() == 4097);
  CHECK(g.allowlist().allowed(ip("/ip4/10.15.255.1"), "12D3KooWPeer4095"));
  CHECK_FALSE(g.allowlist().allowed(ip("/ip4/10.15.255.1"), "12D3KooWPeer4094"));
  CHECK(g.allowlist().allowed(ip("/ip4/192.0.2.9")));
}

TEST_CASE("allocation failures while gating give out_of_memory, never terminate, and leave every count at zero") {
  // After an allowlist change the gate rebuilds its network list on the next admit(), which is
  // noexcept: an allocation failure there used to end the process.
  const auto sub = rcmgr::parse_allowlist_entry("/ip4/203.0.113.0/ipcidr/24")->network;
  bool injected = true;
  int failures = 0;
  for (std::uint64_t k = 1; injected && k < 1000; ++k) {
    rcmgr::gating_options o;
    o.ipv4_subnet_rates.clear();
    rcmgr::gated_resource_manager<> m(lp::default_gated_limits(), o);
    alloc::fail_after(k);
    try {
      (void)m.allowlist().add("/ip4/203.0.113.0/ipcidr/24");
    } catch (const std::bad_alloc&) {
    }
    {
      auto c = m.open_connection(direction::inbound, false, "/ip4/203.0.113.1/tcp/1");
      if (!c) {
        CHECK(c.error().code == rcmgr::errc::out_of_memory);
        ++failures;
      } else if (auto p = c->set_peer(rcmgr::peer_id("12D3KooWP")); !p) {
        CHECK(p.error().code == rcmgr::errc::out_of_memory);
        ++failures;
      }
    }
    injected = alloc::disarm();
    INFO("allocation " << k << " failed");
    CHECK(m.gating().conns_in(sub) == 0);
    CHECK(m.gating().conns_in({sub.addr, 32}) == 0);
    CHECK(m.stat<lp::system_scope>().conns() == 0);
    CHECK(m.stat<lp::transient_scope>().conns() == 0);
    // and the gate still works once memory is back
    auto again = m.open_connection(direction::inbound, false, "/ip4/203.0.113.1/tcp/1");
    REQUIRE(again);
  }
  CHECK_FALSE(injected);  // every allocation of the sequence was made to fail once
  CHECK(failures > 0);
}
