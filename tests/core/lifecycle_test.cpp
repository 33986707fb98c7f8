// Ending scopes: done(), handle destruction, moved-from handles, closing the manager.
#include "support.hpp"

using namespace rt;

TEMPLATE_LIST_TEST_CASE("done releases everything from every scope and is idempotent", "[done]", all_managers) {
  using M = TestType;
  M mgr{unlimited_limits()};
  // a second stream and connection on the same scopes: a double release would eat their usage
  auto other = take(mgr.open_stream(peer_a, direction::inbound));
  RT_OK(other.set_protocol(proto_id));
  RT_OK(other.set_service(svc_identify));
  RT_OK(other.reserve_memory(10));
  auto other_c = take(mgr.open_connection(direction::inbound, true));
  RT_OK(other_c.set_peer(peer_a));
  const auto baseline = stats(mgr);

  auto s = take(mgr.open_stream(peer_a, direction::inbound));
  RT_OK(s.set_protocol(proto_id));
  RT_OK(s.set_service(svc_identify));
  RT_OK(s.reserve_memory(1000));
  auto c = take(mgr.open_connection(direction::outbound, true));
  RT_OK(c.set_peer(peer_a));
  RT_OK(c.reserve_memory(300));
  if constexpr (accounts<M>) CHECK_FALSE(stats(mgr) == baseline);

  s.done();
  c.done();
  CHECK(stats(mgr) == baseline);
  s.done();
  c.done();
  CHECK(stats(mgr) == baseline);
  CHECK(s.stat() == scope_stat{});
  CHECK(c.stat() == scope_stat{});
}

TEMPLATE_LIST_TEST_CASE("after done: reserve fails with scope_closed, release does nothing", "[done]", real_managers) {
  TestType mgr{unlimited_limits()};
  auto s = take(mgr.open_stream(peer_a, direction::inbound));
  RT_OK(s.reserve_memory(100));
  CHECK_FALSE(s.is_done());
  s.done();
  CHECK(s.is_done());
  CHECK(s);  // ended, but not empty
  auto r = s.reserve_memory(1);
  REQUIRE_FALSE(r);
  CHECK(r.error().code == errc::scope_closed);
  CHECK(r.error().scope.str() == "stream");
  // reserving zero bytes on an ended scope is refused too
  CHECK(s.reserve_memory(0).error().code == errc::scope_closed);
  s.release_memory(100);  // no-op, and not misuse
  CHECK(mgr.misuse().over_releases == 0);
  CHECK(s.stat() == scope_stat{});
  CHECK(system_stat(mgr) == scope_stat{});
  CHECK(s.begin_span().error().code == errc::scope_closed);
}

TEMPLATE_LIST_TEST_CASE("destroying a handle ends its scope", "[done]", all_managers) {
  using M = TestType;
  M mgr{unlimited_limits()};
  {
    auto c = take(mgr.open_connection(direction::inbound, true));
    RT_OK(c.set_peer(peer_a));
    auto s = take(mgr.open_stream(peer_a, direction::outbound));
    RT_OK(s.set_protocol(proto_id));
    RT_OK(s.reserve_memory(4096));
    CHECK(system_stat(mgr) == expected<M>(st().in_conns(1).fds(1).out_streams(1).mem(4096)));
  }
  CHECK(stats(mgr) == all_stats{});
  if constexpr (accounts<M>) CHECK(live_peers(mgr) == 0);
}

TEMPLATE_LIST_TEST_CASE("destroying a handle ends its scope even while spans of it are open", "[done][span]",
                        real_managers) {
  TestType mgr{unlimited_limits()};
  auto outer = take(mgr.open_stream(peer_a, direction::inbound));  // keeps the peer's key alive
  typename TestType::template span<lp::stream_scope> sp;
  {
    auto s = take(mgr.open_stream(peer_a, direction::outbound));
    RT_OK(s.reserve_memory(100));
    sp = take(s.begin_span());
    RT_OK(sp.reserve_memory(50));
  }
  // the stream is gone: the peer and system hold only `outer`
  CHECK(peer_stat(mgr, peer_a) == st().in_streams(1));
  CHECK(system_stat(mgr) == st().in_streams(1));
  // its span now reserves through an ended owner
  CHECK(sp.reserve_memory(1).error().code == errc::scope_closed);
  sp.release_memory(50);
  sp.done();
  CHECK(system_stat(mgr) == st().in_streams(1));
}

