// Stream, connection and file-descriptor limits: per direction and in total, "block all" and
// unlimited.
#include "support.hpp"

using namespace rt;

TEMPLATE_LIST_TEST_CASE("streams are checked per direction and against the total", "[counts]", all_managers) {
  using M = TestType;
  auto ls = unlimited_limits();
  limit l;
  l.streams_inbound = 2;
  l.streams_outbound = 3;
  l.streams = 4;
  ls.template set<lp::peer_scope>(l);
  M mgr{ls};
  using stream = typename M::stream;
  std::vector<stream> held;
  held.push_back(take(mgr.open_stream(peer_a, direction::inbound)));
  held.push_back(take(mgr.open_stream(peer_a, direction::inbound)));
  auto r = mgr.open_stream(peer_a, direction::inbound);
  RT_REFUSED(M, errc::limit_exceeded, r);
  if constexpr (accounts<M>) {
    const auto& e = r.error();
    CHECK(e.res == rcmgr::resource::streams);
    CHECK(e.has_direction);
    CHECK(e.dir == direction::inbound);
    CHECK_FALSE(e.total);
    CHECK(e.current == 2);
    CHECK(e.attempted == 1);
    CHECK(e.limit_value == 2);
  }
  held.push_back(take(mgr.open_stream(peer_a, direction::outbound)));
  held.push_back(take(mgr.open_stream(peer_a, direction::outbound)));
  // outbound is at 2 of 3, but the total is at 4 of 4
  auto t = mgr.open_stream(peer_a, direction::outbound);
  RT_REFUSED(M, errc::limit_exceeded, t);
  if constexpr (accounts<M>) {
    CHECK(t.error().total);
    CHECK(t.error().dir == direction::outbound);
    CHECK(t.error().current == 4);
    CHECK(t.error().limit_value == 4);
  }
  CHECK(peer_stat(mgr, peer_a) == expected<M>(st().in_streams(2).out_streams(2)));
  // another peer is not affected by this peer's count (each peer has its own limit)
  held.push_back(take(mgr.open_stream(peer_b, direction::inbound)));
  held.push_back(take(mgr.open_stream(peer_b, direction::inbound)));
  CHECK(system_stat(mgr) == expected<M>(st().in_streams(4).out_streams(2)));
  // freeing one makes room again
  held[0].done();
  held.push_back(take(mgr.open_stream(peer_a, direction::outbound)));
  CHECK(peer_stat(mgr, peer_a) == expected<M>(st().in_streams(1).out_streams(3)));
}

TEMPLATE_LIST_TEST_CASE("connections are checked per direction and against the total", "[counts]", all_managers) {
  using M = TestType;
  auto ls = unlimited_limits();
  limit l;
  l.conns_inbound = 1;
  l.conns_outbound = 2;
  l.conns = 2;
  ls.template set<lp::transient_scope>(l);
  M mgr{ls};
  auto in1 = take(mgr.open_connection(direction::inbound, false));
  auto r = mgr.open_connection(direction::inbound, false);
  RT_REFUSED(M, errc::limit_exceeded, r);
  if constexpr (accounts<M>) {
    CHECK(r.error().res == rcmgr::resource::conns);
    CHECK(r.error().scope.str() == "transient");
    CHECK_FALSE(r.error().total);
    CHECK(r.error().limit_value == 1);
  }
  [[maybe_unused]] auto out1 = take(mgr.open_connection(direction::outbound, false));
  auto t = mgr.open_connection(direction::outbound, false);
  RT_REFUSED(M, errc::limit_exceeded, t);
  if constexpr (accounts<M>) {
    CHECK(t.error().total);
    CHECK(t.error().current == 2);
    CHECK(t.error().limit_value == 2);
  }
  // once a connection leaves transient for its peer, transient has room again
  RT_OK(in1.set_peer(peer_a));
  [[maybe_unused]] auto in2 = take(mgr.open_connection(direction::inbound, false));
  CHECK(transient_stat(mgr) == expected<M>(st().in_conns(1).out_conns(1)));
  CHECK(system_stat(mgr) == expected<M>(st().in_conns(2).out_conns(1)));
}

