// Which scopes each reservation is charged to, state by state (the table in anchors.md), the
// set_* rules, and all-or-nothing charging.
#include "support.hpp"

using namespace rt;

TEMPLATE_LIST_TEST_CASE("a connection is charged to transient and system at open, to its peer after set_peer",
                        "[charging]", all_managers) {
  using M = TestType;
  M mgr{unlimited_limits()};
  auto c = take(mgr.open_connection(direction::inbound, true));
  RT_OK(c.reserve_memory(100));
  const scope_stat conn = st().in_conns(1).fds(1).mem(100);

  CHECK(c.stat() == expected<M>(conn));
  CHECK(stats(mgr) == expected<M>(all_stats{.system = conn, .transient = conn}));

  RT_OK(c.set_peer(peer_a));
  CHECK(c.stat() == expected<M>(conn));
  CHECK(stats(mgr) == expected<M>(all_stats{.system = conn, .peer = conn}));
  CHECK(peer_stat(mgr, peer_b) == scope_stat{});

  // reservations after the move follow the new parents
  RT_OK(c.reserve_memory(50));
  const scope_stat conn2 = st().in_conns(1).fds(1).mem(150);
  CHECK(stats(mgr) == expected<M>(all_stats{.system = conn2, .peer = conn2}));

  c.done();
  CHECK(stats(mgr) == all_stats{});
}

TEMPLATE_LIST_TEST_CASE("a connection without a file descriptor charges none", "[charging]", all_managers) {
  using M = TestType;
  M mgr{unlimited_limits()};
  auto c = take(mgr.open_connection(direction::outbound, false));
  CHECK(c.stat() == expected<M>(st().out_conns(1)));
  CHECK(system_stat(mgr) == expected<M>(st().out_conns(1)));
  CHECK(transient_stat(mgr) == expected<M>(st().out_conns(1)));
}

TEMPLATE_LIST_TEST_CASE("a stream moves from transient to protocol, then gains a service", "[charging]", all_managers) {
  using M = TestType;
  M mgr{unlimited_limits()};
  auto s = take(mgr.open_stream(peer_a, direction::outbound));
  RT_OK(s.reserve_memory(200));
  const scope_stat one = st().out_streams(1).mem(200);
  CHECK(s.stat() == expected<M>(one));
  // at open: peer, transient, system (the connection is not an ancestor)
  CHECK(stats(mgr) == expected<M>(all_stats{.system = one, .transient = one, .peer = one}));

  RT_OK(s.set_protocol(proto_id));
  // after set_protocol: peer, protocol-peer, protocol, system; transient released
  CHECK(stats(mgr) == expected<M>(all_stats{.system = one, .peer = one, .protocol = one, .protocol_peer = one}));

  RT_OK(s.set_service(svc_identify));
  // after set_service: + service and service-peer
  CHECK(stats(mgr) == expected<M>(all_stats{.system = one,
                                            .peer = one,
                                            .protocol = one,
                                            .service = one,
                                            .protocol_peer = one,
                                            .service_peer = one}));
  // other keys are untouched
  CHECK(stats(mgr, peer_b, proto_ping, "other") == all_stats{.system = expected<M>(one)});

  RT_OK(s.reserve_memory(1));
  const scope_stat two = st().out_streams(1).mem(201);
  CHECK(stats(mgr) == expected<M>(all_stats{.system = two,
                                            .peer = two,
                                            .protocol = two,
                                            .service = two,
                                            .protocol_peer = two,
                                            .service_peer = two}));
  s.release_memory(201);
  CHECK(stats(mgr).system == expected<M>(st().out_streams(1)));
  s.done();
  CHECK(stats(mgr) == all_stats{});
}

TEMPLATE_LIST_TEST_CASE("the parents of a stream are reachable from its handle", "[charging]", real_managers) {
  TestType mgr{unlimited_limits()};
  auto s = take(mgr.open_stream(peer_a, direction::inbound));
  CHECK(s.peer_scope());
  CHECK(s.peer_scope().peer() == peer_a);
  CHECK_FALSE(s.protocol_scope());
  CHECK_FALSE(s.service_scope());
  CHECK(s.template parent<lp::transient_scope>());
  RT_OK(s.set_protocol(proto_id));
  CHECK(s.protocol_scope().protocol() == proto_id);
  CHECK_FALSE(s.template parent<lp::transient_scope>());
  CHECK(s.template parent<lp::protocol_peer_scope>().id().str() == "protocol-peer:" + std::string(proto_id) + "@" +
                                                                     std::string(peer_a.str()));
  RT_OK(s.set_service(svc_identify));
  CHECK(s.service_scope().name() == svc_identify);
  CHECK(s.template parent<lp::service_peer_scope>().stat() == st().in_streams(1));
}

