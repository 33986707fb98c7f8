// The gate on its own: per-subnet connection limits (go-libp2p's conn_limiter_test.go), token
// buckets (x/rate's limiter_test.go), the allowlist (allowlist_test.go) and source address
// verification, with an injected clock so that nothing depends on timing.
#include <catch2/catch.hpp>

#include <cstdint>
#include <mutex>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "rcmgr/allowlist.hpp"
#include "rcmgr/gating.hpp"
#include "rcmgr/multiaddr.hpp"

using rcmgr::gate_ticket;
using rcmgr::gating_options;
using rcmgr::ip_address;
using rcmgr::ip_prefix;

namespace {
struct fake_clock {
  std::int64_t ns = 1'000'000'000;
  static std::int64_t now(void* u) noexcept { return static_cast<fake_clock*>(u)->ns; }
  void advance_ms(std::int64_t ms) { ns += ms * 1'000'000; }
};

ip_address ip(std::string_view text) {
  auto r = rcmgr::parse_multiaddr(std::string(text[0] == '/' ? "" : (text.find(':') != std::string_view::npos ? "/ip6/" : "/ip4/")) +
                                  std::string(text));
  REQUIRE(r);
  REQUIRE(r->ip);
  return *r->ip;
}
ip_prefix prefix(std::string_view addr, int len) { return ip_prefix{ip(addr).masked(len), len}; }

/// Options with no limit of any kind, and the fake clock.
gating_options nothing(fake_clock& c) {
  gating_options o;
  o.ipv4_subnet_conns.clear();
  o.ipv6_subnet_conns.clear();
  o.network_conns.clear();
  o.ipv4_subnet_rates.clear();
  o.ipv6_subnet_rates.clear();
  o.network_rates.clear();
  o.now_ns = &fake_clock::now;
  o.clock_user = &c;
  return o;
}
gating_options conns_only(fake_clock& c) {
  gating_options o;
  o.ipv4_subnet_rates.clear();
  o.ipv6_subnet_rates.clear();
  o.now_ns = &fake_clock::now;
  o.clock_user = &c;
  return o;
}

template <class G>
bool add(G& g, const ip_address& a, std::vector<gate_ticket>* keep = nullptr) {
  gate_ticket t;
  auto r = g.admit(a, rcmgr::direction::inbound, t);
  if (r && keep != nullptr) keep->push_back(t);
  return bool(r);
}
std::string text(const rcmgr::error& e) {
  std::ostringstream os;
  os << e;
  return os.str();
}
/// Successive addresses of a network, wrapping around (go's subnetAddrs).
struct addr_cycle {
  ip_prefix net;
  ip_address next;
  explicit addr_cycle(ip_prefix p, ip_address start) : net(p), next(start) {}
  ip_address operator()() {
    ip_address a = next;
    for (int i = 15; i >= 0; --i)
      if (++next.bytes[std::size_t(i)] != 0) break;
    if (!net.contains(next)) next = net.addr;
    if (!net.contains(a)) a = net.addr;
    return a;
  }
};
}  // namespace

// ---- conn_limiter_test.go ----------------------------------------------------------------------

TEST_CASE("per-subnet limits: IPv4 /32 (TestItLimits)") {
  fake_clock c;
  auto o = conns_only(c);
  o.ipv4_subnet_conns = {{32, 1}};
  rcmgr::gate<std::mutex> g(o);
  std::vector<gate_ticket> held;
  CHECK(add(g, ip("1.2.3.4"), &held));
  CHECK_FALSE(add(g, ip("1.2.3.4")));
  CHECK(add(g, ip("1.2.3.5"), &held));
  // removing the connection lets a new one in
  g.release(held[0]);
  CHECK(add(g, ip("1.2.3.4"), &held));
}

TEST_CASE("per-subnet limits: IPv6 /56 shares the count of the whole subnet") {
  fake_clock c;
  auto o = conns_only(c);
  o.ipv6_subnet_conns[0].conns = 1;
  rcmgr::gate<std::mutex> g(o);
  CHECK(add(g, ip("1:2:3:4::1")));
  CHECK_FALSE(add(g, ip("1:2:3:4::1")));
  CHECK_FALSE(add(g, ip("1:2:3:4::2")));  // same /56
  CHECK(add(g, ip("2:2:3:4::2")));
}