TEMPLATE_LIST_TEST_CASE("file descriptors are charged only when the connection uses one", "[counts]", all_managers) {
  using M = TestType;
  auto ls = unlimited_limits();
  limit l;
  l.fd = 2;
  ls.template set<lp::system_scope>(l);
  limit peer_fd;
  peer_fd.fd = 1;
  ls.template set<lp::peer_scope>(peer_fd);
  M mgr{ls};
  auto a = take(mgr.open_connection(direction::inbound, true));
  auto b = take(mgr.open_connection(direction::inbound, true));
  auto r = mgr.open_connection(direction::outbound, true);
  RT_REFUSED(M, errc::limit_exceeded, r);
  if constexpr (accounts<M>) {
    CHECK(r.error().res == rcmgr::resource::fd);
    CHECK_FALSE(r.error().has_direction);
    CHECK(r.error().current == 2);
    CHECK(r.error().limit_value == 2);
    CHECK(r.error().message() == "system refused 1 file descriptor: 2 in use, limit 2");
  }
  // no descriptor: no fd limit applies
  auto c = take(mgr.open_connection(direction::outbound, false));
  CHECK(c.stat() == expected<M>(st().out_conns(1)));
  CHECK(system_stat(mgr) == expected<M>(st().in_conns(2).out_conns(1).fds(2)));
  // the peer allows one descriptor: the second connection with one cannot join, the one without can
  RT_OK(a.set_peer(peer_a));
  RT_REFUSED(M, errc::limit_exceeded, b.set_peer(peer_a));
  RT_OK(c.set_peer(peer_a));
  CHECK(peer_stat(mgr, peer_a) == expected<M>(st().in_conns(1).out_conns(1).fds(1)));
}

TEMPLATE_LIST_TEST_CASE("a limit of zero blocks everything", "[counts]", all_managers) {
  using M = TestType;
  SECTION("system blocked") {
    auto ls = unlimited_limits();
    ls.template set<lp::system_scope>(limit::blocked());
    M mgr{ls};
    RT_REFUSED(M, errc::limit_exceeded, mgr.open_connection(direction::inbound, false));
    RT_REFUSED(M, errc::limit_exceeded, mgr.open_connection(direction::outbound, true));
    RT_REFUSED(M, errc::limit_exceeded, mgr.open_stream(peer_a, direction::outbound));
    RT_REFUSED(M, errc::limit_exceeded, mgr.view_system([](auto& s) { return s.reserve_memory(1); }));
    RT_REFUSED(M, errc::limit_exceeded, mgr.view_peer(peer_a, [](auto& p) { return p.reserve_memory(1); }));
    // zero bytes is always fine
    RT_OK(mgr.view_system([](auto& s) { return s.reserve_memory(0); }));
    CHECK(stats(mgr) == all_stats{});
    if constexpr (accounts<M>) CHECK(live_peers(mgr) == 0);
  }
  SECTION("one protocol blocked, others open") {
    auto ls = unlimited_limits();
    ls.template set<lp::protocol_scope>(std::string(proto_ping), limit::blocked());
    M mgr{ls};
    auto s = take(mgr.open_stream(peer_a, direction::inbound));
    RT_REFUSED(M, errc::limit_exceeded, s.set_protocol(proto_ping));
    RT_OK(s.set_protocol(proto_id));
  }
  SECTION("connections blocked, streams allowed") {
    auto ls = unlimited_limits();
    limit l;
    l.conns = 0;
    ls.template set<lp::system_scope>(l);
    M mgr{ls};
    RT_REFUSED(M, errc::limit_exceeded, mgr.open_connection(direction::inbound, false));
    auto s = take(mgr.open_stream(peer_a, direction::inbound));
    RT_OK(s.reserve_memory(1 << 20));
  }
}

TEMPLATE_LIST_TEST_CASE("unlimited scopes take any number of streams and connections", "[counts]", all_managers) {
  using M = TestType;
  M mgr{unlimited_limits()};
  std::vector<typename M::stream> streams;
  std::vector<typename M::connection> conns;
  for (int i = 0; i < 2000; ++i) {
    streams.push_back(take(mgr.open_stream(peer_a, i % 2 ? direction::inbound : direction::outbound)));
    conns.push_back(take(mgr.open_connection(direction::inbound, true)));
  }
  for (auto& c : conns) RT_OK(c.set_peer(peer_a));
  CHECK(peer_stat(mgr, peer_a) == expected<M>(st().in_streams(1000).out_streams(1000).in_conns(2000).fds(2000)));
  streams.clear();
  conns.clear();
  CHECK(stats(mgr) == all_stats{});
}

TEMPLATE_LIST_TEST_CASE("the connection and stream scopes limit themselves", "[counts]", all_managers) {
  using M = TestType;
  auto ls = unlimited_limits();
  ls.template set<lp::stream_scope>(memory_only(100));
  ls.template set<lp::connection_scope>(memory_only(200));
  M mgr{ls};
  auto s = take(mgr.open_stream(peer_a, direction::inbound));
  auto c = take(mgr.open_connection(direction::inbound, false));
  RT_OK(s.reserve_memory(100));
  RT_OK(c.reserve_memory(200));
  auto r = s.reserve_memory(1);
  RT_REFUSED(M, errc::limit_exceeded, r);
  if constexpr (accounts<M>) CHECK(r.error().scope.str() == "stream");
  RT_REFUSED(M, errc::limit_exceeded, c.reserve_memory(1));
  // another stream has its own 100 bytes
  auto s2 = take(mgr.open_stream(peer_a, direction::inbound));
  RT_OK(s2.reserve_memory(100));
  CHECK(system_stat(mgr).memory == expected<M>(std::int64_t{400}));
}