// ---- set_* rules -------------------------------------------------------------------------------

TEMPLATE_LIST_TEST_CASE("set_peer, set_protocol and set_service refuse a second call", "[set]", all_managers) {
  using M = TestType;
  M mgr{unlimited_limits()};
  auto c = take(mgr.open_connection(direction::inbound, false));
  RT_OK(c.set_peer(peer_a));
  RT_REFUSED(M, errc::already_attached, c.set_peer(peer_a));
  RT_REFUSED(M, errc::already_attached, c.set_peer(peer_b));
  // still attached to the first peer only
  CHECK(peer_stat(mgr, peer_a) == expected<M>(st().in_conns(1)));
  CHECK(peer_stat(mgr, peer_b) == scope_stat{});
  CHECK(transient_stat(mgr) == scope_stat{});

  auto s = take(mgr.open_stream(peer_a, direction::inbound));
  RT_OK(s.set_protocol(proto_id));
  RT_REFUSED(M, errc::already_attached, s.set_protocol(proto_ping));
  RT_OK(s.set_service(svc_identify));
  RT_REFUSED(M, errc::already_attached, s.set_service("other"));
  CHECK(protocol_stat(mgr, proto_ping) == scope_stat{});
  CHECK(service_stat(mgr, "other") == scope_stat{});
  CHECK(protocol_stat(mgr, proto_id) == expected<M>(st().in_streams(1)));
  CHECK(service_stat(mgr, svc_identify) == expected<M>(st().in_streams(1)));
  CHECK(system_stat(mgr) == expected<M>(st().in_streams(1).in_conns(1)));
}

TEMPLATE_LIST_TEST_CASE("set_service before set_protocol is refused and changes nothing", "[set]", all_managers) {
  using M = TestType;
  M mgr{unlimited_limits()};
  auto s = take(mgr.open_stream(peer_a, direction::inbound));
  RT_REFUSED(M, errc::not_attached, s.set_service(svc_identify));
  const scope_stat one = st().in_streams(1);
  CHECK(stats(mgr) == expected<M>(all_stats{.system = one, .transient = one, .peer = one}));
  // the right order then works
  RT_OK(s.set_protocol(proto_id));
  RT_OK(s.set_service(svc_identify));
  CHECK(service_stat(mgr, svc_identify) == expected<M>(one));
}

TEST_CASE("the not_attached error says what to set first", "[set]") {
  thread_safe_manager mgr{unlimited_limits()};
  auto s = take(mgr.open_stream(peer_a, direction::inbound));
  auto r = s.set_service(svc_identify);
  REQUIRE_FALSE(r);
  CHECK(r.error().scope.str() == "stream");
  CHECK(r.error().detail == "set the protocol before the service");
  CHECK(r.error().message() == "stream required attachment missing: set the protocol before the service");
}

TEMPLATE_LIST_TEST_CASE("set_* after done is refused with scope_closed and releases nothing twice", "[set]",
                        all_managers) {
  using M = TestType;
  M mgr{unlimited_limits()};
  // a second connection and stream keep usage in transient, so a double release would show
  [[maybe_unused]] auto keep_c = take(mgr.open_connection(direction::inbound, true));
  [[maybe_unused]] auto keep_s = take(mgr.open_stream(peer_a, direction::inbound));
  auto c = take(mgr.open_connection(direction::inbound, true));
  auto s = take(mgr.open_stream(peer_a, direction::inbound));
  RT_OK(s.reserve_memory(10));
  c.done();
  s.done();
  RT_REFUSED(M, errc::scope_closed, c.set_peer(peer_a));
  RT_REFUSED(M, errc::scope_closed, s.set_protocol(proto_id));
  RT_REFUSED(M, errc::scope_closed, s.set_service(svc_identify));
  const scope_stat held = st().in_conns(1).fds(1).in_streams(1);
  CHECK(transient_stat(mgr) == expected<M>(held));
  CHECK(system_stat(mgr) == expected<M>(held));
  CHECK(peer_stat(mgr, peer_a) == expected<M>(st().in_streams(1)));
  CHECK(protocol_stat(mgr, proto_id) == scope_stat{});
}