TEST_CASE("per-subnet limits: go's defaults, 8 per IPv6 /56 and 64 per /48") {
  fake_clock c;
  rcmgr::gate<std::mutex> g(conns_only(c));
  ip_address a = ip("ffef::1");
  for (int i = 0; i < 8; ++i) {
    a.bytes[15] = std::uint8_t(i + 1);
    CHECK(add(g, a));
  }
  a.bytes[15] = 100;
  gate_ticket t;
  auto r = g.admit(a, rcmgr::direction::inbound, t);
  REQUIRE_FALSE(r);
  CHECK(r.error().code == rcmgr::errc::limit_exceeded);
  CHECK(text(r.error()) == "subnet:ffef::/56 refused 1 inbound connection: 8 inbound in use, inbound limit 8");
  CHECK(add(g, ip("ffef:2:3::1")));

  // 64 in one /48, spread over its /56s (8 each)
  rcmgr::gate<std::mutex> h(conns_only(c));
  ip_address b = ip("1:2::");
  for (int i = 0; i < 64; ++i) {
    b.bytes[6] = std::uint8_t(i / 8);  // the /56 subnet
    b.bytes[15] = std::uint8_t(i % 8 + 1);
    CHECK(add(h, b));
  }
  b.bytes[6] = 200;
  CHECK_FALSE(add(h, b));
  CHECK(h.conns_in(prefix("1:2::", 48)) == 64);
}

TEST_CASE("per-subnet limits: IPv4 defaults are 8 per address, loopback unlimited") {
  fake_clock c;
  rcmgr::gate<std::mutex> g(conns_only(c));
  for (int i = 0; i < 8; ++i) CHECK(add(g, ip("203.0.113.7")));
  gate_ticket t;
  auto r = g.admit(ip("203.0.113.7"), rcmgr::direction::outbound, t);
  REQUIRE_FALSE(r);
  CHECK(text(r.error()) == "subnet:203.0.113.7/32 refused 1 outbound connection: 8 outbound in use, outbound limit 8");
  CHECK(add(g, ip("203.0.113.8")));
  for (int i = 0; i < 1000; ++i) REQUIRE(add(g, ip("127.0.0.1")));
  for (int i = 0; i < 100; ++i) REQUIRE(add(g, ip("::1")));
  CHECK(g.conns_in(prefix("127.0.0.0", 8)) == 1000);
}

TEST_CASE("per-subnet limits: a /0 subnet limit with an explicit loopback network") {
  fake_clock c;
  auto o = conns_only(c);
  o.ipv4_subnet_conns = {{0, 1}};  // one connection for the whole IPv4 space
  rcmgr::gate<std::mutex> g(o);
  CHECK(add(g, ip("1.2.3.4")));
  CHECK_FALSE(add(g, ip("4.3.2.1")));
  CHECK(add(g, ip("127.0.0.1")));  // explicit limit for loopback
}

TEST_CASE("network prefix limits: the most specific one applies (TestSortedNetworkPrefixLimits)") {
  fake_clock c;
  auto o = conns_only(c);
  o.network_conns = {{prefix("1.2.0.0", 16), 100}, {prefix("1.2.3.0", 28), 2}, {prefix("1.2.3.4", 32), 1}};
  rcmgr::gate<std::mutex> g(o);
  auto l = g.network_conn_limits();
  REQUIRE(l.size() == 3);
  CHECK(l[0].network.str() == "1.2.3.4/32");
  CHECK(l[1].network.str() == "1.2.3.0/28");
  CHECK(l[2].network.str() == "1.2.0.0/16");
  CHECK(add(g, ip("1.2.3.4")));
  CHECK_FALSE(add(g, ip("1.2.3.4")));
  CHECK(add(g, ip("1.2.3.5")));
  CHECK(add(g, ip("1.2.3.6")));
  CHECK_FALSE(add(g, ip("1.2.3.7")));
  // a network prefix replaces the subnet limits: 9 from one address of the /16
  for (int i = 0; i < 9; ++i) CHECK(add(g, ip("1.2.200.1")));
}

