// Edges of the public API a first-time user reaches for: an rcmgr::error where a std::error_code
// is expected, and reading the usage of a scope that may not exist without creating it.
#include <optional>
#include <system_error>
#include <type_traits>

#include "support.hpp"

using namespace rt;

TEST_CASE("an rcmgr::error converts implicitly to std::error_code", "[errors][api]") {
  STATIC_REQUIRE(std::is_convertible_v<const rcmgr::error&, std::error_code>);
  rcmgr::resource_manager<> mgr(unlimited_limits());
  REQUIRE(mgr.set_limit<lp::system_scope>(memory_only(100)));
  auto r = mgr.view_system([](auto& s) { return s.reserve_memory(200); });
  REQUIRE_FALSE(r);
  const std::error_code ec = r.error();  // implicit, as the README shows
  CHECK(ec == rcmgr::errc::limit_exceeded);
  CHECK(ec.category() == rcmgr::error_category());
  CHECK(ec.message() == "resource limit exceeded");
  CHECK(ec == r.error().error_code());
  // a function taking std::error_code accepts the error as it is
  auto takes = [](std::error_code e) { return e.value(); };
  CHECK(takes(r.error()) == static_cast<int>(rcmgr::errc::limit_exceeded));
}

TEMPLATE_LIST_TEST_CASE("stat of a keyed scope creates nothing", "[keyed][api]", all_managers) {
  TestType mgr(unlimited_limits());
  const TestType& cmgr = mgr;  // every stat is const
  CHECK_FALSE(cmgr.stat_peer(peer_a).has_value());
  CHECK_FALSE(cmgr.stat_protocol(proto_id).has_value());
  CHECK_FALSE(cmgr.stat_service(svc_identify).has_value());
  CHECK_FALSE(cmgr.template stat<lp::peer_scope>(peer_a).has_value());
  CHECK(cmgr.template live_count<lp::peer_scope>() == 0);
  CHECK(cmgr.template live_count<lp::protocol_scope>() == 0);
  CHECK(cmgr.template live_count<lp::service_scope>() == 0);
  CHECK(cmgr.stat_system().empty());
  CHECK(cmgr.stat_transient().empty());
  CHECK(cmgr.template stat<lp::system_scope>().empty());

  auto conn = mgr.open_connection(direction::inbound, true);
  REQUIRE(conn);
  REQUIRE(conn->set_peer(peer_a));
  auto s = mgr.open_stream(peer_a, direction::outbound);
  REQUIRE(s);
  REQUIRE(s->set_protocol(proto_id));
  REQUIRE(s->reserve_memory(4096));

  const std::optional<scope_stat> peer = cmgr.stat_peer(peer_a);
  const std::optional<scope_stat> proto = cmgr.stat_protocol(proto_id);
  if constexpr (accounts<TestType>) {
    REQUIRE(peer.has_value());
    CHECK(peer->memory == 4096);
    CHECK(peer->streams_outbound == 1);
    CHECK(peer->conns_inbound == 1);
    REQUIRE(proto.has_value());
    CHECK(proto->memory == 4096);
    CHECK(cmgr.stat_system().memory == 4096);
  } else {
    CHECK_FALSE(peer.has_value());  // the null manager holds no scopes
  }
  // asking about an absent peer still leaves no trace
  CHECK_FALSE(cmgr.stat_peer(peer_b).has_value());
  CHECK(cmgr.template live_count<lp::peer_scope>() == (accounts<TestType> ? 1u : 0u));

  s->done();
  conn->done();
  CHECK_FALSE(cmgr.stat_peer(peer_a).has_value());  // collected once idle
}

TEST_CASE("view_peer creates the scope for its call, stat_peer does not", "[keyed][api]") {
  rcmgr::resource_manager<> mgr(unlimited_limits());
  std::size_t live_during_view = 0;
  mgr.view_peer(peer_a, [&](auto&) { live_during_view = mgr.live_count<lp::peer_scope>(); });
  CHECK(live_during_view == 1);
  CHECK(mgr.live_count<lp::peer_scope>() == 0);
  CHECK_FALSE(mgr.stat_peer(peer_a));
  CHECK(mgr.live_count<lp::peer_scope>() == 0);
}