TEMPLATE_LIST_TEST_CASE("a failed set_peer leaves the connection in transient and can be retried", "[set]",
                        all_managers) {
  using M = TestType;
  auto ls = unlimited_limits();
  limit one_conn;
  one_conn.conns = 1;
  ls.template set<lp::peer_scope>(peer_a, one_conn);
  M mgr{ls};
  auto c1 = take(mgr.open_connection(direction::inbound, true));
  auto c2 = take(mgr.open_connection(direction::outbound, true));
  RT_OK(c2.reserve_memory(64));
  RT_OK(c1.set_peer(peer_a));
  RT_REFUSED(M, errc::limit_exceeded, c2.set_peer(peer_a));
  if constexpr (accounts<M>) {
    CHECK_FALSE(c2.peer_scope());
    CHECK(c2.set_peer(peer_a).error().scope.str() == "peer:" + std::string(peer_a.str()));
  }
  // c2 stays where it was: transient holds exactly c2, the peer exactly c1
  CHECK(transient_stat(mgr) == expected<M>(st().out_conns(1).fds(1).mem(64)));
  CHECK(peer_stat(mgr, peer_a) == expected<M>(st().in_conns(1).fds(1)));
  CHECK(system_stat(mgr) == expected<M>(st().in_conns(1).out_conns(1).fds(2).mem(64)));
  // c2 keeps working while it waits
  RT_OK(c2.reserve_memory(1));
  c1.done();
  if constexpr (accounts<M>) {
    RT_OK(c2.set_peer(peer_a));
    CHECK(c2.peer_scope());
  }
  CHECK(transient_stat(mgr) == scope_stat{});
  CHECK(peer_stat(mgr, peer_a) == expected<M>(st().out_conns(1).fds(1).mem(65)));
}

TEMPLATE_LIST_TEST_CASE("a failed set_protocol or set_service leaves the stream where it was", "[set]", all_managers) {
  using M = TestType;
  auto ls = unlimited_limits();
  ls.template set<lp::protocol_scope>(std::string(proto_ping), limit::blocked());
  ls.template set<lp::service_scope>(std::string("blocked"), limit::blocked());
  M mgr{ls};
  auto s = take(mgr.open_stream(peer_a, direction::inbound));
  RT_OK(s.reserve_memory(7));
  const scope_stat one = st().in_streams(1).mem(7);
  if constexpr (accounts<M>) {
    RT_REFUSED(M, errc::limit_exceeded, s.set_protocol(proto_ping));
    CHECK(stats(mgr, peer_a, proto_ping) == all_stats{.system = one, .transient = one, .peer = one});
    CHECK(mgr.template live_count<lp::protocol_peer_scope>() == 0);
  }
  RT_OK(s.set_protocol(proto_id));
  if constexpr (accounts<M>) {
    RT_REFUSED(M, errc::limit_exceeded, s.set_service("blocked"));
    CHECK(mgr.template live_count<lp::service_peer_scope>() == 0);
  }
  CHECK(stats(mgr, peer_a, proto_id, "blocked") ==
        expected<M>(all_stats{.system = one, .peer = one, .protocol = one, .protocol_peer = one}));
  RT_OK(s.set_service(svc_identify));
  CHECK(service_stat(mgr, svc_identify) == expected<M>(one));
}

// ---- all or nothing ------------------------------------------------------------------------------

namespace {
enum class refuser { stream, peer, protocol_peer, service_peer, protocol, service, system };
const char* name_of(refuser r) {
  switch (r) {
    case refuser::stream: return "stream";
    case refuser::peer: return "peer";
    case refuser::protocol_peer: return "protocol-peer";
    case refuser::service_peer: return "service-peer";
    case refuser::protocol: return "protocol";
    case refuser::service: return "service";
    case refuser::system: return "system";
  }
  return "?";
}
lp::limits limits_refused_by(refuser r, const limit& l) {
  auto ls = unlimited_limits();
  switch (r) {
    case refuser::stream: ls.set<lp::stream_scope>(l); break;
    case refuser::peer: ls.set<lp::peer_scope>(l); break;
    case refuser::protocol_peer: ls.set<lp::protocol_peer_scope>(l); break;
    case refuser::service_peer: ls.set<lp::service_peer_scope>(l); break;
    case refuser::protocol: ls.set<lp::protocol_scope>(l); break;
    case refuser::service: ls.set<lp::service_scope>(l); break;
    case refuser::system: ls.set<lp::system_scope>(l); break;
  }
  return ls;
}
}  // namespace