TEST_CASE("per-subnet counts return to zero after any add/release sequence (FuzzConnLimiter)") {
  fake_clock c;
  rcmgr::gate<std::mutex> g(conns_only(c));
  std::mt19937_64 rng(7);
  std::vector<gate_ticket> held;
  for (int round = 0; round < 2000; ++round) {
    ip_address a;
    a.v6 = rng() & 1;
    const std::uint64_t x = rng();
    for (int i = 0; i < (a.v6 ? 16 : 4); ++i) a.bytes[std::size_t(i)] = std::uint8_t((x >> (i % 8 * 8)) & (i < 2 ? 0x3 : 0xff));
    add(g, a, &held);
    if (!held.empty() && rng() % 3 == 0) {
      g.release(held.back());
      held.pop_back();
    }
  }
  for (auto& t : held) g.release(t);
  for (const auto& t : held) {
    CHECK(g.conns_in(ip_prefix{t.ip.masked(t.ip.v6 ? 56 : 32), t.ip.v6 ? 56 : 32}) == 0);
    if (t.ip.v6) CHECK(g.conns_in(ip_prefix{t.ip.masked(48), 48}) == 0);
  }
  g.sweep();
  CHECK(g.tracked_subnets() == 0);
}

TEST_CASE("IPv4-mapped IPv6 addresses count as their IPv4 address") {
  fake_clock c;
  auto o = conns_only(c);
  o.ipv4_subnet_conns = {{32, 1}};
  rcmgr::gate<std::mutex> g(o);
  CHECK(add(g, ip("::ffff:198.51.100.1")));
  CHECK_FALSE(add(g, ip("198.51.100.1")));
  CHECK(add(g, ip("::ffff:198.51.100.2")));  // a different IPv4 address, not the same IPv6 /56
}

// ---- x/rate limiter_test.go ------------------------------------------------------------------

namespace {
template <class G>
void assert_limiter(G& g, const ip_address& a, int allowed) {
  for (int i = 0; i < allowed; ++i) REQUIRE(add(g, a));
  REQUIRE_FALSE(add(g, a));
}
}  // namespace

TEST_CASE("global bucket (TestLimiterGlobal)") {
  struct lim {
    double rps;
    std::int64_t burst;
  };
  for (lim l : {lim{0.0, 1}, lim{0.8, 1}, lim{10, 20}, lim{100, 200}, lim{1000, 2000}}) {
    fake_clock c;
    auto o = nothing(c);
    o.global_rate = {l.rps, l.burst};
    rcmgr::gate<std::mutex> g(o);
    const ip_address a = ip("1.1.1.1");
    if (l.rps == 0) {
      for (int i = 0; i < 1000; ++i) REQUIRE(add(g, a));  // 0 per second: no limit
      continue;
    }
    assert_limiter(g, a, int(l.burst));
    // go sleeps 100 ms (or one token's time) and expects that many tokens back
    std::int64_t ms = 100;
    int count = int(0.1 * l.rps);
    if (count < 1) ms = std::int64_t(1000 / l.rps) + 1, count = 1;
    c.advance_ms(ms);
    assert_limiter(g, a, count);
  }
}

TEST_CASE("network prefix buckets exempt their addresses (TestLimiterNetworkPrefix)") {
  fake_clock c;
  auto o = nothing(c);
  o.network_rates = {{prefix("127.0.0.0", 24), {}}};
  o.global_rate = {10, 10};
  rcmgr::gate<std::mutex> g(o);
  for (int i = 0; i < 110; ++i) REQUIRE(add(g, ip("127.0.0.1")));
  assert_limiter(g, ip("1.1.1.1"), 10);
  gate_ticket t;
  auto r = g.admit(ip("1.1.1.1"), rcmgr::direction::inbound, t);
  REQUIRE_FALSE(r);
  CHECK(r.error().code == rcmgr::errc::rate_limited);
  CHECK(text(r.error()) == "rate refused 1 inbound connection: rate limit exceeded (the global connection bucket is empty, burst 10)");
  for (int i = 0; i < 100; ++i) REQUIRE(add(g, ip("127.0.0.1")));
}

TEST_CASE("nested network buckets: every matching one takes a token (TestLimiterNetworkPrefixWidth)") {
  fake_clock c;
  auto o = nothing(c);
  o.network_rates = {{prefix("1.1.0.0", 16), {0.01, 20}}, {prefix("1.1.1.0", 24), {0.01, 10}}};
  rcmgr::gate<std::mutex> g(o);
  for (int i = 0; i < 40; ++i) add(g, ip("1.1.1.1"));
  CHECK_FALSE(add(g, ip("1.1.1.1")));
  for (int i = 0; i < 10; ++i) CHECK(add(g, ip("1.1.0.1")));
}

