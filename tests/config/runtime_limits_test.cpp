// Changing limits while the manager runs: set_limit<K>(limit), set_limit<K>(key, limit),
// set_limits(limit_set), get_limit<K>(), under both concurrency policies.
#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <thread>
#include <vector>

#include "rcmgr/rcmgr.hpp"

using namespace rcmgr::libp2p;
using rcmgr::direction;
using rcmgr::limit;
using rcmgr::unlimited;

namespace {
using policies = std::tuple<rcmgr::resource_manager<rcmgr::thread_safe>, rcmgr::resource_manager<rcmgr::single_threaded>>;

/// Limits that refuse nothing except what a test sets.
limits open_limits() { return limits{}; }  // every field of every kind unlimited

limit with_memory(limit l, std::int64_t bytes) {
  l.memory = bytes;
  return l;
}
limit with_streams(limit l, std::int64_t in, std::int64_t out, std::int64_t total) {
  l.streams_inbound = in;
  l.streams_outbound = out;
  l.streams = total;
  return l;
}

const rcmgr::peer_id alice("12D3KooWAlice");
const rcmgr::peer_id bob("12D3KooWBob");
}  // namespace

TEMPLATE_LIST_TEST_CASE("new reservations see a new default limit at once", "[runtime]", policies) {
  TestType mgr(open_limits());
  CHECK(mgr.template get_limit<system_scope>() == limit{});
  auto s = mgr.open_stream(alice, direction::outbound);
  REQUIRE(s);

  REQUIRE(mgr.template set_limit<system_scope>(with_memory(limit{}, 1000)));
  CHECK(mgr.template get_limit<system_scope>().memory == 1000);
  CHECK(s->reserve_memory(1000));
  auto e = s->reserve_memory(1);
  REQUIRE_FALSE(e);
  CHECK(e.error().scope.kind == "system");
  CHECK(e.error().limit_value == 1000);

  REQUIRE(mgr.template set_limit<system_scope>(with_memory(limit{}, 5000)));
  CHECK(s->reserve_memory(4000));
  CHECK_FALSE(s->reserve_memory(1));
  s->done();
  CHECK(mgr.template stat<system_scope>().empty());

  // per-object kinds: the new limit applies to streams already open
  auto t = mgr.open_stream(alice, direction::inbound);
  REQUIRE(t);
  REQUIRE(mgr.template set_limit<stream_scope>(with_memory(limit{}, 10)));
  CHECK_FALSE(t->reserve_memory(11));
  CHECK(t->reserve_memory(10));
  REQUIRE(mgr.template set_limit<stream_scope>(limit{}));
  CHECK(t->reserve_memory(4000));  // the system's 5000 B is what limits it now
  CHECK_FALSE(t->reserve_memory(991));
}

TEMPLATE_LIST_TEST_CASE("usage above a lowered limit stays; further reservations fail until it falls", "[runtime]", policies) {
  TestType mgr(open_limits());
  std::vector<typename TestType::stream> streams;
  for (int i = 0; i < 10; ++i) {
    auto s = mgr.open_stream(i % 2 ? alice : bob, direction::inbound);
    REQUIRE(s);
    REQUIRE(s->reserve_memory(100));
    streams.push_back(std::move(*s));
  }
  CHECK(mgr.template stat<system_scope>().streams_inbound == 10);
  CHECK(mgr.template stat<system_scope>().memory == 1000);

  REQUIRE(mgr.template set_limit<system_scope>(with_memory(with_streams(limit{}, 4, 4, 4), 500)));
  // nothing is taken away
  CHECK(mgr.template stat<system_scope>().streams_inbound == 10);
  CHECK(mgr.template stat<system_scope>().memory == 1000);
  CHECK(streams[0].stat().memory == 100);
  // but nothing more is given
  auto more = mgr.open_stream(alice, direction::inbound);
  REQUIRE_FALSE(more);
  CHECK(more.error().res == rcmgr::resource::streams);
  CHECK(more.error().current == 10);
  CHECK(more.error().limit_value == 4);
  auto mem = streams[0].reserve_memory(1);
  REQUIRE_FALSE(mem);
  CHECK(mem.error().current == 1000);
  CHECK(mem.error().limit_value == 500);
  CHECK(mgr.template stat<system_scope>().memory == 1000);  // the refusal charged nothing

  // releasing works as usual, and once below the limit reservations pass again
  streams.resize(4);  // ends 6 streams and their memory
  CHECK(mgr.template stat<system_scope>().streams_inbound == 4);
  CHECK(mgr.template stat<system_scope>().memory == 400);
  CHECK(streams[0].reserve_memory(100));
  CHECK_FALSE(streams[0].reserve_memory(1));
  CHECK_FALSE(mgr.open_stream(alice, direction::inbound));
  streams.pop_back();
  auto again = mgr.open_stream(alice, direction::inbound);
  CHECK(again);
}

