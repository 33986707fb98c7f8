// Differential test of connection gating: random sequences of connection opens from a small pool
// of IPv4 and IPv6 addresses (loopback, allowlisted networks, an allowlisted peer's address, a
// network with its own count, IPv4-mapped addresses, endpoints without an IP), set_peer with
// allowed and other peers, done, and clock steps, run on rcmgr::gated_resource_manager and on
// the reference model (gating_model.hpp). After every call the outcome, the connection counts of
// transient, system, the allowlisted scopes and every peer, and the count of every subnet and
// network must agree. Tight limits make every rule fire.
#include <catch2/catch.hpp>

#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "gating_model.hpp"
#include "rcmgr/libp2p/gated_resource_manager.hpp"

namespace {

namespace lp = rcmgr::libp2p;
using rcmgr::direction;
using model = rcmgr_verify::gating_model;

struct fake_clock {
  std::int64_t ns = 0;
  static std::int64_t now(void* u) noexcept { return static_cast<fake_clock*>(u)->ns; }
};
rcmgr::limit conns(std::int64_t in, std::int64_t out, std::int64_t total) {
  rcmgr::limit l;
  l.conns_inbound = in;
  l.conns_outbound = out;
  l.conns = total;
  return l;
}
rcmgr::ip_prefix prefix(const char* text) { return rcmgr::parse_allowlist_entry(text)->network; }

const char* const pool[] = {
    "/ip4/10.1.0.1/tcp/1",     "/ip4/10.1.7.2/tcp/1",  "/ip4/10.2.0.1/tcp/1",   "/ip4/10.3.0.1/tcp/1",
    "/ip4/10.3.0.2/tcp/1",     "/ip4/192.0.2.1/tcp/1", "/ip4/192.0.2.2/udp/1/quic-v1", "/ip4/192.0.3.1/tcp/1",
    "/ip4/127.0.0.1/tcp/1",    "/ip6/::1/tcp/1",       "/ip6/2001:db8:1::1/tcp/1", "/ip6/2001:db8:2::1/tcp/1",
    "/ip6/2001:db8:2::2/tcp/1", "/ip6/2001:db8:2:100::1/tcp/1", "/ip6/2001:db8:2:200::1/tcp/1",
    "/ip6/::ffff:192.0.2.1/tcp/1", "/dns4/example.com/tcp/443"};
const char* const peers[] = {"12D3KooWPeerA", "12D3KooWPeerB", "12D3KooWPeerC"};

/// How often each rule fired over all sequences: the test must exercise every one.
struct coverage {
  long rate = 0, subnet = 0, scope = 0, alt_opens = 0, moves = 0, peer_refusals = 0;
};

void run_sequence(std::uint64_t seed, int steps, coverage& cov) {
  fake_clock clk;
  rcmgr::gating_options o;
  o.ipv4_subnet_conns = {{32, 2}, {24, 3}};
  o.ipv6_subnet_conns = {{56, 2}, {48, 3}};
  o.network_conns.push_back({prefix("/ip4/10.3.0.0/ipcidr/16"), 2});
  o.ipv4_subnet_rates = {{32, {1.0, 4}}};
  o.ipv6_subnet_rates = {{56, {1.0, 4}}, {48, {2.0, 6}}};
  o.global_rate = {8.0, 12};
  o.allowlist = {"/ip4/10.1.0.0/ipcidr/16", "/ip4/10.2.0.1/p2p/12D3KooWPeerA", "/ip6/2001:db8:1::/ipcidr/48"};
  o.now_ns = &fake_clock::now;
  o.clock_user = &clk;

  model m;
  m.opt = o;
  m.transient = conns(3, 3, 4);
  m.system = conns(5, 5, 6);
  m.al_transient = conns(2, 2, 2);
  m.al_system = conns(3, 3, 3);
  m.peer_limit = conns(2, 2, 2);
  for (const auto& e : o.allowlist) m.allow.push_back(*rcmgr::parse_allowlist_entry(e));
  m.build_networks();

  auto base = lp::default_limits();
  base.set<lp::transient_scope>(m.transient);
  base.set<lp::system_scope>(m.system);
  base.set<lp::peer_scope>(m.peer_limit);
  rcmgr::gated_resource_manager<rcmgr::single_threaded> mgr(lp::make_gated_limits(base, m.al_system, m.al_transient), o);
  REQUIRE(mgr.gating().ok());

  struct live {
    std::optional<rcmgr::gated_resource_manager<rcmgr::single_threaded>::connection> real;
    model::conn ref;
  };
  std::vector<live> open;
  std::mt19937_64 rng(seed);
  for (int step = 0; step < steps; ++step) {
    const unsigned what = unsigned(rng() % 100);
    INFO("seed " << seed << " step " << step << " op " << what);
    if (what < 45 || open.empty()) {
      const char* ep = pool[rng() % std::size(pool)];
      const direction dir = rng() % 3 ? direction::inbound : direction::outbound;
      INFO("open " << ep);
      model::conn c;
      c.dir = dir;
      auto parsed = rcmgr::parse_multiaddr(ep);
      REQUIRE(parsed);
      c.has_ip = parsed->ip.has_value();
      if (c.has_ip) c.ip = *parsed->ip;
      const auto expect = m.open(c);
      cov.rate += expect == model::outcome::rate;
      cov.subnet += expect == model::outcome::subnet;
      cov.scope += expect == model::outcome::scope;
      cov.alt_opens += expect == model::outcome::ok && c.alt;
      auto r = mgr.open_connection(dir, true, ep);
      REQUIRE(bool(r) == (expect == model::outcome::ok));
      if (!r) {
        const auto code = r.error().code;
        if (expect == model::outcome::rate) CHECK(code == rcmgr::errc::rate_limited);
        else CHECK(code == rcmgr::errc::limit_exceeded);
      } else {
        CHECK(r->in_alternative() == c.alt);
        open.push_back({std::move(*r), c});
      }
    } else if (what < 70) {
      auto& l = open[rng() % open.size()];
      const std::string p = peers[rng() % std::size(peers)];
      INFO("set_peer " << p);
      const bool was_alt = l.ref.alt;
      const auto expect = m.set_peer(l.ref, p);
      cov.moves += was_alt && !l.ref.alt;
      cov.peer_refusals += expect == model::outcome::scope;
      auto r = l.real->set_peer(rcmgr::peer_id(p));
      REQUIRE(bool(r) == (expect == model::outcome::ok));
      CHECK(l.real->in_alternative() == l.ref.alt);
    } else if (what < 92) {
      const std::size_t k = rng() % open.size();
      m.done(open[k].ref);
      open[k].real->done();
      open.erase(open.begin() + std::ptrdiff_t(k));
    } else {
      const std::int64_t ms = std::int64_t(rng() % 3000);
      clk.ns += ms * 1'000'000;
      m.now = clk.ns;
    }
    // compare every count
    auto same = [](const rcmgr::scope_stat& s, const model::conns& c) { return s.conns_inbound == c.in && s.conns_outbound == c.out; };
    REQUIRE(same(mgr.stat<lp::transient_scope>(), m.c_transient));
    REQUIRE(same(mgr.stat<lp::system_scope>(), m.c_system));
    REQUIRE(same(mgr.stat<lp::allowlisted_transient_scope>(), m.c_al_transient));
    REQUIRE(same(mgr.stat<lp::allowlisted_system_scope>(), m.c_al_system));
    for (const auto& [p, c] : m.c_peer) REQUIRE(same(mgr.view_peer(rcmgr::peer_id(p), [](auto& ref) { return ref.stat(); }), c));
    for (const auto& [k, n] : m.subnet_counts) {
      const auto& [v6, len, text] = k;
      auto a = rcmgr::parse_multiaddr(std::string(v6 ? "/ip6/" : "/ip4/") + text);
      REQUIRE(mgr.gating().conns_in(rcmgr::ip_prefix{*a->ip, len}) == n);
    }
    for (const auto& n : m.net_limits) REQUIRE(mgr.gating().conns_in(n.network) == m.net_counts[n.network.str()]);
  }
  for (auto& l : open) {
    m.done(l.ref);
    l.real->done();
  }
  CHECK(mgr.stat<lp::system_scope>().conns() == 0);
  CHECK(mgr.stat<lp::allowlisted_system_scope>().conns() == 0);
  for (const auto& [k, n] : m.subnet_counts) CHECK(n == 0);
}

}  // namespace

TEST_CASE("gated manager and gating model agree on random sequences") {
  coverage cov;
  for (std::uint64_t seed = 1; seed <= 300; ++seed) run_sequence(seed, 300, cov);
  CHECK(cov.rate > 0);
  CHECK(cov.subnet > 0);
  CHECK(cov.scope > 0);
  CHECK(cov.alt_opens > 0);
  CHECK(cov.moves > 0);
  CHECK(cov.peer_refusals > 0);
  WARN("rate " << cov.rate << ", subnet " << cov.subnet << ", scope " << cov.scope << ", allowlisted opens " << cov.alt_opens
               << ", moves " << cov.moves << ", set_peer refusals " << cov.peer_refusals);
}
