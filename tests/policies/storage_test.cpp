// Storage policies: hashed (unbounded), bounded<N> and static<N, KeyBytes>.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "rcmgr/rcmgr.hpp"

namespace {
using rcmgr::direction;
using rcmgr::peer_id;
namespace lp = rcmgr::libp2p;
using cached = rcmgr::thread_cached<1024, 2>;  // a name: the macro below splits on commas
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
      CHECK(ref.empty_reason() == rcmgr::errc::too_many_scopes);
      return 0;
    });
    CHECK(ran);
  }
}


TEMPLATE_TEST_CASE("static_storage caps every kind, keeps keys inline and never holds heap memory", "",
                   rcmgr::single_threaded, rcmgr::thread_safe, cached) {
  using mgr_t = rcmgr::resource_manager<rcmgr::static_storage<3, 16>, TestType>;
  mgr_t mgr;
  std::vector<typename mgr_t::stream> streams;
  for (int i = 0; i < 3; ++i) {
    auto s = mgr.open_stream(peer_id("peer-" + std::to_string(i)), direction::inbound);
    REQUIRE(s);
    streams.push_back(std::move(*s));
  }
  CHECK(mgr.storage_stats().heap_bytes == 0);
  CHECK(mgr.storage_stats().nodes_live == 6);  // 3 streams, 3 peers

  SECTION("a fourth stream is refused with too_many_scopes, and nothing is charged") {
    auto s = mgr.open_stream(peer_id("peer-1"), direction::inbound);
    REQUIRE_FALSE(s);
    CHECK(s.error().code == rcmgr::errc::too_many_scopes);
    CHECK(s.error().scope.kind == "stream");
    CHECK(mgr.template stat<lp::system_scope>().streams_inbound == 3);
  }
  SECTION("a fourth peer is refused; ending a stream frees a place for both") {
    auto c = mgr.open_connection(direction::inbound, false);
    REQUIRE(c);
    auto r = c->set_peer(peer_id("peer-3"));
    REQUIRE_FALSE(r);
    CHECK(r.error().code == rcmgr::errc::too_many_scopes);
    CHECK(r.error().scope.kind == "peer");
    CHECK_FALSE(c->peer_scope());
    streams.pop_back();
    REQUIRE(c->set_peer(peer_id("peer-3")));
    auto s = mgr.open_stream(peer_id("peer-0"), direction::inbound);
    CHECK(s);
  }
  SECTION("connections have their own N places") {
    std::vector<typename mgr_t::connection> conns;
    for (int i = 0; i < 3; ++i) conns.push_back(std::move(*mgr.open_connection(direction::outbound, false)));
    auto c = mgr.open_connection(direction::outbound, false);
    REQUIRE_FALSE(c);
    CHECK(c.error().code == rcmgr::errc::too_many_scopes);
  }
  SECTION("at most N spans in all") {
    auto a = streams[0].begin_span();
    auto b = streams[1].begin_span();
    REQUIRE(a);
    REQUIRE(b);
    auto c = a->begin_span();
    REQUIRE(c);
    auto d = streams[2].begin_span();
    REQUIRE_FALSE(d);
    CHECK(d.error().code == rcmgr::errc::too_many_scopes);
    CHECK(d.error().scope.kind == "span");
  }
  SECTION("a protocol id longer than the inline capacity is refused with invalid_argument") {
    auto r = streams[0].set_protocol("/seventeen/bytes/");  // 17 > 16
    REQUIRE_FALSE(r);
    CHECK(r.error().code == rcmgr::errc::invalid_argument);
    CHECK(r.error().scope.kind == "protocol");
    CHECK(r.error().detail == "key longer than the storage policy keeps inline (16 bytes)");
    CHECK(mgr.template live_count<lp::protocol_scope>() == 0);
    mgr.view_protocol("/seventeen/bytes/", [](auto& ref) {
      CHECK_FALSE(ref);
      CHECK(ref.empty_reason() == rcmgr::errc::invalid_argument);
      return 0;
    });
  }
  SECTION("a protocol id of exactly the capacity is kept whole") {
    REQUIRE(streams[0].set_protocol("/sixteen/bytes/!"));
    auto p = streams[0].protocol_scope();
    REQUIRE(p);
    CHECK(p.protocol() == std::string_view("/sixteen/bytes/!"));
    auto l = mgr.list_protocols();
    REQUIRE(l.size() == 1);
    CHECK(l[0].first == std::string("/sixteen/bytes/!"));
    REQUIRE(streams[1].set_protocol("/sixteen/bytes/?"));  // differs only in the last byte
    CHECK(mgr.template live_count<lp::protocol_scope>() == 2);
  }
  CHECK(mgr.storage_stats().heap_bytes == 0);
}

TEMPLATE_TEST_CASE("trim() returns pooled nodes and shrinks tables", "", rcmgr::single_threaded, rcmgr::thread_safe) {
  rcmgr::resource_manager<TestType> mgr(lp::limits{});  // unlimited
  {
    std::vector<typename decltype(mgr)::stream> streams;
    for (int i = 0; i < 2000; ++i) streams.push_back(std::move(*mgr.open_stream(peer_id("p" + std::to_string(i)), direction::inbound)));
    CHECK(mgr.storage_stats().table_slots >= 2000);
  }
  CHECK(mgr.template live_count<lp::peer_scope>() == 0);
  const auto before = mgr.storage_stats();
  CHECK(before.nodes_live == 0);
  CHECK(before.nodes_cached <= 2 * 32);  // at most 32 spare per pool (peers, and streams when pooled)
  CHECK(before.table_slots <= 16);       // shrunk as it emptied, down to the smallest table
  mgr.trim();
  const auto after = mgr.storage_stats();
  CHECK(after.nodes_cached == 0);
  CHECK(after.heap_bytes == 0);
}

TEST_CASE("the default storage is unbounded") {
  STATIC_REQUIRE(rcmgr::resource_manager<>::core_type::table_capacity == static_cast<std::size_t>(-1));
  STATIC_REQUIRE(rcmgr::resource_manager<rcmgr::bounded_storage<7>>::core_type::table_capacity == 7);
  STATIC_REQUIRE(rcmgr::resource_manager<rcmgr::static_storage<5>>::core_type::table_capacity == 5);
}
