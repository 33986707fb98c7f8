// node_day: one day in the life of a libp2p node, played against rcmgr::gated_resource_manager<>
// (the libp2p resource manager with connection gating in front).
//
// Forty well-behaved peers, each from its own network, connect, open streams for the DHT, pubsub
// and identify, and reserve buffers for them. At noon one peer turns abusive and floods the node
// with streams and memory reservations; at three o'clock a burst of half-open connections
// (handshakes that never finish, so the peer is never known) comes from one /24. Just before six
// a botnet's distributed burst fills the transient scope for a moment, and the node's allowlisted
// bootstrap peer reconnects right then. In the evening the abusive peer is gone and everybody
// disconnects. The run is deterministic (fixed seed, a simulated clock) and takes well under a
// second.
//
// The points to look for: the abusive peer is stopped by its own peer and stream scopes; the
// burst by its subnet's connection limit, so it never fills transient and the well-behaved
// peers' reconnections are all admitted; and the bootstrap peer gets in through the allowlisted
// scopes while transient is full.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <iostream>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include <range/v3/algorithm/count_if.hpp>
#include <range/v3/algorithm/sort.hpp>
#include <range/v3/numeric/accumulate.hpp>
#include <range/v3/view/filter.hpp>
#include <range/v3/view/take.hpp>
#include <range/v3/view/transform.hpp>

#include "rcmgr/libp2p/gated_resource_manager.hpp"
#include "rcmgr/rcmgr.hpp"

