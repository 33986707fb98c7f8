// Spans: child scopes opened on any scope, reserving through their owner chain.
#include "support.hpp"

using namespace rt;

TEMPLATE_LIST_TEST_CASE("a span on a stream charges the stream and everything above it", "[span]", all_managers) {
  using M = TestType;
  M mgr{unlimited_limits()};
  auto s = take(mgr.open_stream(peer_a, direction::inbound));
  RT_OK(s.set_protocol(proto_id));
  auto sp = take(s.begin_span());
  RT_OK(sp.reserve_memory(4096));
  CHECK(sp.stat() == expected<M>(st().mem(4096)));
  CHECK(s.stat() == expected<M>(st().in_streams(1).mem(4096)));
  const scope_stat one = st().in_streams(1).mem(4096);
  CHECK(stats(mgr) == expected<M>(all_stats{.system = one, .peer = one, .protocol = one, .protocol_peer = one}));
  sp.release_memory(1096);
  CHECK(system_stat(mgr).memory == expected<M>(std::int64_t{3000}));
  sp.done();
  CHECK(sp.stat() == scope_stat{});
  CHECK(stats(mgr) == expected<M>(all_stats{.system = st().in_streams(1),
                                            .peer = st().in_streams(1),
                                            .protocol = st().in_streams(1),
                                            .protocol_peer = st().in_streams(1)}));
}

TEMPLATE_LIST_TEST_CASE("nested spans: done on a span releases only what it and its children hold", "[span]",
                        all_managers) {
  using M = TestType;
  M mgr{unlimited_limits()};
  auto c = take(mgr.open_connection(direction::outbound, true));
  RT_OK(c.set_peer(peer_a));
  RT_OK(c.reserve_memory(1));
  auto outer = take(c.begin_span());
  RT_OK(outer.reserve_memory(10));
  auto inner = take(outer.begin_span());
  RT_OK(inner.reserve_memory(100));
  auto sibling = take(c.begin_span());
  RT_OK(sibling.reserve_memory(1000));
  CHECK(inner.stat() == expected<M>(st().mem(100)));
  CHECK(outer.stat() == expected<M>(st().mem(110)));
  CHECK(c.stat() == expected<M>(st().out_conns(1).fds(1).mem(1111)));
  CHECK(peer_stat(mgr, peer_a).memory == expected<M>(std::int64_t{1111}));

  inner.done();
  CHECK(outer.stat() == expected<M>(st().mem(10)));
  CHECK(system_stat(mgr).memory == expected<M>(std::int64_t{1011}));
  // an ended span refuses, and releases nothing
  RT_REFUSED(M, errc::scope_closed, inner.reserve_memory(1));
  inner.release_memory(100);
  inner.done();
  CHECK(system_stat(mgr).memory == expected<M>(std::int64_t{1011}));

  // ending the outer span takes its nested spans' usage with it
  auto inner2 = take(outer.begin_span());
  RT_OK(inner2.reserve_memory(5));
  outer.done();
  CHECK(c.stat() == expected<M>(st().out_conns(1).fds(1).mem(1001)));
  RT_REFUSED(M, errc::scope_closed, inner2.reserve_memory(1));
  inner2.release_memory(5);
  inner2.done();
  CHECK(c.stat() == expected<M>(st().out_conns(1).fds(1).mem(1001)));
  CHECK(peer_stat(mgr, peer_a) == expected<M>(st().out_conns(1).fds(1).mem(1001)));
  sibling.done();
  c.done();
  CHECK(stats(mgr) == all_stats{});
}

TEMPLATE_LIST_TEST_CASE("spans on shared scopes: system, transient and a peer view", "[span]", all_managers) {
  using M = TestType;
  M mgr{unlimited_limits()};
  auto sys = take(mgr.view_system([](auto& r) { return r.begin_span(); }));
  RT_OK(sys.reserve_memory(7));
  CHECK(system_stat(mgr) == expected<M>(st().mem(7)));
  auto tr = take(mgr.view_transient([](auto& r) { return r.begin_span(); }));
  RT_OK(tr.reserve_memory(3));
  CHECK(transient_stat(mgr) == expected<M>(st().mem(3)));
  CHECK(system_stat(mgr) == expected<M>(st().mem(10)));

  auto ps = take(mgr.view_peer(peer_a, [](auto& r) { return r.begin_span(); }));
  // the span keeps the peer scope alive after the view returned
  if constexpr (accounts<M>) CHECK(live_peers(mgr) == 1);
  RT_OK(ps.reserve_memory(20));
  auto nested = take(ps.begin_span());
  RT_OK(nested.reserve_memory(30));
  CHECK(peer_stat(mgr, peer_a) == expected<M>(st().mem(50)));
  CHECK(system_stat(mgr) == expected<M>(st().mem(60)));
  ps.done();
  CHECK(peer_stat(mgr, peer_a) == scope_stat{});
  CHECK(system_stat(mgr) == expected<M>(st().mem(10)));
  nested.done();
  if constexpr (accounts<M>) CHECK(live_peers(mgr) == 0);
  sys.done();
  tr.done();
  CHECK(stats(mgr) == all_stats{});
}