TEST_CASE("subnet buckets, most specific first (TestSubnetLimiter Simple)") {
  fake_clock c;
  auto o = nothing(c);
  o.ipv4_subnet_rates = {{16, {0.0001, 19}}, {24, {0.0001, 10}}};
  o.ipv6_subnet_rates = {{48, {0.0001, 17}}, {64, {0.0001, 10}}};
  rcmgr::gate<std::mutex> g(o);
  auto out = [&](bool expect, addr_cycle& next, int n) {
    for (int i = 0; i < n; ++i) REQUIRE(add(g, next()) == expect);
  };
  addr_cycle v4a(prefix("192.168.1.0", 24), ip("192.168.1.1")), v4b(prefix("192.168.2.0", 24), ip("192.168.2.1"));
  addr_cycle v6a(prefix("2001:0:0:1::", 64), ip("2001:0:0:1::")), v6b(prefix("2001:0:0:2::", 64), ip("2001:0:0:2::"));
  out(true, v4a, 10);
  out(false, v4a, 19);
  out(true, v4b, 9);
  out(false, v4b, 19);
  out(true, v6a, 10);
  out(false, v6a, 17);
  out(true, v6b, 7);
  out(false, v6b, 17);
}

TEST_CASE("subnet buckets at four prefix lengths (TestSubnetLimiter Complex)") {
  fake_clock c;
  auto o = nothing(c);
  o.ipv4_subnet_rates = {{32, {0.01, 10}}, {24, {0.01, 20}}, {16, {0.01, 30}}, {8, {0.01, 40}}};
  rcmgr::gate<std::mutex> g(o);
  std::vector<addr_cycle> nets{addr_cycle(prefix("192.168.1.1", 32), ip("192.168.1.1")),
                               addr_cycle(prefix("192.168.1.0", 24), ip("192.168.1.2")),
                               addr_cycle(prefix("192.168.0.0", 16), ip("192.168.2.1")),
                               addr_cycle(prefix("192.0.0.0", 8), ip("192.0.1.1"))};
  const int burst[] = {10, 20, 30, 40};
  for (std::size_t i = 0; i < nets.size(); ++i) {
    const int prev = i > 0 ? burst[i - 1] : 0;
    for (int k = 0; k < burst[i] - prev; ++k) REQUIRE(add(g, nets[i]()));
    for (int k = 0; k < burst[i]; ++k) REQUIRE_FALSE(add(g, nets[i]()));
  }
}

TEST_CASE("no subnet limits: everything passes (TestSubnetLimiter Zero)") {
  fake_clock c;
  rcmgr::gate<std::mutex> g(nothing(c));
  for (int i = 0; i < 10000; ++i) REQUIRE(add(g, ip("::2")));
}

TEST_CASE("a bucket is forgotten once it is full again (TestSubnetLimiterCleanup)") {
  struct tc {
    double rps;
    std::int64_t burst;
    std::int64_t ttl_ms;  // burst / rps: when a drained bucket is full again
  };
  for (tc t : {tc{1, 10, 10000}, tc{0.1, 2, 20000}, tc{1, 100, 100000}, tc{3, 6, 2000}}) {
    fake_clock c;
    auto o = nothing(c);
    o.ipv6_subnet_rates = {{64, {t.rps, t.burst}}};
    rcmgr::gate<std::mutex> g(o);
    const ip_address ip1 = ip("::1"), ip2 = ip("2001::");
    for (int i = 0; i < t.burst; ++i) REQUIRE(add(g, ip1));
    for (int i = 0; i < t.burst / 2; ++i) REQUIRE(add(g, ip2));
    CHECK(g.tracked_subnets() == 2);
    c.advance_ms(t.ttl_ms - 100);  // ip2 is full, ip1 not yet
    g.sweep();
    CHECK(g.tracked_subnets() == 1);
    c.advance_ms(200);  // ip1 full too
    g.sweep();
    CHECK(g.tracked_subnets() == 0);
    REQUIRE(add(g, ip2));
    CHECK(g.tracked_subnets() == 1);
  }
}

