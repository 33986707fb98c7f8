// Regression tests for bugs the differential test (differential_test.cpp) found, each reduced
// to the few calls that show it. Run for both concurrency policies.
#include <catch2/catch.hpp>

#include <cstdint>
#include <optional>
#include <tuple>

#include "rcmgr/rcmgr.hpp"

namespace lp = rcmgr::libp2p;
using policies = std::tuple<rcmgr::thread_safe, rcmgr::single_threaded>;

TEMPLATE_LIST_TEST_CASE("a refusal names the narrowest scope: a view before the scopes it is a view of", "[verify][regression]",
                        policies) {
  // Found as: "engine: system refused ..., model: protocol-peer refused ...". Views have no edges
  // of their own, so the charge order put them after system.
  lp::limits ls;
  rcmgr::limit pp, sys;
  pp.memory = 10;
  sys.memory = 15;
  ls.set<lp::protocol_peer_scope>(pp);
  ls.set<lp::system_scope>(sys);
  rcmgr::resource_manager<TestType> mgr(ls);
  auto s = mgr.open_stream(rcmgr::peer_id("p"), rcmgr::direction::inbound);
  REQUIRE(s);
  REQUIRE(s->set_protocol("/x"));
  auto r = s->reserve_memory(20);
  REQUIRE_FALSE(r);
  CHECK(r.error().code == rcmgr::errc::limit_exceeded);
  CHECK(r.error().scope.str() == "protocol-peer:/x@p");
  CHECK(r.error().limit_value == 10);
  // and a service-peer view is checked before its service and protocol
  rcmgr::limit sp;
  sp.memory = 5;
  REQUIRE(mgr.template set_limit<lp::service_peer_scope>(sp));
  REQUIRE(mgr.template set_limit<lp::protocol_peer_scope>(rcmgr::limit{}));
  REQUIRE(s->set_service("svc"));
  auto r2 = s->reserve_memory(20);
  REQUIRE_FALSE(r2);
  CHECK(r2.error().scope.str() == "service-peer:svc@p");
  CHECK(mgr.template stat<lp::system_scope>().memory == 0);
}

TEMPLATE_LIST_TEST_CASE("the over-released byte count saturates instead of overflowing", "[verify][regression]", policies) {
  // Found as: misuse counters "engine 2/-9223372036854775750, model 2/9223372036854775807".
  // Two releases of INT64_MAX bytes nobody reserved overflowed the counter (undefined behaviour
  // under single_threaded, a negative total under thread_safe).
  rcmgr::resource_manager<TestType> mgr;
  mgr.view_system([](auto& sys) {
    sys.release_memory(INT64_MAX);
    sys.release_memory(INT64_MAX);
    sys.release_memory(1);
  });
  const auto m = mgr.misuse();
  CHECK(m.over_releases == 3);
  CHECK(m.over_released_bytes == INT64_MAX);
  CHECK(mgr.template stat<lp::system_scope>().memory == 0);
}

TEMPLATE_LIST_TEST_CASE("destroying a handle ends its scope even while spans are open on it", "[verify][regression]", policies) {
  // Found as: "system: engine {streams 1/2}, model {streams 1/1}" after a stream handle was
  // replaced while a span on it was still open: the span's reference kept the stream charged.
  rcmgr::resource_manager<TestType> mgr;
  std::optional<typename rcmgr::resource_manager<TestType>::stream> s;
  {
    auto r = mgr.open_stream(rcmgr::peer_id("p"), rcmgr::direction::outbound);
    REQUIRE(r);
    s.emplace(std::move(*r));
  }
  auto span = s->begin_span();
  REQUIRE(span);
  REQUIRE(span->reserve_memory(100));
  REQUIRE(mgr.template stat<lp::system_scope>().memory == 100);
  s.reset();  // the stream handle goes away; the span outlives it
  CHECK(mgr.template stat<lp::system_scope>().empty());
  CHECK(mgr.template stat<lp::transient_scope>().empty());
  CHECK(mgr.template live_count<lp::peer_scope>() == 0);
  auto again = span->reserve_memory(1);
  REQUIRE_FALSE(again);
  CHECK(again.error().code == rcmgr::errc::scope_closed);
  CHECK(again.error().scope.str() == "stream");
  span->release_memory(100);  // stops at the ended stream; nothing goes negative
  span->done();
  CHECK(mgr.template stat<lp::system_scope>().empty());
}

TEMPLATE_LIST_TEST_CASE("a refused huge reservation on a span does not overflow the span's counter", "[verify][regression]",
                        policies) {
  // Found under UBSan: "signed integer overflow: 9223372036854775807 + 140". A span added the
  // bytes to its own counter before its owner refused them; with 140 B already held, a request
  // for INT64_MAX bytes overflowed (undefined behaviour under single_threaded).
  rcmgr::resource_manager<TestType> mgr{lp::limits{}};  // everything unlimited
  auto c = mgr.open_connection(rcmgr::direction::inbound, false);
  REQUIRE(c);
  auto span = c->begin_span();
  REQUIRE(span);
  REQUIRE(span->reserve_memory(140));
  auto r = span->reserve_memory(INT64_MAX);
  REQUIRE_FALSE(r);
  CHECK(r.error().code == rcmgr::errc::limit_exceeded);
  CHECK(r.error().scope.str() == "connection");
  CHECK(span->stat().memory == 140);
  CHECK(c->stat().memory == 140);
  CHECK(mgr.template stat<lp::system_scope>().memory == 140);
}

TEST_CASE("thread_cached: bytes released into a thread's stock are not handed out again above a lowered limit",
          "[verify][regression]") {
  // Found as: "engine succeeded, model says limit_exceeded at system" after set_limit lowered
  // system's memory limit to 0. The released bytes went into the thread's stock and the next
  // reservation was served from it without looking at the limit.
  lp::limits ls;
  rcmgr::limit sys;
  sys.memory = 1000;
  ls.set<lp::system_scope>(sys);
  rcmgr::resource_manager<rcmgr::thread_cached<64, 2>> mgr(ls);
  mgr.view_transient([](auto& t) { REQUIRE(t.reserve_memory(300)); });
  CHECK(mgr.stat<lp::system_scope>().memory == 300);
  sys.memory = 0;
  REQUIRE(mgr.set_limit<lp::system_scope>(sys));
  mgr.view_transient([](auto& t) {
    t.release_memory(100);  // usage 200, still above the new limit
    auto r = t.reserve_memory(50);
    REQUIRE_FALSE(r);
    CHECK(r.error().code == rcmgr::errc::limit_exceeded);
    CHECK(r.error().scope.str() == "system");
  });
  CHECK(mgr.stat<lp::system_scope>().memory == 200);
  CHECK(mgr.stat<lp::transient_scope>().memory == 200);
  // with the limit raised again, the stock is used as before
  sys.memory = 1000;
  REQUIRE(mgr.set_limit<lp::system_scope>(sys));
  mgr.view_transient([](auto& t) {
    REQUIRE(t.reserve_memory(50));
    t.release_memory(250);
  });
  CHECK(mgr.stat<lp::system_scope>().memory == 0);
}