TEMPLATE_LIST_TEST_CASE("a span is limited by its owner chain", "[span]", all_managers) {
  using M = TestType;
  auto ls = unlimited_limits();
  ls.template set<lp::stream_scope>(memory_only(100));
  ls.template set<lp::peer_scope>(memory_only(150));
  M mgr{ls};
  auto s1 = take(mgr.open_stream(peer_a, direction::inbound));
  auto s2 = take(mgr.open_stream(peer_a, direction::inbound));
  auto a = take(s1.begin_span());
  auto b = take(a.begin_span());
  RT_OK(b.reserve_memory(60));
  auto r = a.reserve_memory(41);  // the stream has 100
  RT_REFUSED(M, errc::limit_exceeded, r);
  if constexpr (accounts<M>) CHECK(r.error().scope.str() == "stream");
  CHECK(a.stat() == expected<M>(st().mem(60)));
  RT_OK(s2.reserve_memory(90));
  auto p = b.reserve_memory(1);  // the peer has 150
  RT_REFUSED(M, errc::limit_exceeded, p);
  if constexpr (accounts<M>) CHECK(p.error().scope.kind == "peer");
  CHECK(b.stat() == expected<M>(st().mem(60)));
  CHECK(a.stat() == expected<M>(st().mem(60)));
  CHECK(peer_stat(mgr, peer_a) == expected<M>(st().in_streams(2).mem(150)));
}

TEMPLATE_LIST_TEST_CASE("a span whose owner ended refuses and ends harmlessly", "[span]", real_managers) {
  TestType mgr{unlimited_limits()};
  auto keep = take(mgr.open_stream(peer_a, direction::outbound));
  RT_OK(keep.reserve_memory(1));
  auto s = take(mgr.open_stream(peer_a, direction::inbound));
  RT_OK(s.set_protocol(proto_id));
  auto sp = take(s.begin_span());
  auto nested = take(sp.begin_span());
  RT_OK(sp.reserve_memory(100));
  RT_OK(nested.reserve_memory(10));
  s.done();
  const auto after_end = stats(mgr);
  CHECK(after_end.system == st().out_streams(1).mem(1));
  CHECK(after_end.protocol == scope_stat{});

  auto r = sp.reserve_memory(1);
  REQUIRE_FALSE(r);
  CHECK(r.error().code == errc::scope_closed);
  CHECK(nested.reserve_memory(1).error().code == errc::scope_closed);
  CHECK(sp.begin_span().has_value());  // a span may still be opened on a live span...
  sp.release_memory(50);
  nested.release_memory(10);
  nested.done();
  sp.done();
  CHECK(stats(mgr) == after_end);  // ...and nothing moved
  CHECK(sp.begin_span().error().code == errc::scope_closed);
  // the peer is collected once the remaining stream ends
  keep.done();
  CHECK(live_peers(mgr) == 0);
}

TEMPLATE_LIST_TEST_CASE("reserving and releasing through spans never drifts", "[span]", all_managers) {
  using M = TestType;
  M mgr{unlimited_limits()};
  auto s = take(mgr.open_stream(peer_a, direction::inbound));
  RT_OK(s.set_protocol(proto_id));
  RT_OK(s.set_service(svc_identify));
  auto a = take(s.begin_span());
  auto b = take(a.begin_span());
  std::int64_t held_a = 0, held_b = 0;
  for (int i = 1; i <= 5000; ++i) {
    const std::int64_t n = (i * 7919) % 4096 + 1;
    if (i % 3 == 0) {
      RT_OK(a.reserve_memory(n));
      held_a += n;
    } else {
      RT_OK(b.reserve_memory(n));
      held_b += n;
    }
    if (i % 5 == 0) {
      const std::int64_t back = held_b / 2;
      b.release_memory(back);
      held_b -= back;
    }
    if (i % 11 == 0) {
      a.release_memory(held_a);
      held_a = 0;
    }
  }
  const std::int64_t total = held_a + held_b;
  CHECK(b.stat().memory == expected<M>(held_b));
  CHECK(a.stat().memory == expected<M>(total));
  const scope_stat one = st().in_streams(1).mem(total);
  CHECK(stats(mgr) == expected<M>(all_stats{.system = one,
                                            .peer = one,
                                            .protocol = one,
                                            .service = one,
                                            .protocol_peer = one,
                                            .service_peer = one}));
  b.done();
  a.done();
  const scope_stat bare = st().in_streams(1);
  CHECK(stats(mgr) == expected<M>(all_stats{.system = bare,
                                            .peer = bare,
                                            .protocol = bare,
                                            .service = bare,
                                            .protocol_peer = bare,
                                            .service_peer = bare}));
}
