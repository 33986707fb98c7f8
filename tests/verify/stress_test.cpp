// Concurrency stress test for rcmgr::thread_safe and rcmgr::thread_cached (run it under ThreadSanitizer with
// scripts/sanitizers). Worker threads open and end connections and streams, attach peers,
// protocols and services, reserve and release through handles, spans and views, and hand
// connections to each other, all on a small set of shared scopes so that every counter and every
// keyed-scope table is contended. A monitor thread samples the shared scopes the whole time and
// checks that none is ever above its limit. In the second phase another thread keeps changing
// limits (lowering and raising them) while the workers run; the monitor then checks against the
// largest limit ever in force. Between rounds, with every worker stopped, everything must be back
// to zero and no peer, protocol-peer or service-peer scope may remain.
//
//   RCMGR_STRESS_ITERS=<n>   calls per worker per round (default 10000)
#include <catch2/catch.hpp>

#include <array>
#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <deque>
#include <iostream>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <tuple>
#include <type_traits>
#include <vector>

#include "rcmgr/rcmgr.hpp"

namespace {

namespace lp = rcmgr::libp2p;
constexpr std::int64_t kib = 1024;

rcmgr::limit counts(std::int64_t s_in, std::int64_t s_out, std::int64_t s, std::int64_t c_in, std::int64_t c_out, std::int64_t c,
                    std::int64_t fd, std::int64_t mem) {
  return {s_in, s_out, s, c_in, c_out, c, fd, mem};
}

/// The limits of the fixed phase; `scale` > 1 gives the high values of the changing phase.
lp::limits stress_limits(std::int64_t scale = 1) {
  lp::limits ls;
  ls.set<lp::system_scope>(counts(40 * scale, 40 * scale, 60 * scale, 20 * scale, 20 * scale, 30 * scale, 10 * scale, 1024 * kib * scale));
  ls.set<lp::transient_scope>(counts(10 * scale, 10 * scale, 15 * scale, 8 * scale, 8 * scale, 10 * scale, 6 * scale, 256 * kib * scale));
  ls.set<lp::peer_scope>(counts(6 * scale, 6 * scale, 8 * scale, 3 * scale, 3 * scale, 4 * scale, 2 * scale, 128 * kib * scale));
  ls.set<lp::protocol_scope>(counts(12 * scale, 12 * scale, 16 * scale, 0, 0, 0, 0, 256 * kib * scale));
  ls.set<lp::service_scope>(counts(12 * scale, 12 * scale, 16 * scale, 0, 0, 0, 0, 256 * kib * scale));
  ls.set<lp::protocol_peer_scope>(counts(3 * scale, 3 * scale, 4 * scale, 0, 0, 0, 0, 64 * kib * scale));
  ls.set<lp::service_peer_scope>(counts(3 * scale, 3 * scale, 4 * scale, 0, 0, 0, 0, 64 * kib * scale));
  ls.set<lp::connection_scope>(counts(0, 0, 0, 1, 1, 1, 1, 32 * kib * scale));
  ls.set<lp::stream_scope>(counts(1, 1, 1, 0, 0, 0, 0, 16 * kib * scale));
  ls.set<lp::peer_scope>(rcmgr::peer_id("p1"), counts(2 * scale, 2 * scale, 3 * scale, 1 * scale, 1 * scale, 2 * scale, 1 * scale, 32 * kib * scale));
  return ls;
}

const std::array<const char*, 6> peer_ids{"p0", "p1", "p2", "p3", "p4", "p5"};
const std::array<const char*, 3> protocol_ids{"/a", "/b", "/c"};
const std::array<const char*, 2> service_names{"s0", "s1"};

struct rng {
  std::uint64_t s;
  std::uint64_t next() {
    std::uint64_t z = (s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  std::uint64_t below(std::uint64_t n) { return next() % n; }
};

bool within(const rcmgr::scope_stat& s, const rcmgr::limit& l) {
  return s.memory >= 0 && s.memory <= l.memory && s.streams_inbound >= 0 && s.streams_outbound >= 0 &&
         s.streams_inbound <= l.streams_inbound && s.streams_outbound <= l.streams_outbound && s.streams() <= l.streams &&
         s.conns_inbound >= 0 && s.conns_outbound >= 0 && s.conns_inbound <= l.conns_inbound &&
         s.conns_outbound <= l.conns_outbound && s.conns() <= l.conns && s.fd >= 0 && s.fd <= l.fd;
}

/// Connections handed from one worker to another (a handle used by one thread at a time,
/// passed through a mutex, as a real node passes a connection to its upgrader).
template <class Mgr>
struct handoff {
  std::mutex mu;
  std::deque<typename Mgr::connection> q;
};

struct totals {
  std::atomic<std::uint64_t> calls{0}, refused{0}, samples{0}, limit_changes{0}, refused_changes{0};
};

/// One worker's round: random calls on its own handles and on the shared scopes, then
/// everything it holds is released and ended.
template <class Mgr>
void worker(Mgr& mgr, handoff<Mgr>& h, totals& t, std::uint64_t seed, int iters, std::atomic<bool>& bad, std::string& why) {
  rng r{seed};
  using mgr_t = Mgr;
  struct held_stream {
    typename mgr_t::stream s;
    std::int64_t bytes = 0;  // reserved on the stream itself
  };
  struct held_conn {
    typename mgr_t::connection c;
    std::int64_t bytes = 0;
  };
  struct held_span {
    typename mgr_t::template span<lp::stream_scope> s;
    std::int64_t bytes = 0;
  };
  struct held_peer {
    typename mgr_t::peer_ref p;
    std::int64_t bytes = 0;  // reserved directly on the peer through this reference
  };
  std::vector<held_conn> conns;
  std::vector<held_stream> streams;
  std::vector<held_span> spans;
  std::vector<held_peer> peers;
  std::uint64_t calls = 0, refused = 0;
  auto fail = [&](const std::string& w) {
    if (!bad.exchange(true)) why = w;
  };
  auto count = [&](const auto& res) {
    ++calls;
    if (!res) {
      if (res.error().code == rcmgr::errc::limit_exceeded) ++refused;
      else if (res.error().code != rcmgr::errc::already_attached) fail("unexpected error: " + res.error().message());
    }
    return bool(res);
  };
  auto prio = [&] { return std::uint8_t(r.below(4) == 0 ? r.below(256) : rcmgr::priority::always); };

  for (int i = 0; i < iters && !bad.load(std::memory_order_relaxed); ++i) {
    switch (r.below(16)) {
      case 0:
        if (conns.size() < 3) {
          auto c = mgr.open_connection(r.below(2) ? rcmgr::direction::inbound : rcmgr::direction::outbound, r.below(2) != 0);
          if (count(c)) {
            if (r.below(3) != 0) count(c->set_peer(rcmgr::peer_id(peer_ids[r.below(peer_ids.size())])));
            conns.push_back({std::move(*c), 0});
          }
        }
        break;
      case 1:
      case 2:
        if (streams.size() < 4) {
          auto s = mgr.open_stream(rcmgr::peer_id(peer_ids[r.below(peer_ids.size())]),
                                   r.below(2) ? rcmgr::direction::inbound : rcmgr::direction::outbound);
          if (count(s)) {
            if (r.below(4) != 0 && count(s->set_protocol(protocol_ids[r.below(protocol_ids.size())])) && r.below(2))
              count(s->set_service(service_names[r.below(service_names.size())]));
            streams.push_back({std::move(*s), 0});
          }
        }
        break;
      case 3:
      case 4:
        if (!streams.empty()) {
          auto& s = streams[r.below(streams.size())];
          const std::int64_t n = std::int64_t(r.below(12 * kib));
          if (count(s.s.reserve_memory(n, prio()))) s.bytes += n;
        }
        break;
      case 5:
        if (!streams.empty()) {
          auto& s = streams[r.below(streams.size())];
          const std::int64_t n = std::int64_t(r.below(std::uint64_t(s.bytes) + 1));
          s.s.release_memory(n);
          s.bytes -= n;
          ++calls;
        }
        break;
      case 6:
        if (!conns.empty()) {
          auto& c = conns[r.below(conns.size())];
          if (r.below(2)) {
            const std::int64_t n = std::int64_t(r.below(24 * kib));
            if (count(c.c.reserve_memory(n, prio()))) c.bytes += n;
          } else {
            c.c.release_memory(c.bytes);
            c.bytes = 0;
            ++calls;
          }
        }
        break;
      case 7:
        if (!streams.empty() && spans.size() < 3) {
          auto sp = streams[r.below(streams.size())].s.begin_span();
          if (sp) {
            ++calls;
            const std::int64_t n = std::int64_t(r.below(8 * kib));
            held_span hs{std::move(*sp), 0};
            if (count(hs.s.reserve_memory(n, prio()))) hs.bytes = n;
            spans.push_back(std::move(hs));
          }
        }
        break;
      case 8:
        if (!spans.empty()) {
          const std::size_t k = r.below(spans.size());
          if (r.below(2)) spans[k].s.release_memory(spans[k].bytes);
          spans[k].s.done();
          spans.erase(spans.begin() + std::ptrdiff_t(k));
          ++calls;
        }
        break;
      case 9:  // a peer reference kept across calls, with memory reserved directly on the peer
        if (peers.size() < 2) {
          mgr.view_peer(rcmgr::peer_id(peer_ids[r.below(peer_ids.size())]), [&](typename mgr_t::peer_ref& p) {
            held_peer hp{p, 0};
            const std::int64_t n = std::int64_t(r.below(8 * kib));
            if (count(hp.p.reserve_memory(n, prio()))) hp.bytes = n;
            peers.push_back(std::move(hp));
          });
        } else {
          const std::size_t k = r.below(peers.size());
          peers[k].p.release_memory(peers[k].bytes);
          peers.erase(peers.begin() + std::ptrdiff_t(k));
          ++calls;
        }
        break;
      case 10: {  // shared scopes, reserved and released within one call
        const std::int64_t n = std::int64_t(r.below(16 * kib));
        auto use = [&](auto& s) {
          if (count(s.reserve_memory(n, prio()))) s.release_memory(n);
        };
        switch (r.below(4)) {
          case 0: mgr.view_system(use); break;
          case 1: mgr.view_transient(use); break;
          case 2: mgr.view_protocol(protocol_ids[r.below(protocol_ids.size())], use); break;
          default: mgr.view_service(service_names[r.below(service_names.size())], use); break;
        }
        break;
      }
      case 11:  // a span on a shared scope
        mgr.view_peer(rcmgr::peer_id(peer_ids[r.below(peer_ids.size())]), [&](typename mgr_t::peer_ref& p) {
          auto sp = p.begin_span();
          if (!sp) return fail("begin_span on a peer failed");
          const std::int64_t n = std::int64_t(r.below(4 * kib));
          count(sp->reserve_memory(n, prio()));
          // ends with the handle: releases what it reserved
        });
        break;
      case 12:
        if (!streams.empty()) {
          const std::size_t k = r.below(streams.size());
          if (r.below(2)) streams[k].s.done();  // explicit; or the destructor ends it
          streams.erase(streams.begin() + std::ptrdiff_t(k));
          ++calls;
        }
        break;
      case 13:
        if (!conns.empty()) {
          const std::size_t k = r.below(conns.size());
          conns.erase(conns.begin() + std::ptrdiff_t(k));
          ++calls;
        }
        break;
      case 14:  // hand a connection to whichever worker takes it next
        if (!conns.empty()) {
          auto c = std::move(conns.back());
          conns.pop_back();
          c.c.release_memory(c.bytes);
          std::lock_guard lk(h.mu);
          h.q.push_back(std::move(c.c));
          ++calls;
        }
        break;
      default: {
        std::optional<typename mgr_t::connection> c;
        {
          std::lock_guard lk(h.mu);
          if (!h.q.empty()) {
            c.emplace(std::move(h.q.front()));
            h.q.pop_front();
          }
        }
        if (c) {
          if (c->peer_scope()) count(c->reserve_memory(std::int64_t(r.below(kib)), prio()));
          else count(c->set_peer(rcmgr::peer_id(peer_ids[r.below(peer_ids.size())])));
          c->done();
          ++calls;
        }
        break;
      }
    }
  }
  // release and end everything this worker holds
  for (auto& p : peers) p.p.release_memory(p.bytes);
  peers.clear();
  spans.clear();
  streams.clear();
  conns.clear();
  t.calls += calls;
  t.refused += refused;
}

/// Samples every shared scope until `stop`, checking each against `cap`.
template <class Mgr>
void monitor(Mgr& mgr, const lp::limits& cap, totals& t, std::atomic<bool>& stop, std::atomic<bool>& bad, std::string& why) {
  auto check = [&](const std::string& what, const rcmgr::scope_stat& s, const rcmgr::limit& l) {
    if (!within(s, l) && !bad.exchange(true))
      why = what + " above its limit: mem " + std::to_string(s.memory) + " streams " + std::to_string(s.streams_inbound) + "/" +
            std::to_string(s.streams_outbound) + " conns " + std::to_string(s.conns_inbound) + "/" + std::to_string(s.conns_outbound) +
            " fd " + std::to_string(s.fd);
  };
  rcmgr::limit peer_cap = cap.get<lp::peer_scope>();
  {  // the p1 override is below the default; a peer's cap is the larger of the two
    const rcmgr::limit o = cap.get<lp::peer_scope>(rcmgr::peer_id("p1"));
    peer_cap.memory = std::max(peer_cap.memory, o.memory);
  }
  while (!stop.load()) {
    check("system", mgr.template stat<lp::system_scope>(), cap.get<lp::system_scope>());
    check("transient", mgr.template stat<lp::transient_scope>(), cap.get<lp::transient_scope>());
    for (auto& [k, s] : mgr.list_peers()) check("peer " + std::string(k.str()), s, peer_cap);
    for (auto& [k, s] : mgr.list_protocols()) check("protocol " + k, s, cap.get<lp::protocol_scope>());
    for (auto& [k, s] : mgr.list_services()) check("service " + k, s, cap.get<lp::service_scope>());
    for (auto& [k, s] : mgr.template list<lp::protocol_peer_scope>()) check("protocol-peer " + k.first, s, cap.get<lp::protocol_peer_scope>());
    for (auto& [k, s] : mgr.template list<lp::service_peer_scope>()) check("service-peer " + k.first, s, cap.get<lp::service_peer_scope>());
    ++t.samples;
    std::this_thread::yield();
  }
}

/// Lowers and raises limits while the workers run; never above `stress_limits(2)`.
template <class Mgr>
void limit_changer(Mgr& mgr, totals& t, std::atomic<bool>& stop) {
  rng r{0xc0ffee};
  const lp::limits low = stress_limits(1), high = stress_limits(2);
  while (!stop.load()) {
    const lp::limits& pick = r.below(2) ? low : high;
    bool ok = true;
    switch (r.below(6)) {
      case 0: ok = bool(mgr.template set_limit<lp::system_scope>(pick.get<lp::system_scope>())); break;
      case 1: ok = bool(mgr.template set_limit<lp::peer_scope>(pick.get<lp::peer_scope>())); break;
      case 2:
        ok = bool(mgr.template set_limit<lp::peer_scope>(rcmgr::peer_id(peer_ids[r.below(peer_ids.size())]),
                                                          pick.get<lp::peer_scope>(rcmgr::peer_id("p1"))));
        break;
      case 3: ok = bool(mgr.template set_limit<lp::protocol_peer_scope>(pick.get<lp::protocol_peer_scope>())); break;
      case 4: ok = bool(mgr.template set_limit<lp::stream_scope>(pick.get<lp::stream_scope>())); break;
      default: ok = bool(mgr.set_limits(pick)); break;
    }
    if (!ok) t.refused_changes++;
    ++t.limit_changes;
    std::this_thread::yield();
  }
}

/// With every worker stopped: nothing is held anywhere and no peer or view scope remains.
template <class Mgr>
void check_quiescent(Mgr& mgr) {
  CHECK(mgr.template stat<lp::system_scope>().empty());
  CHECK(mgr.template stat<lp::transient_scope>().empty());
  CHECK(mgr.template live_count<lp::peer_scope>() == 0);
  CHECK(mgr.template live_count<lp::protocol_peer_scope>() == 0);
  CHECK(mgr.template live_count<lp::service_peer_scope>() == 0);
  for (auto& [k, s] : mgr.list_protocols()) CHECK(s.empty());
  for (auto& [k, s] : mgr.list_services()) CHECK(s.empty());
  CHECK(mgr.misuse().over_releases == 0);
  CHECK(mgr.misuse().negative_releases == 0);
}

template <class Mgr>
void run_phase(Mgr& mgr, const lp::limits& cap, bool change_limits, int rounds, totals& t) {
  const int iters = int(std::strtol(std::getenv("RCMGR_STRESS_ITERS") ? std::getenv("RCMGR_STRESS_ITERS") : "10000", nullptr, 10));
  constexpr int n_workers = 4;
  for (int round = 0; round < rounds; ++round) {
    handoff<Mgr> h;
    std::atomic<bool> stop{false}, bad{false};
    std::string why_worker[n_workers], why_monitor;
    std::thread mon(monitor<Mgr>, std::ref(mgr), std::cref(cap), std::ref(t), std::ref(stop), std::ref(bad), std::ref(why_monitor));
    std::optional<std::thread> changer;
    if (change_limits) changer.emplace(limit_changer<Mgr>, std::ref(mgr), std::ref(t), std::ref(stop));
    std::vector<std::thread> ws;
    for (int w = 0; w < n_workers; ++w)
      ws.emplace_back(worker<Mgr>, std::ref(mgr), std::ref(h), std::ref(t), std::uint64_t(round * 100 + w + (change_limits ? 7 : 0)), iters,
                      std::ref(bad), std::ref(why_worker[w]));
    for (auto& w : ws) w.join();
    stop = true;
    mon.join();
    if (changer) changer->join();
    h.q.clear();  // connections still waiting in the hand-off queue end here
    INFO("round " << round << (change_limits ? " (limits changing)" : " (limits fixed)"));
    for (auto& w : why_worker) CHECK(w == "");
    CHECK(why_monitor == "");
    CHECK_FALSE(bad.load());
    if (change_limits) REQUIRE(mgr.set_limits(cap));
    check_quiescent(mgr);
  }
}

}  // namespace

// thread_cached keeps per-thread stock on system, transient, protocols and services; stat()
// leaves the stock out, so the same checks apply. A 1 KiB chunk next to the limits above keeps
// stock in play and refusals frequent.
using stress_policies = std::tuple<rcmgr::thread_safe, rcmgr::thread_cached<1024, 2>>;

TEMPLATE_LIST_TEST_CASE("concurrent use never exceeds a limit and always returns to zero", "[verify][stress]", stress_policies) {
  using mgr_t = rcmgr::resource_manager<TestType>;
  totals t;
  const lp::limits fixed = stress_limits(1);
  mgr_t mgr(fixed);
  run_phase(mgr, fixed, false, 3, t);
  // the limits now move under the workers; usage is checked against the largest ever set
  run_phase(mgr, stress_limits(2), true, 3, t);
  std::cout << "stress[" << (std::is_same_v<TestType, rcmgr::thread_safe> ? "thread_safe" : "thread_cached<1024, 2>")
            << "]: " << t.calls.load() << " calls on 4 threads (" << t.refused.load() << " refused by a limit), "
            << t.samples.load() << " monitor samples, " << t.limit_changes.load() << " limit changes\n";
  CHECK(t.refused.load() > 0);  // the limits were reached: the test exercised refusals
  CHECK(t.samples.load() > 0);
  CHECK(t.refused_changes.load() == 0);
}
