// Storage policies: hashed (unbounded) and bounded<N>.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "rcmgr/rcmgr.hpp"

namespace {
using rcmgr::direction;
using rcmgr::peer_id;
namespace lp = rcmgr::libp2p;
}  // namespace

TEMPLATE_TEST_CASE("bounded_storage caps live keyed scopes per kind and frees places when scopes go", "",
                   rcmgr::single_threaded, rcmgr::thread_safe) {
  rcmgr::resource_manager<rcmgr::bounded_storage<3>, TestType> mgr;
  std::vector<typename decltype(mgr)::stream> streams;
  for (int i = 0; i < 3; ++i) {
    auto s = mgr.open_stream(peer_id("peer-" + std::to_string(i)), direction::inbound);
    REQUIRE(s);
    streams.push_back(std::move(*s));
  }
  CHECK(mgr.template live_count<lp::peer_scope>() == 3);

  SECTION("a fourth peer is refused with too_many_scopes, and nothing is charged") {
    auto s = mgr.open_stream(peer_id("peer-3"), direction::inbound);
    REQUIRE_FALSE(s);
    CHECK(s.error().code == rcmgr::errc::too_many_scopes);
    CHECK(s.error().scope.kind == "peer");
    CHECK(mgr.template stat<lp::system_scope>().streams_inbound == 3);
    CHECK(mgr.template stat<lp::transient_scope>().streams_inbound == 3);
  }
  SECTION("an existing peer still gets more streams") {
    auto s = mgr.open_stream(peer_id("peer-1"), direction::inbound);
    REQUIRE(s);
  }
  SECTION("ending a peer's last stream frees its place") {
    streams[0].done();
    streams.erase(streams.begin());
    CHECK(mgr.template live_count<lp::peer_scope>() == 2);
    auto s = mgr.open_stream(peer_id("peer-3"), direction::inbound);
    REQUIRE(s);
  }
  SECTION("a full view table refuses set_protocol and leaves the stream where it was") {
    // protocol-peer views: one per (protocol, peer). Three streams of three peers fill it.
    for (auto& s : streams) REQUIRE(s.set_protocol("/p"));
    CHECK(mgr.template live_count<lp::protocol_peer_scope>() == 3);
    streams[0].done();
    streams.erase(streams.begin());
    auto extra = mgr.open_stream(peer_id("peer-1"), direction::inbound);
    REQUIRE(extra);
    REQUIRE(extra->set_protocol("/q"));  // (q, peer-1) is a third view: allowed
    auto more = mgr.open_stream(peer_id("peer-2"), direction::inbound);
    REQUIRE(more);
    auto r = more->set_protocol("/q");  // (q, peer-2) would be a fourth
    REQUIRE_FALSE(r);
    CHECK(r.error().code == rcmgr::errc::too_many_scopes);
    CHECK(r.error().scope.kind == "protocol-peer");
    CHECK_FALSE(more->protocol_scope());
    CHECK(mgr.template stat<lp::transient_scope>().streams_inbound == 1);
  }
  SECTION("view_peer on a full table hands f an empty reference") {
    bool ran = false;
    mgr.view_peer(peer_id("peer-9"), [&](auto& ref) {
      ran = true;
      CHECK_FALSE(ref);
      auto r = ref.reserve_memory(10);
      REQUIRE_FALSE(r);
      CHECK(r.error().code == rcmgr::errc::not_attached);
      return 0;
    });
    CHECK(ran);
  }
}

TEST_CASE("the default storage is unbounded") {
  STATIC_REQUIRE(rcmgr::resource_manager<>::core_type::table_capacity == static_cast<std::size_t>(-1));
  STATIC_REQUIRE(rcmgr::resource_manager<rcmgr::bounded_storage<7>>::core_type::table_capacity == 7);
}
