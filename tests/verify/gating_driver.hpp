// The gating differential driver: one sequence of calls on rcmgr::gated_resource_manager and on
// the reference model (gating_model.hpp), comparing every outcome and count after every call.
// The calls come from a source of numbers: a seeded generator (differential_gating_test.cpp) or
// the fuzzer's bytes (fuzz/fuzz_gating.cpp). A disagreement is reported through check(ok, what),
// which the caller defines: Catch2's REQUIRE in the test, abort() in the fuzzer.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <iterator>
#include <vector>

#include "gating_model.hpp"
#include "rcmgr/libp2p/gated_resource_manager.hpp"

namespace rcmgr_verify {


namespace lp = rcmgr::libp2p;
using rcmgr::direction;
using model = rcmgr_verify::gating_model;

struct fake_clock {
  std::int64_t ns = 0;
  static std::int64_t now(void* u) noexcept { return static_cast<fake_clock*>(u)->ns; }
};
inline rcmgr::limit conns(std::int64_t in, std::int64_t out, std::int64_t total) {
  rcmgr::limit l;
  l.conns_inbound = in;
  l.conns_outbound = out;
  l.conns = total;
  return l;
}
inline rcmgr::ip_prefix prefix(const char* text) { return rcmgr::parse_allowlist_entry(text)->network; }

inline constexpr const char* pool[] = {
    "/ip4/10.1.0.1/tcp/1",     "/ip4/10.1.7.2/tcp/1",  "/ip4/10.2.0.1/tcp/1",   "/ip4/10.3.0.1/tcp/1",
    "/ip4/10.3.0.2/tcp/1",     "/ip4/192.0.2.1/tcp/1", "/ip4/192.0.2.2/udp/1/quic-v1", "/ip4/192.0.3.1/tcp/1",
    "/ip4/127.0.0.1/tcp/1",    "/ip6/::1/tcp/1",       "/ip6/2001:db8:1::1/tcp/1", "/ip6/2001:db8:2::1/tcp/1",
    "/ip6/2001:db8:2::2/tcp/1", "/ip6/2001:db8:2:100::1/tcp/1", "/ip6/2001:db8:2:200::1/tcp/1",
    "/ip6/::ffff:192.0.2.1/tcp/1", "/dns4/example.com/tcp/443"};
inline constexpr const char* peers[] = {"12D3KooWPeerA", "12D3KooWPeerB", "12D3KooWPeerC"};

/// How often each rule fired over all sequences: the test must exercise every one.
struct coverage {
  long rate = 0, subnet = 0, scope = 0, alt_opens = 0, moves = 0, peer_refusals = 0;
};

template <class Next, class Check>
void run_gating_sequence(Next&& next, int steps, coverage& cov, Check&& check) {
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
  check(mgr.gating().ok(), "mgr.gating().ok()");

  struct live {
    std::optional<rcmgr::gated_resource_manager<rcmgr::single_threaded>::connection> real;
    model::conn ref;
  };
  std::vector<live> open;
  for (int step = 0; step < steps; ++step) {
    const unsigned what = unsigned(next() % 100);
    if (what < 45 || open.empty()) {
      const char* ep = pool[next() % std::size(pool)];
      const direction dir = next() % 3 ? direction::inbound : direction::outbound;
      model::conn c;
      c.dir = dir;
      auto parsed = rcmgr::parse_multiaddr(ep);
      check(bool(parsed), "the pool address parses");
      c.has_ip = parsed->ip.has_value();
      if (c.has_ip) c.ip = *parsed->ip;
      const auto expect = m.open(c);
      cov.rate += expect == model::outcome::rate;
      cov.subnet += expect == model::outcome::subnet;
      cov.scope += expect == model::outcome::scope;
      cov.alt_opens += expect == model::outcome::ok && c.alt;
      auto r = mgr.open_connection(dir, true, ep);
      check(bool(r) == (expect == model::outcome::ok), "bool(r) == (expect == model::outcome::ok)");
      if (!r) {
        const auto code = r.error().code;
        if (expect == model::outcome::rate) check(code == rcmgr::errc::rate_limited, "code == rcmgr::errc::rate_limited");
        else check(code == rcmgr::errc::limit_exceeded, "code == rcmgr::errc::limit_exceeded");
      } else {
        check(r->in_alternative() == c.alt, "r->in_alternative() == c.alt");
        open.push_back({std::move(*r), c});
      }
    } else if (what < 70) {
      auto& l = open[next() % open.size()];
      const std::string p = peers[next() % std::size(peers)];
      const bool was_alt = l.ref.alt;
      const auto expect = m.set_peer(l.ref, p);
      cov.moves += was_alt && !l.ref.alt;
      cov.peer_refusals += expect == model::outcome::scope;
      auto r = l.real->set_peer(rcmgr::peer_id(p));
      check(bool(r) == (expect == model::outcome::ok), "bool(r) == (expect == model::outcome::ok)");
      check(l.real->in_alternative() == l.ref.alt, "l.real->in_alternative() == l.ref.alt");
    } else if (what < 92) {
      const std::size_t k = next() % open.size();
      m.done(open[k].ref);
      open[k].real->done();
      open.erase(open.begin() + std::ptrdiff_t(k));
    } else {
      const std::int64_t ms = std::int64_t(next() % 3000);
      clk.ns += ms * 1'000'000;
      m.now = clk.ns;
    }
    // compare every count
    auto same = [](const rcmgr::scope_stat& s, const model::conns& c) { return s.conns_inbound == c.in && s.conns_outbound == c.out; };
    check(same(mgr.stat<lp::transient_scope>(), m.c_transient), "same(mgr.stat<lp::transient_scope>(), m.c_transient)");
    check(same(mgr.stat<lp::system_scope>(), m.c_system), "same(mgr.stat<lp::system_scope>(), m.c_system)");
    check(same(mgr.stat<lp::allowlisted_transient_scope>(), m.c_al_transient), "same(mgr.stat<lp::allowlisted_transient_scope>(), m.c_al_transient)");
    check(same(mgr.stat<lp::allowlisted_system_scope>(), m.c_al_system), "same(mgr.stat<lp::allowlisted_system_scope>(), m.c_al_system)");
    for (const auto& [p, c] : m.c_peer) check(same(mgr.view_peer(rcmgr::peer_id(p), [](auto& ref) { return ref.stat(); }), c), "same(mgr.view_peer(rcmgr::peer_id(p), [](auto& ref) { return ref.stat(); }), c)");
    for (const auto& [k, n] : m.subnet_counts) {
      const auto& [v6, len, text] = k;
      auto a = rcmgr::parse_multiaddr(std::string(v6 ? "/ip6/" : "/ip4/") + text);
      check(mgr.gating().conns_in(rcmgr::ip_prefix{*a->ip, len}) == n, "mgr.gating().conns_in(rcmgr::ip_prefix{*a->ip, len}) == n");
    }
    for (const auto& n : m.net_limits) check(mgr.gating().conns_in(n.network) == m.net_counts[n.network.str()], "mgr.gating().conns_in(n.network) == m.net_counts[n.network.str()]");
  }
  for (auto& l : open) {
    m.done(l.ref);
    l.real->done();
  }
  check(mgr.stat<lp::system_scope>().conns() == 0, "mgr.stat<lp::system_scope>().conns() == 0");
  check(mgr.stat<lp::allowlisted_system_scope>().conns() == 0, "mgr.stat<lp::allowlisted_system_scope>().conns() == 0");
  for (const auto& [k, n] : m.subnet_counts) check(n == 0, "n == 0");
}

}  // namespace rcmgr_verify