TEST_CASE("a drained bucket refills at its rate and no faster (TestTokenBucketFullAfter)") {
  for (auto [rps, burst, full_ms] : {std::tuple{1.0, 10, 10000}, std::tuple{0.01, 10, 1000000}, std::tuple{0.01, 1, 100000}}) {
    fake_clock c;
    auto o = nothing(c);
    o.ipv4_subnet_rates = {{32, {rps, burst}}};
    rcmgr::gate<std::mutex> g(o);
    const ip_address a = ip("9.9.9.9");
    for (int i = 0; i < burst; ++i) REQUIRE(add(g, a));
    c.advance_ms(full_ms - 10);
    g.sweep();
    CHECK(g.tracked_subnets() == 1);
    c.advance_ms(20);
    g.sweep();
    CHECK(g.tracked_subnets() == 0);
  }
}

TEST_CASE("cycling through addresses cannot grow the subnet table beyond its capacity") {
  fake_clock c;
  gating_options o;  // go's defaults
  o.now_ns = &fake_clock::now;
  o.clock_user = &c;
  o.max_tracked_subnets = 1024;
  rcmgr::gate<std::mutex> g(o);
  const std::size_t cap = g.subnet_capacity();
  CHECK(cap >= 1024);
  CHECK(cap < 4096);
  std::uint32_t x = 0x0b000000;  // 11.0.0.0 onwards, one connection attempt per address
  std::size_t admitted = 0;
  for (int i = 0; i < 100000; ++i, ++x) {
    ip_address a;
    for (int k = 0; k < 4; ++k) a.bytes[std::size_t(k)] = std::uint8_t(x >> (24 - 8 * k));
    gate_ticket t;
    if (g.admit(a, rcmgr::direction::inbound, t)) ++admitted;
    g.release(t);  // the connection ends at once: its bucket (15 of 16 tokens) stays behind
    REQUIRE(g.tracked_subnets() <= cap);
  }
  CHECK(admitted == 100000);  // idle entries made room; nobody was refused
  // once every bucket is full again, a sweep forgets them all
  c.advance_ms(1000 * 1000);
  g.sweep();
  CHECK(g.tracked_subnets() == 0);

  // IPv6 cycling through the 256 /56s of one /48: the /48 bucket holds them to its burst of 80
  rcmgr::gate<std::mutex> h(o);
  std::size_t v6_admitted = 0;
  ip_address b = ip("2001:db8:1::");
  for (int i = 0; i < 256; ++i) {
    b.bytes[6] = std::uint8_t(i);
    gate_ticket t;
    if (h.admit(b, rcmgr::direction::inbound, t)) ++v6_admitted;
    h.release(t);
  }
  CHECK(v6_admitted == 80);
}

TEST_CASE("a table full of live connections refuses new subnets, naming the cause") {
  fake_clock c;
  auto o = conns_only(c);
  o.max_tracked_subnets = 16;
  rcmgr::gate<std::mutex> g(o);
  std::vector<gate_ticket> held;
  int refused = 0;
  rcmgr::error last;
  for (int i = 0; i < 400; ++i) {
    ip_address a = ip("10.0.0.0");
    a.bytes[2] = std::uint8_t(i >> 8);
    a.bytes[3] = std::uint8_t(i);
    gate_ticket t;
    auto r = g.admit(a, rcmgr::direction::inbound, t);
    if (r) held.push_back(t);
    else ++refused, last = r.error();
  }
  CHECK(refused > 0);
  CHECK(held.size() == g.tracked_subnets());
  CHECK(last.code == rcmgr::errc::too_many_scopes);
  for (auto& t : held) g.release(t);
  g.sweep();
  CHECK(g.tracked_subnets() == 0);
}