namespace {

namespace lp = rcmgr::libp2p;
using manager = rcmgr::gated_resource_manager<>;
using rcmgr::direction;
constexpr std::int64_t kib = 1024;
constexpr std::int64_t mib = 1024 * 1024;

// ---- a small deterministic generator (splitmix64): the same day on every machine ----------------
struct rng {
  std::uint64_t s;
  std::uint64_t next() {
    std::uint64_t z = (s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  int below(int n) { return static_cast<int>(next() % static_cast<std::uint64_t>(n)); }
  bool percent(int p) { return below(100) < p; }
};

rcmgr::peer_id make_peer_id(rng& r) {
  static constexpr std::string_view b58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
  std::string s = "12D3KooW";
  while (s.size() < 52) s += b58[std::size_t(r.below(int(b58.size())))];
  return rcmgr::peer_id(s);
}
std::string short_id(std::string_view id) { return std::string(id.substr(0, 12)) + ".." + std::string(id.substr(id.size() - 4)); }

// ---- the protocols the node speaks --------------------------------------------------------------
struct protocol_info {
  std::string_view id;
  std::string_view service;  // empty: no service scope
  int weight;                // share of a well-behaved peer's streams, percent
};
constexpr protocol_info protocols[] = {
    {"/ipfs/kad/1.0.0", "", 50},
    {"/meshsub/1.1.0", "libp2p.pubsub", 35},
    {"/ipfs/id/1.0.0", "libp2p.identify", 15},
};
const protocol_info& pick_protocol(rng& r) {
  int x = r.below(100);
  for (const auto& p : protocols) {
    if (x < p.weight) return p;
    x -= p.weight;
  }
  return protocols[0];
}

// ---- bookkeeping of what was admitted and refused -------------------------------------------------
enum class who { well_behaved, abusive, half_open };
constexpr std::string_view who_name(who w) {
  return w == who::well_behaved ? "well-behaved" : w == who::abusive ? "abusive peer" : "half-open";
}
enum class op { connection, stream, buffer, growth };
constexpr std::string_view op_name(op o) {
  switch (o) {
    case op::connection: return "connections (open + set_peer)";
    case op::stream: return "streams (open + set_protocol/service)";
    case op::buffer: return "stream buffers (priority always)";
    case op::growth: return "buffer growth (optional, low/medium)";
  }
  return "?";
}

std::string what_of(const rcmgr::error& e) {
  if (e.code == rcmgr::errc::rate_limited) return "connection rate";
  if (e.code != rcmgr::errc::limit_exceeded) return rcmgr::make_error_code(e.code).message();
  std::string s;
  if (e.total) s = "total ";
  else if (e.has_direction) s = std::string(rcmgr::to_string(e.dir)) + " ";
  s += rcmgr::to_string(e.res);
  if (e.res == rcmgr::resource::memory) {
    s += e.prio == rcmgr::priority::always ? " at always"
         : e.prio == rcmgr::priority::high ? " at high"
         : e.prio == rcmgr::priority::medium ? " at medium"
         : e.prio == rcmgr::priority::low ? " at low" : " at priority " + std::to_string(int(e.prio));
  }
  return s;
}

struct tally {
  std::map<std::pair<who, op>, std::pair<long, long>> ops;               // attempted, admitted
  std::map<std::tuple<who, std::string, std::string>, long> refusals;  // who, scope kind, resource
  std::vector<std::pair<who, rcmgr::error>> examples;                  // first refusal of each kind

  void admit(who w, op o) {
    auto& c = ops[{w, o}];
    ++c.first;
    ++c.second;
  }
  void refuse(who w, op o, const rcmgr::error& e) {
    ++ops[{w, o}].first;
    const std::string kind(e.scope.kind);
    if (++refusals[{w, kind, what_of(e)}] == 1) examples.emplace_back(w, e);
  }
  double admitted_percent(who w, op o) const {
    auto it = ops.find({w, o});
    return it == ops.end() || it->second.first == 0 ? 100.0 : 100.0 * double(it->second.second) / double(it->second.first);
  }
};

// ---- the usage table --------------------------------------------------------------------------------
std::string used_of(std::int64_t used, std::int64_t lim) {
  if (lim == rcmgr::unlimited) return std::to_string(used) + "/-";
  return std::to_string(used) + "/" + std::to_string(lim);
}
std::string mem_of(std::int64_t used, std::int64_t lim) {
  char buf[48];
  if (lim == rcmgr::unlimited) std::snprintf(buf, sizeof buf, "%.1f/- MiB", double(used) / double(mib));
  else
    std::snprintf(buf, sizeof buf, "%5.1f/%-3.0f MiB %3.0f%%", double(used) / double(mib), double(lim) / double(mib),
                  lim == 0 ? 0.0 : 100.0 * double(used) / double(lim));
  return buf;
}
// Resources a kind does not account print as blanks.
void row(std::string_view name, const rcmgr::scope_stat& s, const rcmgr::limit& l, bool conns, bool fd) {
  std::printf("  %-34s %9s %9s %10s %10s  %-20s %7s\n", std::string(name).c_str(),
              conns ? used_of(s.conns_inbound, l.conns_inbound).c_str() : "",
              conns ? used_of(s.conns_outbound, l.conns_outbound).c_str() : "",
              used_of(s.streams_inbound, l.streams_inbound).c_str(), used_of(s.streams_outbound, l.streams_outbound).c_str(),
              mem_of(s.memory, l.memory).c_str(), fd ? used_of(s.fd, l.fd).c_str() : "");
}

void print_table(manager& mgr, std::string_view when, const rcmgr::peer_id& abuser, const rcmgr::peer_id& typical) {
  std::printf("\n%s\n", std::string(when).c_str());
  std::printf("  %-34s %9s %9s %10s %10s  %-20s %7s\n", "scope (used/limit)", "conns in", "conns out", "streams in",
              "streams out", "memory", "fd");
  row("system", mgr.view_system([](auto& s) { return s.stat(); }), mgr.get_limit<lp::system_scope>(), true, true);
  row("transient", mgr.view_transient([](auto& s) { return s.stat(); }), mgr.get_limit<lp::transient_scope>(), true, true);
  // Services and protocols are retained: list them instead of naming them.
  for (const auto& [name, st] : mgr.list_services())
    row("service " + name, st, mgr.get_limit<lp::service_scope>(), false, false);
  auto protos = mgr.list_protocols();
  ranges::sort(protos, std::less<>{}, [](const auto& p) { return p.first; });
  for (const auto& [id, st] : protos) row("protocol " + id, st, mgr.get_limit<lp::protocol_scope>(), false, false);

  // Peers: listing does not create scopes (view_peer would), so a peer that is gone is shown
  // as gone rather than as an empty scope.
  auto peers = mgr.list_peers();
  auto find = [&](const rcmgr::peer_id& id) -> std::optional<rcmgr::scope_stat> {
    for (const auto& [p, st] : peers)
      if (p == id) return st;
    return std::nullopt;
  };
  for (const auto& [label, id] : {std::pair{"peer (abusive) ", &abuser}, std::pair{"peer (typical) ", &typical}}) {
    if (auto st = find(*id)) row(label + short_id(id->str()), *st, mgr.get_limit<lp::peer_scope>(), true, true);
    else std::printf("  %-34s (not connected: scope collected)\n", (label + short_id(id->str())).c_str());
  }
  for (const auto& [keys, st] : mgr.list<lp::protocol_peer_scope>())
    if (keys.second == abuser)
      row("proto-peer " + keys.first + " @abusive", st, mgr.get_limit<lp::protocol_peer_scope>(), false, false);

  // The busiest peers by open streams, and how much the rest hold.
  ranges::sort(peers, std::greater<>{}, [](const auto& p) { return p.second.streams(); });
  std::printf("  %zu peers live; busiest by streams:", peers.size());
  for (const auto& [id, st] : peers | ranges::views::take(3))
    std::printf(" %s%s (%lld)", short_id(id.str()).c_str(), id == abuser ? " [abusive]" : "", (long long)st.streams());
  auto others = peers | ranges::views::filter([&](const auto& p) { return p.first != abuser; });
  const auto others_mem = ranges::accumulate(others | ranges::views::transform([](const auto& p) { return p.second.memory; }),
                                             std::int64_t{0});
  std::printf("\n  the other %ld peers hold %.1f MiB together\n", long(ranges::count_if(others, [](const auto&) { return true; })),
              double(others_mem) / double(mib));
}

// ---- the actors ---------------------------------------------------------------------------------------
struct live_stream {
  manager::stream s;
  int expires;  // tick at which the stream is closed
};

struct good_peer {
  rcmgr::peer_id id;
  direction dir;
  std::vector<manager::connection> conns;
  std::string endpoint;  ///< its multiaddr: each peer comes from its own network
};

/// The simulated clock of the gate's token buckets: one tick is three minutes.
struct day_clock {
  std::int64_t ns = 0;
  static std::int64_t now(void* c) noexcept { return static_cast<day_clock*>(c)->ns; }
};

// Opens a connection and attaches it to its peer. A refusal at either step is counted once.
std::optional<manager::connection> connect(manager& mgr, tally& t, who w, direction dir, const rcmgr::peer_id& p,
                                           std::string_view endpoint) {
  auto c = mgr.open_connection(dir, /*use_fd=*/true, endpoint);
  if (!c) {
    t.refuse(w, op::connection, c.error());
    return std::nullopt;
  }
  if (auto r = c->set_peer(p); !r) {
    t.refuse(w, op::connection, r.error());
    return std::nullopt;  // the connection handle ends here and gives its transient slot back
  }
  t.admit(w, op::connection);
  return std::move(*c);
}

// Opens a stream, negotiates its protocol and service, and reserves its receive buffer: the
// muxer's initial window at priority always, then (optionally) a larger window at `grow_prio`.
// A refused growth is not an error: the stream keeps its smaller window.
std::optional<manager::stream> open_stream(manager& mgr, tally& t, who w, const rcmgr::peer_id& p, direction dir,
                                           const protocol_info* proto, std::int64_t window, std::int64_t grow,
                                           std::uint8_t grow_prio) {
  auto s = mgr.open_stream(p, dir);
  if (!s) {
    t.refuse(w, op::stream, s.error());
    return std::nullopt;
  }
  if (proto != nullptr) {
    if (auto r = s->set_protocol(proto->id); !r) {
      t.refuse(w, op::stream, r.error());
      return std::nullopt;  // protocol negotiation fails: the stream is reset
    }
    if (!proto->service.empty())
      if (auto r = s->set_service(proto->service); !r) {
        t.refuse(w, op::stream, r.error());
        return std::nullopt;
      }
  }
  t.admit(w, op::stream);
  if (window == 0) return std::move(*s);  // still negotiating: no buffer yet
  if (auto r = s->reserve_memory(window, rcmgr::priority::always); !r) {
    t.refuse(w, op::buffer, r.error());
    return std::nullopt;  // no buffer, no stream: it is reset
  }
  t.admit(w, op::buffer);
  if (grow > 0) {
    if (auto r = s->reserve_memory(grow, grow_prio); !r) t.refuse(w, op::growth, r.error());
    else t.admit(w, op::growth);
  }
  return std::move(*s);
}

}  // namespace

int main() {
  // go-libp2p's default limits, a few of them tightened so that the effects show within a day of
  // fifty ticks rather than under a real attack.
  lp::limits limits = lp::default_limits();
  {
    rcmgr::limit peer = limits.get<lp::peer_scope>();
    peer.streams_inbound = peer.streams_outbound = 64;  // default 256/512
    peer.streams = 96;                                  // default 512
    peer.memory = 16 * mib;                             // default 64 MiB
    limits.set<lp::peer_scope>(peer);
    rcmgr::limit pp = limits.get<lp::protocol_peer_scope>();
    pp.streams_inbound = 32;  // default 64
    limits.set<lp::protocol_peer_scope>(pp);
    rcmgr::limit st = limits.get<lp::stream_scope>();
    st.memory = 1 * mib;  // default 16 MiB: a stream's buffers
    limits.set<lp::stream_scope>(st);
  }
  // Gating: go-libp2p's defaults (8 connections per IPv4 address, per IPv6 /56 and 64 per /48,
  // token buckets per subnet), plus one operator setting: at most 16 connections per IPv4 /24.
  // The bootstrap peer is allowlisted from its address, for its peer id only.
  rng r{20240521};
  const rcmgr::peer_id bootstrap = make_peer_id(r);
  const std::string bootstrap_addr = "/ip4/192.0.2.10/tcp/4001";
  day_clock clock;
  rcmgr::gating_options gating;
  gating.ipv4_subnet_conns.push_back({24, 16});
  gating.allowlist = {"/ip4/192.0.2.10/p2p/" + std::string(bootstrap.str())};
  gating.now_ns = &day_clock::now;
  gating.clock_user = &clock;
  manager mgr(lp::make_gated_limits(limits), gating);

  std::vector<good_peer> good;
  for (int i = 0; i < 40; ++i)
    good.push_back({make_peer_id(r), i % 20 < 11 ? direction::inbound : direction::outbound, {},
                    i % 2 ? "/ip6/2001:db8:" + std::to_string(100 + i) + "::7/udp/4001/quic-v1"
                          : "/ip4/198.51." + std::to_string(100 + i) + ".7/tcp/4001"});
  const std::string abuser_addr = "/ip4/192.0.2.66/tcp/4001";
  const rcmgr::peer_id abuser = make_peer_id(r);
  const rcmgr::peer_id& typical = good[0].id;

  std::printf("node_day: 40 well-behaved peers, one abusive peer, one burst of half-open connections from one /24,\n");
  std::printf("a distributed burst, and an allowlisted bootstrap peer.\n");
  std::printf("Limits: go-libp2p defaults, except peer streams 64/64/96 and memory 16 MiB, protocol-peer inbound\n");
  std::printf("streams 32, stream memory 1 MiB. Gating: go-libp2p defaults plus 16 connections per IPv4 /24.\n");
  std::printf("One tick is three minutes of the node's day.\n");

  tally t;
  std::vector<live_stream> streams;           // well-behaved streams
  std::vector<manager::stream> abuse_streams;  // held by the abusive peer until it is disconnected
  std::vector<manager::connection> abuse_conns;
  std::vector<std::pair<manager::connection, int>> half_open;  // connection, tick its handshake times out
  long churn_in = 0, churn_in_ok = 0;
  std::int64_t abuser_peak_streams = 0;  // most streams the abusive peer held at once
  std::size_t half_open_peak = 0;        // most half-open connections held at once
  std::int64_t transient_in_peak = 0;    // most inbound connections transient held during the /24 burst
  long distributed_ok = 0;               // the distributed burst's connections admitted
  std::int64_t transient_at_bootstrap = 0;
  bool bootstrap_ok = false, bootstrap_allowlisted = false;
  std::optional<manager::connection> bootstrap_conn;

  struct phase {
    std::string_view name;
    int end;  // first tick after the phase
  };
  const phase phases[] = {{"06:00-09:00  morning: 40 peers connect and settle", 10},
                          {"09:00-12:00  busy: steady DHT, pubsub and identify traffic", 20},
                          {"12:00-15:00  flood: one peer opens streams and reserves memory as fast as it can", 30},
                          {"15:00-18:00  burst: 300 half-open connections from 203.0.113.0/24 on top of the flood", 40},
                          {"18:00-21:00  evening: the abusive peer is disconnected; traffic goes on", 50}};

  // The pubsub service keeps a message cache for all its peers, reserved on the service scope.
  auto cache = mgr.view_service("libp2p.pubsub", [](manager::service_ref& svc) {
    auto ok = svc.reserve_memory(6 * mib, rcmgr::priority::high);
    return ok ? svc : manager::service_ref{};  // the reference keeps the service for the release
  });

  int tick = 0;
  for (const auto& ph : phases) {
    for (; tick < ph.end; ++tick) {
      clock.ns = std::int64_t(tick) * 180'000'000'000;  // three minutes a tick
      // The burst comes at the end of its phase so that the table printed then shows it.
      const bool flood = tick >= 20 && tick < 40, burst = tick >= 35 && tick < 40;
      if (tick == 40) {  // the node's connection manager drops the abusive peer
        abuse_streams.clear();
        abuse_conns.clear();
      }
      std::erase_if(streams, [&](const live_stream& s) { return s.expires <= tick; });
      std::erase_if(half_open, [&](const auto& h) { return h.second <= tick; });

      // Well-behaved peers: connect once, sometimes reconnect, open zero to two streams a tick.
      for (auto& p : good) {
        if (p.conns.empty() || r.percent(3)) {
          if (!p.conns.empty()) p.conns.erase(p.conns.begin());
          const bool in = p.dir == direction::inbound;
          if (auto c = connect(mgr, t, who::well_behaved, p.dir, p.id, p.endpoint)) {
            p.conns.push_back(std::move(*c));
            churn_in_ok += in && tick > 0;
          }
          churn_in += in && tick > 0;
        }
        if (p.conns.empty()) continue;  // refused: it retries next tick and opens no streams meanwhile
        for (int n = r.below(3); n > 0; --n) {
          const auto& proto = pick_protocol(r);
          const direction d = r.percent(50) ? direction::inbound : direction::outbound;
          const std::uint8_t prio = r.percent(50) ? rcmgr::priority::medium : rcmgr::priority::low;
          auto s = open_stream(mgr, t, who::well_behaved, p.id, d, &proto, 64 * kib, r.percent(50) ? 192 * kib : 0, prio);
          if (!s) continue;
          if (proto.service == "libp2p.identify") {
            // identify checks a signed peer record in a short-lived span of the stream
            if (auto sp = s->begin_span(); sp && sp->reserve_memory(16 * kib, rcmgr::priority::high)) sp->done();
          }
          streams.push_back({std::move(*s), tick + 1 + r.below(6)});
        }
      }

      // The abusive peer: a dozen connections and 120 streams a tick, a third of them never
      // negotiating a protocol, the rest on pubsub or the DHT, each asking for a 512 KiB buffer
      // and then for 768 KiB more.
      if (flood) {
        for (int i = 0; i < 12; ++i)
          if (auto c = connect(mgr, t, who::abusive, direction::inbound, abuser, abuser_addr)) abuse_conns.push_back(std::move(*c));
        for (int i = 0; i < 120; ++i) {
          const protocol_info* proto = i % 3 == 0 ? nullptr : i % 3 == 1 ? &protocols[1] : &protocols[0];
          if (auto s = open_stream(mgr, t, who::abusive, abuser, direction::inbound, proto, proto ? 512 * kib : 0,
                                   proto ? 768 * kib : 0, rcmgr::priority::low))
            abuse_streams.push_back(std::move(*s));
        }
      }

      // The burst: 60 inbound connections a tick from addresses of 203.0.113.0/24 whose
      // handshake never completes; each holds its transient slot and file descriptor until the
      // handshake times out three ticks later, and counts against its /24 meanwhile.
      if (burst) {
        for (int i = 0; i < 60; ++i) {
          const std::string from = "/ip4/203.0.113." + std::to_string(1 + r.below(254)) + "/tcp/" + std::to_string(10000 + i);
          auto c = mgr.open_connection(direction::inbound, /*use_fd=*/true, from);
          if (!c) {
            t.refuse(who::half_open, op::connection, c.error());
            continue;
          }
          t.admit(who::half_open, op::connection);
          half_open.emplace_back(std::move(*c), tick + 3);
        }
        half_open_peak = std::max(half_open_peak, half_open.size());
        transient_in_peak = std::max(transient_in_peak, mgr.view_transient([](auto& s) { return s.stat(); }).conns_inbound);
      }
      // The end of the burst phase: a botnet opens half-open connections from 40 different /24s,
      // which fills transient for a moment (they time out at the next tick), and the allowlisted
      // bootstrap peer reconnects right then.
      if (tick == 39) {
        for (int i = 0; i < 40; ++i) {
          const std::string from = "/ip4/100.64." + std::to_string(i) + ".9/tcp/5000";
          if (auto c = mgr.open_connection(direction::inbound, /*use_fd=*/true, from)) {
            ++distributed_ok;
            half_open.emplace_back(std::move(*c), tick + 1);
          }
        }
        transient_at_bootstrap = mgr.view_transient([](auto& s) { return s.stat(); }).conns_inbound;
        if (auto c = mgr.open_connection(direction::inbound, /*use_fd=*/true, bootstrap_addr)) {
          bootstrap_allowlisted = c->in_alternative();
          bootstrap_ok = bool(c->set_peer(bootstrap)) && c->in_alternative();
          if (bootstrap_ok) bootstrap_conn = std::move(*c);
        }
      }
      if (flood)
        for (const auto& [id, st] : mgr.list_peers())
          if (id == abuser) abuser_peak_streams = std::max(abuser_peak_streams, st.streams());
    }
    print_table(mgr, ph.name, abuser, typical);
  }

  // Night: everybody leaves.
  streams.clear();
  half_open.clear();
  bootstrap_conn.reset();
  for (auto& p : good) p.conns.clear();
  if (cache) cache.release_memory(6 * mib);
  cache = {};

  // ---- the day's account ----
  std::printf("\nWhat was asked for and what was admitted\n");
  std::printf("  %-13s %-38s %9s %9s %9s %8s\n", "who", "operation", "attempted", "admitted", "refused", "admitted");
  for (const auto& [k, c] : t.ops)
    std::printf("  %-13s %-38s %9ld %9ld %9ld %7.1f%%\n", std::string(who_name(k.first)).c_str(),
                std::string(op_name(k.second)).c_str(), c.first, c.second, c.first - c.second,
                t.admitted_percent(k.first, k.second));

  std::printf("\nRefusals by who, refusing scope and resource\n");
  for (const auto& [k, n] : t.refusals)
    std::printf("  %-13s %-14s %-30s %7ld\n", std::string(who_name(std::get<0>(k))).c_str(), std::get<1>(k).c_str(),
                std::get<2>(k).c_str(), n);

  std::printf("\nThe first refusal of each kind, as the caller sees it (operator<< of rcmgr::error)\n");
  for (const auto& [w, e] : t.examples) std::cout << "  [" << who_name(w) << "] " << e << '\n';

  const auto sys = mgr.view_system([](auto& s) { return s.stat(); });
  std::printf("\nVerdict\n");
  std::printf("  well-behaved stream opens admitted: %.1f%%; optional buffer growth admitted: %.1f%%\n",
              t.admitted_percent(who::well_behaved, op::stream), t.admitted_percent(who::well_behaved, op::growth));
  std::printf("  well-behaved inbound reconnections admitted: %ld of %ld%s\n", churn_in_ok, churn_in,
              churn_in_ok < churn_in ? " (refused ones arrived while transient was full)" : ", none delayed");
  std::printf("  abusive peer: %.1f%% of its stream opens admitted, at most %lld open at once (peer limit: 64 inbound)\n",
              t.admitted_percent(who::abusive, op::stream), (long long)abuser_peak_streams);
  std::printf("  half-open burst from 203.0.113.0/24: %.1f%% admitted, at most %zu open at once (its /24 limit: 16);\n"
              "    transient held at most %lld of its 32 inbound slots meanwhile\n",
              t.admitted_percent(who::half_open, op::connection), half_open_peak, (long long)transient_in_peak);
  std::printf("  distributed burst from 40 subnets: %ld of 40 admitted, filling transient (%lld of 32 inbound)\n", distributed_ok,
              (long long)transient_at_bootstrap);
  std::printf("  allowlisted bootstrap peer: %s\n",
              bootstrap_ok ? "admitted through the allowlisted scopes while transient was full"
              : bootstrap_allowlisted ? "admitted, but its set_peer was refused"
                                      : "refused");
  std::printf("  after everyone left: system holds %lld B, %lld streams, %lld connections, %lld fds; %zu peer scopes live\n",
              (long long)sys.memory, (long long)sys.streams(), (long long)sys.conns(), (long long)sys.fd,
              mgr.live_count<lp::peer_scope>());
  const bool gated_ok = bootstrap_ok && churn_in_ok == churn_in && transient_in_peak < 32;
  return sys.empty() && mgr.live_count<lp::peer_scope>() == 0 && gated_ok ? 0 : 1;
}