TEMPLATE_LIST_TEST_CASE("a moved-from handle is empty", "[done]", real_managers) {
  TestType mgr{unlimited_limits()};
  auto s = take(mgr.open_stream(peer_a, direction::inbound));
  RT_OK(s.reserve_memory(10));
  auto t = std::move(s);
  CHECK_FALSE(s);  // NOLINT(bugprone-use-after-move): testing the moved-from state
  CHECK(s.is_done());
  auto r = s.reserve_memory(1);
  REQUIRE_FALSE(r);
  CHECK(r.error().code == errc::scope_closed);
  CHECK(s.set_protocol(proto_id).error().code == errc::scope_closed);
  CHECK(s.begin_span().error().code == errc::scope_closed);
  s.release_memory(10);
  s.done();
  CHECK(s.stat() == scope_stat{});
  CHECK_FALSE(s.peer_scope());
  // the new owner holds the scope
  CHECK(t.stat() == st().in_streams(1).mem(10));
  CHECK(system_stat(mgr) == st().in_streams(1).mem(10));
  RT_OK(t.set_protocol(proto_id));

  // move-assigning over a live handle ends the scope it held
  auto u = take(mgr.open_connection(direction::outbound, true));
  CHECK(system_stat(mgr) == st().in_streams(1).mem(10).out_conns(1).fds(1));
  u = take(mgr.open_connection(direction::inbound, false));
  CHECK(system_stat(mgr) == st().in_streams(1).mem(10).in_conns(1));
  // a default-constructed handle is empty too
  typename TestType::connection empty;
  CHECK_FALSE(empty);
  CHECK(empty.set_peer(peer_a).error().code == errc::scope_closed);
}

TEMPLATE_LIST_TEST_CASE("close: no new scopes, existing ones keep working", "[close]", all_managers) {
  using M = TestType;
  M mgr{unlimited_limits()};
  auto c = take(mgr.open_connection(direction::inbound, true));
  auto s = take(mgr.open_stream(peer_a, direction::inbound));
  CHECK_FALSE(mgr.closed());
  mgr.close();
  CHECK(mgr.closed() == accounts<M>);
  RT_REFUSED(M, errc::manager_closed, mgr.open_connection(direction::inbound, true));
  RT_REFUSED(M, errc::manager_closed, mgr.open_stream(peer_a, direction::outbound));
  // nothing was charged by the refused opens
  CHECK(system_stat(mgr) == expected<M>(st().in_conns(1).fds(1).in_streams(1)));
  RT_OK(c.set_peer(peer_a));
  RT_OK(s.set_protocol(proto_id));
  RT_OK(s.set_service(svc_identify));
  RT_OK(s.reserve_memory(10));
  RT_OK(mgr.view_peer(peer_a, [](auto& p) { return p.reserve_memory(5); }));
  auto sp = take(s.begin_span());
  RT_OK(sp.reserve_memory(3));
  CHECK(peer_stat(mgr, peer_a) == expected<M>(st().in_conns(1).fds(1).in_streams(1).mem(18)));
  mgr.view_peer(peer_a, [](auto& p) { p.release_memory(5); });
  sp.done();
  s.done();
  c.done();
  CHECK(stats(mgr) == all_stats{});
}

TEST_CASE("the manager_closed error names the kind that could not open", "[close]") {
  single_threaded_manager mgr;
  mgr.close();
  auto r = mgr.open_stream(peer_a, direction::inbound);
  REQUIRE_FALSE(r);
  CHECK(r.error().scope.str() == "stream");
  CHECK(r.error().message() == "stream resource manager closed");
}