TEST_CASE("connections counted before the subnet table moved its entries are released where they are now") {
  // A ticket remembers where its subnets' entries were; a sweep (or a full shard) rebuilds the
  // table and moves them. Releasing such a ticket must find the entries again, not decrement
  // whatever now sits where they were.
  fake_clock c;
  auto o = conns_only(c);
  rcmgr::gate<std::mutex> g(o);
  auto v4 = [](int i) {
    ip_address a;
    a.bytes = {10, std::uint8_t(i >> 8), std::uint8_t(i), 1};
    return a;
  };
  auto v6 = [](int i) {  // its own /48 (so its own /56 too)
    ip_address a = ip("2001:db8::1");
    a.bytes[4] = std::uint8_t(i >> 8);
    a.bytes[5] = std::uint8_t(i);
    return a;
  };
  auto addr = [&](int i) { return i % 2 == 0 ? v4(i) : v6(i); };
  auto counted = [&](const ip_address& a) {
    return a.v6 ? g.conns_in({a.masked(56), 56}) + g.conns_in({a.masked(48), 48}) : g.conns_in({a, 32});
  };
  std::vector<gate_ticket> first, second;
  for (int i = 0; i < 400; ++i) REQUIRE(add(g, addr(i), &first));
  // end every other connection: their entries are idle now, and the sweep drops them, moving
  // the live ones that had been placed after them
  for (std::size_t i = 0; i < first.size(); i += 2) g.release(first[i]);
  g.sweep();
  // new subnets take the freed places
  for (int i = 1000; i < 1400; ++i) REQUIRE(add(g, addr(i), &second));
  for (std::size_t i = 1; i < first.size(); i += 2) g.release(first[i]);
  for (int i = 0; i < 400; ++i) REQUIRE(counted(addr(i)) == 0);
  for (int i = 1000; i < 1400; ++i) REQUIRE(counted(addr(i)) == (i % 2 == 0 ? 1 : 2));
  // tickets released twice change nothing
  for (auto& t : first) g.release(t);
  for (int i = 1000; i < 1400; ++i) REQUIRE(counted(addr(i)) == (i % 2 == 0 ? 1 : 2));
  for (auto& t : second) g.release(t);
  for (int i = 1000; i < 1400; ++i) REQUIRE(counted(addr(i)) == 0);
  g.sweep();
  CHECK(g.tracked_subnets() == 0);
}

TEST_CASE("a shard rebuilt while an IPv6 connection is being counted leaves no count behind") {
  // Small table, IPv6 addresses with their own /56 and /48: admitting one fills a shard, so the
  // rebuild happens between counting its /56 and its /48 (the /56 entry moves during the call).
  fake_clock c;
  auto o = conns_only(c);
  o.max_tracked_subnets = 16;
  rcmgr::gate<std::mutex> g(o);
  std::vector<gate_ticket> held;
  for (int round = 0; round < 20; ++round) {
    for (int i = 0; i < 300; ++i) {
      ip_address a = ip("2001:db8::1");
      a.bytes[4] = std::uint8_t(round);
      a.bytes[5] = std::uint8_t(i);
      gate_ticket t;
      if (g.admit(a, rcmgr::direction::inbound, t)) held.push_back(t);
      if (held.size() > 40) {  // keep the table busy: end the oldest connections
        for (std::size_t k = 0; k < 20; ++k) g.release(held[k]);
        held.erase(held.begin(), held.begin() + 20);
      }
    }
  }
  for (auto& t : held) g.release(t);
  g.sweep();
  CHECK(g.tracked_subnets() == 0);  // an entry a release missed would still count a connection
}

// ---- source address verification (TestVerifySourceAddressRateLimiter) ------------------------