TEMPLATE_LIST_TEST_CASE("a per-peer limit added while the peer's scope is live takes effect", "[runtime]", policies) {
  limits ls = open_limits();
  ls.set<peer_scope>(with_streams(limit{}, 100, 100, 100));
  TestType mgr(ls);
  auto a1 = mgr.open_stream(alice, direction::inbound);
  auto a2 = mgr.open_stream(alice, direction::inbound);
  auto b1 = mgr.open_stream(bob, direction::inbound);
  REQUIRE(a1);
  REQUIRE(a2);
  REQUIRE(b1);
  REQUIRE(mgr.template live_count<peer_scope>() == 2);

  REQUIRE(mgr.template set_limit<peer_scope>(alice, with_memory(with_streams(limit{}, 2, 2, 2), 64)));
  auto a3 = mgr.open_stream(alice, direction::inbound);
  REQUIRE_FALSE(a3);
  CHECK(a3.error().scope.kind == "peer");
  CHECK(a3.error().scope.key() == alice.str());
  CHECK(a3.error().limit_value == 2);
  CHECK(a1->reserve_memory(64));
  CHECK_FALSE(a2->reserve_memory(1));
  // other peers keep the default
  auto b2 = mgr.open_stream(bob, direction::inbound);
  CHECK(b2);
  CHECK(b1->reserve_memory(1 << 20));

  // replacing the override in place, again while live
  REQUIRE(mgr.template set_limit<peer_scope>(alice, with_streams(limit{}, 3, 3, 3)));
  auto a4 = mgr.open_stream(alice, direction::inbound);
  CHECK(a4);
  CHECK(a2->reserve_memory(1 << 20));  // memory no longer limited for alice

  // the default of a kind does not touch peers with an override
  REQUIRE(mgr.template set_limit<peer_scope>(with_streams(limit{}, 1, 1, 1)));
  CHECK_FALSE(mgr.open_stream(bob, direction::inbound));
  CHECK_FALSE(mgr.open_stream(alice, direction::inbound));  // 3 open, 3 allowed

  // set_limits replaces overrides wholesale: alice's goes, she falls back to the default
  limits next = open_limits();
  next.set<peer_scope>(with_streams(limit{}, 10, 10, 10));
  REQUIRE(mgr.set_limits(next));
  auto a5 = mgr.open_stream(alice, direction::inbound);
  CHECK(a5);
  CHECK(mgr.template get_limit<peer_scope>().streams == 10);
}

TEMPLATE_LIST_TEST_CASE("per-key limits of views and retained scopes change while live", "[runtime]", policies) {
  TestType mgr(open_limits());
  auto s = mgr.open_stream(alice, direction::outbound);
  REQUIRE(s);
  REQUIRE(s->set_protocol("/ipfs/bitswap/1.2.0"));
  REQUIRE(s->set_service("bitswap"));
  REQUIRE(s->reserve_memory(100));

  REQUIRE(mgr.template set_limit<protocol_peer_scope>(std::string("/ipfs/bitswap/1.2.0"), with_memory(limit{}, 150)));
  auto e = s->reserve_memory(51);
  REQUIRE_FALSE(e);
  CHECK(e.error().scope.kind == "protocol-peer");
  CHECK(s->reserve_memory(50));

  REQUIRE(mgr.template set_limit<service_scope>(std::string("bitswap"), with_memory(limit{}, 100)));
  REQUIRE(mgr.template set_limit<protocol_peer_scope>(std::string("/ipfs/bitswap/1.2.0"), limit{}));
  auto f = s->reserve_memory(1);
  REQUIRE_FALSE(f);
  CHECK(f.error().scope.kind == "service");
  CHECK(f.error().current == 150);  // above the new limit, kept

  REQUIRE(mgr.template set_limit<protocol_scope>(std::string("/ipfs/bitswap/1.2.0"), with_streams(limit{}, 1, 1, 1)));
  auto s2 = mgr.open_stream(bob, direction::outbound);
  REQUIRE(s2);
  auto p = s2->set_protocol("/ipfs/bitswap/1.2.0");
  REQUIRE_FALSE(p);
  CHECK(p.error().scope.kind == "protocol");
  CHECK(s2->set_protocol("/ipfs/id/1.0.0"));  // the refusal left it free to retry elsewhere
}

TEMPLATE_LIST_TEST_CASE("set_limits replaces every kind and get_limit reports what is in force", "[runtime]", policies) {
  TestType mgr;  // go's defaults
  CHECK(mgr.template get_limit<peer_scope>() == default_limits().get<peer_scope>());
  limits next = default_limits();
  next.set<connection_scope>(with_memory(next.get<connection_scope>(), 1 << 20));
  next.set<transient_scope>(limit::blocked());
  REQUIRE(mgr.set_limits(next));
  CHECK(mgr.template get_limit<connection_scope>().memory == 1 << 20);
  CHECK(mgr.template get_limit<transient_scope>() == limit::blocked());
  auto c = mgr.open_connection(direction::inbound, true);
  REQUIRE_FALSE(c);
  CHECK(c.error().scope.kind == "transient");
  REQUIRE(mgr.set_limits(default_limits()));
  CHECK(mgr.open_connection(direction::inbound, true));
}

