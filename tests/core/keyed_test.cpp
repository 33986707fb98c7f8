// Lifetime of keyed and view scopes, and listing them.
#include <algorithm>
#include <map>

#include "support.hpp"

using namespace rt;

TEMPLATE_LIST_TEST_CASE("a peer scope lives while connections or streams refer to it", "[lifetime]", real_managers) {
  TestType mgr{unlimited_limits()};
  CHECK(live_peers(mgr) == 0);
  auto c = take(mgr.open_connection(direction::inbound, true));
  CHECK(live_peers(mgr) == 0);  // no peer before set_peer
  RT_OK(c.set_peer(peer_a));
  CHECK(live_peers(mgr) == 1);
  auto s = take(mgr.open_stream(peer_a, direction::inbound));
  RT_OK(s.set_protocol(proto_id));
  RT_OK(s.set_service(svc_identify));
  CHECK(live_peers(mgr) == 1);
  CHECK(mgr.template live_count<lp::protocol_peer_scope>() == 1);
  CHECK(mgr.template live_count<lp::service_peer_scope>() == 1);
  c.done();
  CHECK(live_peers(mgr) == 1);
  s.done();
  CHECK(live_peers(mgr) == 0);
  CHECK(mgr.template live_count<lp::protocol_peer_scope>() == 0);
  CHECK(mgr.template live_count<lp::service_peer_scope>() == 0);
  // protocols and services are kept
  CHECK(mgr.template live_count<lp::protocol_scope>() == 1);
  CHECK(mgr.template live_count<lp::service_scope>() == 1);
  CHECK(mgr.list_protocols().size() == 1);
  CHECK(mgr.list_services().size() == 1);
}

TEMPLATE_LIST_TEST_CASE("a peer holding memory is not collected until the memory is released", "[lifetime]",
                        real_managers) {
  TestType mgr{unlimited_limits()};
  RT_OK(mgr.view_peer(peer_a, [](auto& p) { return p.reserve_memory(512); }));
  // nothing refers to the peer, but it holds 512 bytes: go would drop it (and the bytes with it)
  CHECK(live_peers(mgr) == 1);
  CHECK(system_stat(mgr).memory == 512);
  {
    auto listed = mgr.list_peers();
    REQUIRE(listed.size() == 1);
    CHECK(listed[0].first == peer_a);
    CHECK(listed[0].second.memory == 512);
  }
  // a connection of that peer finds the same scope
  auto c = take(mgr.open_connection(direction::inbound, false));
  RT_OK(c.set_peer(peer_a));
  CHECK(c.peer_scope().stat() == st().in_conns(1).mem(512));
  c.done();
  CHECK(live_peers(mgr) == 1);
  mgr.view_peer(peer_a, [](auto& p) { p.release_memory(512); });
  CHECK(live_peers(mgr) == 0);
  CHECK(system_stat(mgr) == scope_stat{});
  CHECK(mgr.misuse().over_releases == 0);
}

TEMPLATE_LIST_TEST_CASE("a view scope holding memory keeps its peer and protocol until released", "[lifetime]",
                        real_managers) {
  TestType mgr{unlimited_limits()};
  {
    auto s = take(mgr.open_stream(peer_a, direction::inbound));
    RT_OK(s.set_protocol(proto_id));
    RT_OK(s.template parent<lp::protocol_peer_scope>().reserve_memory(64));
  }
  CHECK(mgr.template live_count<lp::protocol_peer_scope>() == 1);
  CHECK(live_peers(mgr) == 1);
  CHECK(view_stat<lp::protocol_peer_scope>(mgr, proto_id, peer_a) == st().mem(64));
  // views have no parents of their own (as in go): only streams charge through them
  CHECK(system_stat(mgr) == scope_stat{});
  CHECK(protocol_stat(mgr, proto_id) == scope_stat{});
  // reach it again through a new stream and give the memory back
  {
    auto s = take(mgr.open_stream(peer_a, direction::inbound));
    RT_OK(s.set_protocol(proto_id));
    s.template parent<lp::protocol_peer_scope>().release_memory(64);
  }
  CHECK(mgr.template live_count<lp::protocol_peer_scope>() == 0);
  CHECK(live_peers(mgr) == 0);
  CHECK(system_stat(mgr) == scope_stat{});
}