TEMPLATE_LIST_TEST_CASE("a memory reservation refused by any scope leaves no trace anywhere", "[all-or-nothing]",
                        all_managers) {
  using M = TestType;
  const refuser who = GENERATE(refuser::stream, refuser::peer, refuser::protocol_peer, refuser::service_peer,
                               refuser::protocol, refuser::service, refuser::system);
  INFO("refused by " << name_of(who));
  M mgr{limits_refused_by(who, memory_only(1000))};
  auto s = take(mgr.open_stream(peer_a, direction::inbound));
  RT_OK(s.set_protocol(proto_id));
  RT_OK(s.set_service(svc_identify));
  RT_OK(s.reserve_memory(600));
  const auto before = stats(mgr);
  const auto stream_before = s.stat();
  auto r = s.reserve_memory(401);
  RT_REFUSED(M, errc::limit_exceeded, r);
  if constexpr (accounts<M>) {
    CHECK(r.error().scope.kind == name_of(who));
    CHECK(r.error().current == 600);
    CHECK(r.error().attempted == 401);
    CHECK(r.error().limit_value == 1000);
    CHECK(stats(mgr) == before);
    CHECK(s.stat() == stream_before);
    // exactly at the limit passes, and is charged everywhere
    RT_OK(s.reserve_memory(400));
    CHECK(stats(mgr).system.memory == 1000);
    CHECK(stats(mgr).service_peer.memory == 1000);
  }
}

TEMPLATE_LIST_TEST_CASE("a stream refused at open leaves no trace anywhere", "[all-or-nothing]", all_managers) {
  using M = TestType;
  auto ls = unlimited_limits();
  limit two;
  two.streams = 2;
  const int who = GENERATE(0, 1, 2);  // peer, transient, system refuse the third stream
  if (who == 0) ls.template set<lp::peer_scope>(two);
  if (who == 1) ls.template set<lp::transient_scope>(two);
  if (who == 2) ls.template set<lp::system_scope>(two);
  M mgr{ls};
  [[maybe_unused]] auto s1 = take(mgr.open_stream(peer_a, direction::inbound));
  [[maybe_unused]] auto s2 = take(mgr.open_stream(peer_a, direction::outbound));
  const auto before = stats(mgr);
  auto r = mgr.open_stream(peer_a, direction::inbound);
  RT_REFUSED(M, errc::limit_exceeded, r);
  if constexpr (accounts<M>) {
    CHECK(r.error().scope.kind == (who == 0 ? "peer" : who == 1 ? "transient" : "system"));
    CHECK(r.error().total);
    CHECK(stats(mgr) == before);
  }
}

TEMPLATE_LIST_TEST_CASE("a connection refused at open or at set_peer leaves no trace", "[all-or-nothing]",
                        all_managers) {
  using M = TestType;
  auto ls = unlimited_limits();
  limit one_fd;
  one_fd.fd = 1;
  ls.template set<lp::system_scope>(one_fd);
  M mgr{ls};
  [[maybe_unused]] auto c1 = take(mgr.open_connection(direction::inbound, true));
  const auto before = stats(mgr);
  auto r = mgr.open_connection(direction::inbound, true);
  RT_REFUSED(M, errc::limit_exceeded, r);
  if constexpr (accounts<M>) {
    CHECK(r.error().res == rcmgr::resource::fd);
    CHECK(stats(mgr) == before);
  }
}

TEMPLATE_LIST_TEST_CASE("the charge moved by set_peer is all or nothing", "[all-or-nothing]", all_managers) {
  using M = TestType;
  auto ls = unlimited_limits();
  ls.template set<lp::peer_scope>(memory_only(100));
  M mgr{ls};
  auto c = take(mgr.open_connection(direction::inbound, true));
  RT_OK(c.reserve_memory(101));
  const auto before = stats(mgr);
  RT_REFUSED(M, errc::limit_exceeded, c.set_peer(peer_a));
  CHECK(stats(mgr) == before);
  if constexpr (accounts<M>) {
    CHECK(live_peers(mgr) == 0);
    c.release_memory(1);
    RT_OK(c.set_peer(peer_a));
    CHECK(peer_stat(mgr, peer_a) == st().in_conns(1).fds(1).mem(100));
    CHECK(transient_stat(mgr) == scope_stat{});
  }
}