TEST_CASE("verify_source_address: half the subnet's connection limit unverified, then verify") {
  fake_clock c;
  gating_options o;
  o.now_ns = &fake_clock::now;
  o.clock_user = &c;
  o.ipv4_subnet_conns = {{32, 2}};
  o.ipv6_subnet_conns.clear();
  rcmgr::gate<std::mutex> g(o);
  CHECK_FALSE(g.verify_source_address(ip("1.2.3.4")));
  CHECK(g.verify_source_address(ip("1.2.3.4")));
  CHECK_FALSE(g.verify_source_address(ip("1.2.3.5")));
  CHECK(g.verify_source_address(ip("1.2.3.5")));
  c.advance_ms(10'000);  // one token per 10 s
  CHECK_FALSE(g.verify_source_address(ip("1.2.3.4")));
  CHECK(g.verify_source_address(ip("1.2.3.4")));
  // loopback never needs verification
  for (int i = 0; i < 100; ++i) REQUIRE_FALSE(g.verify_source_address(ip("127.0.0.1")));
}

TEST_CASE("verify_source_address with go's defaults: 4 per IPv4 address, 4 per IPv6 /56, 32 per /48") {
  fake_clock c;
  gating_options o;
  o.now_ns = &fake_clock::now;
  o.clock_user = &c;
  rcmgr::gate<std::mutex> g(o);
  for (int i = 0; i < 4; ++i) CHECK_FALSE(g.verify_source_address(ip("203.0.113.1")));
  CHECK(g.verify_source_address(ip("203.0.113.1")));
  int unverified = 0;
  ip_address b = ip("2001:db8:5::");
  for (int i = 0; i < 64; ++i) {
    b.bytes[6] = std::uint8_t(i / 4);
    b.bytes[15] = std::uint8_t(i);
    unverified += g.verify_source_address(b) ? 0 : 1;
  }
  CHECK(unverified == 32);
}

// ---- allowlist_test.go -------------------------------------------------------------------------

TEST_CASE("allowlist: an address entry allows that address (TestAllowedSimple)") {
  rcmgr::allowlist al;
  REQUIRE(al.add("/ip4/1.2.3.4/tcp/1234"));
  CHECK(al.allowed(ip("1.2.3.4")));
  CHECK_FALSE(al.allowed(ip("1.2.3.5")));
}

TEST_CASE("allowlist: entries with and without peers (TestAllowedWithPeer)") {
  const std::string peer_a = "12D3KooWPeerA", peer_b = "12D3KooWPeerB";
  struct tc {
    const char* name;
    std::vector<std::string> entries;
    const char* endpoint;
    bool conn_allowed, with_peer_allowed;
  };
  const std::vector<tc> cases{
      {"blocked", {"/ip4/1.2.3.1"}, "1.2.3.4", false, false},
      {"blocked wrong peer", {"/ip4/1.2.3.4/p2p/" + peer_b}, "1.2.3.4", true, false},
      {"allowed on network", {"/ip4/1.2.3.0/ipcidr/24"}, "1.2.3.4", true, true},
      {"right network, right peer", {"/ip4/1.2.3.0/ipcidr/24/p2p/" + peer_a}, "1.2.3.4", true, true},
      {"right network, wrong peer", {"/ip4/1.2.3.0/ipcidr/24/p2p/" + peer_b}, "1.2.3.4", true, false},
      {"any ip", {"/ip4/0.0.0.0/ipcidr/0"}, "1.2.3.4", true, true},
      {"peer from several ips", {"/ip4/1.2.3.4/p2p/" + peer_a, "/ip4/2.2.3.4/p2p/" + peer_a}, "1.2.3.4", true, true},
      {"same entry twice", {"/ip4/1.2.3.4/p2p/" + peer_a, "/ip4/1.2.3.4/p2p/" + peer_a}, "1.2.3.4", true, true},
      {"peer from the other ip", {"/ip4/1.2.3.4/p2p/" + peer_a, "/ip4/2.2.3.4/p2p/" + peer_a}, "2.2.3.4", true, true},
  };
  for (const auto& t : cases) {
    INFO(t.name);
    rcmgr::allowlist al;
    for (const auto& e : t.entries) REQUIRE(al.add(e));
    CHECK(al.allowed(ip(t.endpoint)) == t.conn_allowed);
    CHECK(al.allowed(ip(t.endpoint), peer_a) == t.with_peer_allowed);
  }
}

TEST_CASE("allowlist: removing an entry disallows it again (TestRemoved)") {
  for (std::string e : {"/ip4/1.2.3.4", "/ip4/1.2.3.4/p2p/12D3KooWPeerA", "/ip4/0.0.0.0/ipcidr/0",
                        "/ip4/0.0.0.0/ipcidr/0/p2p/12D3KooWPeerA"}) {
    INFO(e);
    rcmgr::allowlist al;
    REQUIRE(al.add(e));
    CHECK(al.allowed(ip("1.2.3.4"), "12D3KooWPeerA"));
    CHECK(al.list() == std::vector<std::string>{e});
    auto r = al.remove(e);
    REQUIRE(r);
    CHECK(*r);
    CHECK_FALSE(al.allowed(ip("1.2.3.4"), "12D3KooWPeerA"));
    CHECK(al.list().empty());
    CHECK_FALSE(*al.remove(e));
  }
  rcmgr::allowlist al;
  auto bad = al.add("/ip4/1.2.3.4/ipcidr/99");
  REQUIRE_FALSE(bad);
  CHECK(bad.error().code == rcmgr::errc::invalid_argument);
  CHECK(al.list().empty());
}
