// Limits are validated at every entry point (limit_set::set, the constructor through create(),
// set_limit, set_limits): a negative value, a value for a resource a kind does not account, or a
// key that cannot name a scope is refused with invalid_argument and nothing is applied. Extreme
// values (INT64_MAX limits and reservations, every priority) never overflow: run under UBSan.
#include <cstdint>
#include <limits>

#include "support.hpp"

using namespace rt;

namespace {
constexpr std::int64_t i64_max = std::numeric_limits<std::int64_t>::max();

limit with_conns(std::int64_t n) {
  limit l;
  l.conns = n;
  return l;
}
}  // namespace

TEST_CASE("limit_set refuses negative values and keeps the first refusal for check()", "[limits][validation]") {
  lp::limits ls;
  CHECK(ls.check());
  ls.set<lp::system_scope>(memory_only(-1));
  CHECK(ls.get<lp::system_scope>().memory == rcmgr::unlimited);  // not stored
  ls.set<lp::peer_scope>(peer_a, memory_only(-5));
  CHECK(ls.overrides<lp::peer_scope>().empty());
  auto r = ls.check();
  REQUIRE_FALSE(r);
  CHECK(r.error().code == errc::invalid_argument);
  CHECK(r.error().message() == "system invalid argument: memory is negative");
}

TEST_CASE("limit_set refuses a count on a resource the kind does not account, accepts blockAll and unlimited there",
          "[limits][validation]") {
  lp::limits ls;
  ls.set<lp::service_scope>(with_conns(0));  // go-libp2p writes blockAll for such fields
  ls.set<lp::service_scope>(with_conns(rcmgr::unlimited));
  CHECK(ls.check());
  // stored in the one canonical form: unlimited
  CHECK(ls.get<lp::service_scope>().conns == rcmgr::unlimited);
  ls.set<lp::service_scope>(with_conns(5));
  auto r = ls.check();
  REQUIRE_FALSE(r);
  CHECK(r.error().message() == "service invalid argument: conns is set, but this kind does not account connections");
  limit stream_fd;
  stream_fd.fd = 3;
  lp::limits ls2;
  ls2.set<lp::stream_scope>(stream_fd);
  CHECK_FALSE(ls2.check());
}

TEST_CASE("limit_set refuses per-key limits whose key cannot name a scope", "[limits][validation]") {
  lp::limits ls;
  ls.set<lp::peer_scope>(peer_id(std::string(100, 'x')), memory_only(1));
  CHECK(ls.overrides<lp::peer_scope>().empty());
  REQUIRE_FALSE(ls.check());
  CHECK(ls.check().error().message() == "peer invalid argument: peer id of 100 bytes exceeds the 79-byte maximum");
  lp::limits ls2;
  ls2.set<lp::protocol_peer_scope>(std::string(), memory_only(1));
  REQUIRE_FALSE(ls2.check());
  CHECK(ls2.check().error().message() == "protocol-peer invalid argument: empty key");
}

TEMPLATE_LIST_TEST_CASE("set_limit and set_limits refuse invalid limits and apply nothing", "[limits][validation]",
                        real_managers) {
  lp::limits start;
  start.set<lp::peer_scope>(memory_only(1000));
  TestType mgr{start};
  auto r = mgr.template set_limit<lp::peer_scope>(memory_only(-1));
  REQUIRE_FALSE(r);
  CHECK(r.error().code == errc::invalid_argument);
  CHECK(mgr.template get_limit<lp::peer_scope>().memory == 1000);
  r = mgr.template set_limit<lp::service_scope>(with_conns(7));
  REQUIRE_FALSE(r);
  CHECK(r.error().message() == "service invalid argument: conns is set, but this kind does not account connections");
  r = mgr.template set_limit<lp::peer_scope>(peer_id(""), memory_only(1));
  REQUIRE_FALSE(r);
  CHECK(r.error().message() == "peer invalid argument: empty peer id");
  r = mgr.template set_limit<lp::peer_scope>(peer_a, memory_only(std::numeric_limits<std::int64_t>::min()));
  REQUIRE_FALSE(r);
  CHECK(mgr.core().template state<lp::peer_scope>().overrides.empty());

  lp::limits bad = start;
  bad.set<lp::system_scope>(memory_only(10));
  bad.set<lp::transient_scope>(memory_only(-10));
  REQUIRE_FALSE(mgr.set_limits(bad));
  CHECK(mgr.template get_limit<lp::system_scope>().memory == rcmgr::unlimited);  // not even the valid part
  // the manager still enforces what it had
  RT_OK(mgr.view_peer(peer_a, [](auto& p) { return p.reserve_memory(1000); }));
  RT_REFUSED(TestType, errc::limit_exceeded, mgr.view_peer(peer_a, [](auto& p) { return p.reserve_memory(1); }));
  mgr.view_peer(peer_a, [](auto& p) { p.release_memory(1000); });
}