TEST_CASE("set_limits keeps exactly the overrides of the set it applies, nothing retired") {
  limits ls = open_limits();
  for (int i = 0; i < 50; ++i) ls.set<peer_scope>(rcmgr::peer_id("12D3KooWPeer" + std::to_string(i)), limit::blocked());
  rcmgr::resource_manager<> mgr(ls);
  auto s = mgr.open_stream(rcmgr::peer_id("12D3KooWPeer7"), direction::inbound);
  REQUIRE_FALSE(s);  // blocked by its override
  for (int round = 0; round < 100; ++round) REQUIRE(mgr.set_limits(ls));
  // a node re-reading its limit file every minute must not grow without bound
  CHECK(mgr.core().template state<peer_scope>().overrides.size() == 50);
  ls.erase<peer_scope>(rcmgr::peer_id("12D3KooWPeer7"));
  REQUIRE(mgr.set_limits(ls));
  CHECK(mgr.core().template state<peer_scope>().overrides.size() == 49);  // the removed one is gone
  CHECK(mgr.open_stream(rcmgr::peer_id("12D3KooWPeer7"), direction::inbound));
}

TEST_CASE("concurrent reservations while another thread flips limits") {
  // Two limit sets; the flipper alternates between them (whole sets, single kinds and per-peer
  // entries) while workers open streams, attach protocols, reserve and release. Every scope's
  // usage must stay within the larger of the two limits at all times, and return to zero.
  limit sys_a = with_memory(with_streams(limit{}, 40, 40, 60), 40 << 10);
  limit sys_b = with_memory(with_streams(limit{}, 12, 12, 16), 8 << 10);
  limit peer_a = with_memory(with_streams(limit{}, 10, 10, 12), 12 << 10);
  limit peer_b = with_memory(with_streams(limit{}, 3, 3, 4), 2 << 10);
  limits set_a = open_limits(), set_b = open_limits();
  set_a.set<system_scope>(sys_a).set<peer_scope>(peer_a);
  set_b.set<system_scope>(sys_b).set<peer_scope>(peer_b);
  set_b.set<peer_scope>(alice, peer_a);  // alice's entry comes and goes with the sets
  const std::int64_t max_sys_streams = 60, max_sys_in = 40, max_sys_mem = 40 << 10;
  const std::int64_t max_peer_streams = 12, max_peer_mem = 12 << 10;

  rcmgr::resource_manager<rcmgr::thread_safe> mgr(set_a);
  const rcmgr::peer_id peers[] = {alice, bob, rcmgr::peer_id("12D3KooWCarol")};
  std::atomic<bool> stop{false};
  std::atomic<int> violations{0};
  std::atomic<std::int64_t> granted{0}, refused{0};

  auto check_usage = [&] {
    const auto s = mgr.stat<system_scope>();
    if (s.streams() > max_sys_streams || s.streams_inbound > max_sys_in || s.memory > max_sys_mem) ++violations;
    for (const auto& [p, st] : mgr.list_peers())
      if (st.streams() > max_peer_streams || st.memory > max_peer_mem) ++violations;
  };

  auto worker = [&](int id) {
    std::vector<decltype(mgr)::stream> held;
    for (int i = 0; i < 4000; ++i) {
      const auto& p = peers[(i + id) % 3];
      auto s = mgr.open_stream(p, (i & 1) ? direction::inbound : direction::outbound);
      if (!s) {
        ++refused;
      } else {
        ++granted;
        if (i % 3 == 0) (void)s->set_protocol(i % 2 ? "/a/1" : "/b/1");
        if (s->reserve_memory(512 + 64 * (i % 7), (i % 4) * 64 + 63)) ++granted;
        else ++refused;
        held.push_back(std::move(*s));
      }
      if ((i & 7) == 0) check_usage();
      if (held.size() > 6 || (i % 5) == 0) {
        if (!held.empty()) {
          if (held.front().stat().memory >= 100) held.front().release_memory(100);  // partial release, then end
          held.erase(held.begin());
        }
      }
    }
  };
  std::thread flipper([&] {
    for (unsigned n = 0; !stop.load(); ++n) {
      switch (n % 4) {
        case 0: if (!mgr.set_limits(set_b)) ++violations; break;
        case 1: if (!mgr.set_limit<system_scope>(sys_a)) ++violations; break;
        case 2: if (!mgr.set_limit<peer_scope>(bob, peer_b)) ++violations; break;
        case 3: if (!mgr.set_limits(set_a)) ++violations; break;
      }
      check_usage();
      std::this_thread::yield();
    }
  });
  std::vector<std::thread> workers;
  for (int w = 0; w < 3; ++w) workers.emplace_back(worker, w);
  for (auto& t : workers) t.join();
  stop = true;
  flipper.join();

  CHECK(violations.load() == 0);
  CHECK(granted.load() > 0);
  CHECK(refused.load() > 0);  // the limits did bite
  CHECK(mgr.stat<system_scope>().empty());
  CHECK(mgr.stat<transient_scope>().empty());
  CHECK(mgr.live_count<peer_scope>() == 0);
  for (const auto& [proto, st] : mgr.list_protocols()) CHECK(st.empty());
  CHECK(mgr.misuse().over_releases == 0);
}