TEMPLATE_LIST_TEST_CASE("a reference to a peer keeps it alive", "[lifetime]", real_managers) {
  TestType mgr{unlimited_limits()};
  typename TestType::peer_ref kept;
  {
    auto c = take(mgr.open_connection(direction::inbound, false));
    RT_OK(c.set_peer(peer_a));
    kept = c.peer_scope();
  }
  CHECK(live_peers(mgr) == 1);
  CHECK(kept.peer() == peer_a);
  CHECK(kept.stat() == scope_stat{});
  auto copy = kept;
  kept = {};
  CHECK(live_peers(mgr) == 1);
  copy = {};
  CHECK(live_peers(mgr) == 0);
}

TEMPLATE_LIST_TEST_CASE("churn over 10000 distinct peers leaves no live peer scope", "[lifetime]", real_managers) {
  TestType mgr{unlimited_limits()};
  typename TestType::stream carried;  // a stream that outlives its iteration and its connection
  for (int i = 0; i < 10000; ++i) {
    const peer_id p("12D3KooWchurn" + std::to_string(i));
    auto c = take(mgr.open_connection(i % 2 ? direction::inbound : direction::outbound, true));
    RT_OK(c.set_peer(p));
    auto s = take(mgr.open_stream(p, direction::outbound));
    RT_OK(s.set_protocol(i % 3 ? proto_id : proto_ping));
    if (i % 4 == 0) RT_OK(s.set_service(svc_identify));
    RT_OK(s.reserve_memory(1 + i % 100));
    if (i % 7 == 0) {
      // a peer-level reservation released before the end
      RT_OK(mgr.view_peer(p, [](auto& ref) { return ref.reserve_memory(10); }));
      mgr.view_peer(p, [](auto& ref) { ref.release_memory(10); });
    }
    // end in either order; every other stream lives on into the next iteration
    if (i % 2) {
      s.done();
    } else {
      c.done();
      carried = std::move(s);
    }
    REQUIRE(live_peers(mgr) <= 2);
  }
  CHECK(live_peers(mgr) == 1);
  carried = {};
  CHECK(live_peers(mgr) == 0);
  CHECK(mgr.template live_count<lp::protocol_peer_scope>() == 0);
  CHECK(mgr.template live_count<lp::service_peer_scope>() == 0);
  CHECK(mgr.template live_count<lp::protocol_scope>() == 2);
  CHECK(mgr.template live_count<lp::service_scope>() == 1);
  CHECK(stats(mgr) == all_stats{});
  CHECK(mgr.list_peers().empty());
}

TEMPLATE_LIST_TEST_CASE("list_peers, list_protocols and list_services report keys with usage", "[introspection]",
                        all_managers) {
  using M = TestType;
  M mgr{unlimited_limits()};
  auto s1 = take(mgr.open_stream(peer_a, direction::inbound));
  RT_OK(s1.set_protocol(proto_id));
  RT_OK(s1.set_service(svc_identify));
  RT_OK(s1.reserve_memory(100));
  auto s2 = take(mgr.open_stream(peer_b, direction::outbound));
  RT_OK(s2.set_protocol(proto_ping));
  RT_OK(s2.reserve_memory(5));
  auto s3 = take(mgr.open_stream(peer_b, direction::outbound));
  RT_OK(s3.set_protocol(proto_id));

  auto peers = mgr.list_peers();
  auto protocols = mgr.list_protocols();
  auto services = mgr.list_services();
  if constexpr (!accounts<M>) {
    CHECK(peers.empty());
    CHECK(protocols.empty());
    CHECK(services.empty());
  } else {
    std::map<std::string, scope_stat> by_peer, by_proto, by_svc;
    for (const auto& [k, v] : peers) by_peer[std::string(k.str())] = v;
    for (const auto& [k, v] : protocols) by_proto[k] = v;
    for (const auto& [k, v] : services) by_svc[k] = v;
    CHECK(by_peer.size() == 2);
    CHECK(by_peer[std::string(peer_a.str())] == st().in_streams(1).mem(100));
    CHECK(by_peer[std::string(peer_b.str())] == st().out_streams(2).mem(5));
    CHECK(by_proto.size() == 2);
    CHECK(by_proto[std::string(proto_id)] == st().in_streams(1).out_streams(1).mem(100));
    CHECK(by_proto[std::string(proto_ping)] == st().out_streams(1).mem(5));
    CHECK(by_svc.size() == 1);
    CHECK(by_svc[std::string(svc_identify)] == st().in_streams(1).mem(100));
    auto pp = mgr.template list<lp::protocol_peer_scope>();
    CHECK(pp.size() == 3);
    CHECK(view_stat<lp::protocol_peer_scope>(mgr, proto_id, peer_b) == st().out_streams(1));
  }
}