TEST_CASE("create() refuses invalid limits with an error; valid ones give a manager", "[limits][validation]") {
  lp::limits bad = lp::default_limits();
  bad.set<lp::peer_scope>(limit{-1, 0, 0, 0, 0, 0, 0, 0});
  auto m = rcmgr::resource_manager<>::create(bad);
  REQUIRE_FALSE(m);
  CHECK(m.error().code == errc::invalid_argument);
  CHECK(m.error().message() == "peer invalid argument: streams_inbound is negative");
  auto ok = rcmgr::resource_manager<rcmgr::single_threaded>::create();
  REQUIRE(ok);
  auto c = (*ok)->open_connection(direction::inbound, true);
  CHECK(c);
}

TEMPLATE_LIST_TEST_CASE("extreme limits, reservations and priorities never overflow", "[limits][overflow]", real_managers) {
  // Limits at and next to INT64_MAX (INT64_MAX itself is unlimited), counts far above what a
  // packed counter holds, and every priority from 0 to 255.
  for (std::int64_t top : {i64_max, i64_max - 1, i64_max - 255, i64_max / 2 + 1}) {
    lp::limits ls;
    ls.set<lp::system_scope>(limit{top, top, top, top, top, top, top, top});
    ls.set<lp::peer_scope>(limit{top, top, top, top, top, top, top, top});
    ls.set<lp::stream_scope>(limit{top, top, top, rcmgr::unlimited, rcmgr::unlimited, rcmgr::unlimited, rcmgr::unlimited, top});
    TestType mgr{ls};
    auto s = take(mgr.open_stream(peer_a, direction::inbound));
    for (int prio : {0, 1, 100, 101, 152, 203, 254, 255}) {
      INFO("limit " << top << ", priority " << prio);
      const auto p = std::uint8_t(prio);
      const std::int64_t usable = rcmgr::memory_threshold(top, p);
      CHECK(usable >= 0);
      CHECK(usable <= top);
      for (std::int64_t size : {i64_max, i64_max - 1, usable, usable + (usable < i64_max ? 1 : 0), std::int64_t{1} << 62}) {
        auto r = s.reserve_memory(size, p);
        if (r) s.release_memory(size);
        CHECK(s.stat().memory == 0);
        CHECK(system_stat(mgr).memory == 0);
      }
      // fill up to the threshold, then one more byte is refused with the right numbers
      if (usable > 0 && usable < i64_max) {
        RT_OK(s.reserve_memory(usable, p));
        auto more = s.reserve_memory(1, p);
        REQUIRE_FALSE(more);
        CHECK(more.error().current == usable);
        CHECK(more.error().limit_value == top);
        s.release_memory(usable);
      }
    }
    // views and spans at the top of the range
    mgr.view_peer(peer_a, [&](auto& p) {
      auto r = p.reserve_memory(i64_max);
      if (top == i64_max) {
        CHECK(r);  // everything unlimited: it fits, once
        CHECK_FALSE(p.reserve_memory(1));
        p.release_memory(i64_max);
      } else {
        CHECK_FALSE(r);
      }
    });
    s.done();
    CHECK(system_stat(mgr).empty());
    CHECK(live_peers(mgr) == 0);
  }
}
