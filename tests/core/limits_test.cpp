// Limits: the go-libp2p defaults, per-key overrides, and changes while the manager runs.
#include "support.hpp"

using namespace rt;

namespace {
constexpr std::int64_t mib = std::int64_t{1} << 20;
limit lim(std::int64_t sin, std::int64_t sout, std::int64_t s, std::int64_t cin, std::int64_t cout, std::int64_t c,
          std::int64_t fd, std::int64_t mem) {
  return limit{sin, sout, s, cin, cout, c, fd, mem};
}
constexpr std::int64_t U = rcmgr::unlimited;
}  // namespace

TEST_CASE("default_limits are go-libp2p's base limits", "[limits]") {
  const auto ls = lp::default_limits();
  CHECK(ls.get<lp::system_scope>() == lim(1024, 2048, 2048, 64, 128, 128, 256, 128 * mib));
  CHECK(ls.get<lp::transient_scope>() == lim(128, 256, 256, 32, 64, 64, 64, 32 * mib));
  CHECK(ls.get<lp::service_scope>() == lim(1024, 4096, 4096, U, U, U, U, 64 * mib));
  CHECK(ls.get<lp::service_peer_scope>() == lim(128, 256, 256, U, U, U, U, 16 * mib));
  CHECK(ls.get<lp::protocol_scope>() == lim(512, 2048, 2048, U, U, U, U, 64 * mib));
  CHECK(ls.get<lp::protocol_peer_scope>() == lim(64, 128, 256, U, U, U, U, 16 * mib));
  CHECK(ls.get<lp::peer_scope>() == lim(256, 512, 512, 8, 8, 8, 4, 64 * mib));
  CHECK(ls.get<lp::connection_scope>() == lim(U, U, U, 1, 1, 1, 1, 32 * mib));
  CHECK(ls.get<lp::stream_scope>() == lim(1, 1, 1, U, U, U, U, 16 * mib));
  // a manager built without arguments uses them
  thread_safe_manager mgr;
  CHECK(mgr.get_limit<lp::peer_scope>() == ls.get<lp::peer_scope>());
  CHECK(mgr.get_limit<lp::system_scope>() == ls.get<lp::system_scope>());
}

TEMPLATE_LIST_TEST_CASE("the default limits refuse the ninth connection of a peer", "[limits]", all_managers) {
  using M = TestType;
  M mgr{lp::default_limits()};
  std::vector<typename M::connection> conns;
  for (int i = 0; i < 8; ++i) {
    conns.push_back(take(mgr.open_connection(direction::inbound, false)));
    RT_OK(conns.back().set_peer(peer_a));
  }
  auto c = take(mgr.open_connection(direction::inbound, false));
  auto r = c.set_peer(peer_a);
  RT_REFUSED(M, errc::limit_exceeded, r);
  if constexpr (accounts<M>) {
    CHECK(r.error().limit_value == 8);
    CHECK(r.error().scope.kind == "peer");
  }
  // a stream scope holds 16 MiB at most
  auto s = take(mgr.open_stream(peer_a, direction::inbound));
  RT_OK(s.reserve_memory(16 * mib));
  RT_REFUSED(M, errc::limit_exceeded, s.reserve_memory(1));
}

TEMPLATE_LIST_TEST_CASE("per-key overrides apply to their key only", "[limits]", all_managers) {
  using M = TestType;
  auto ls = unlimited_limits();
  ls.template set<lp::peer_scope>(memory_only(1000));
  ls.template set<lp::peer_scope>(peer_b, memory_only(10));
  ls.template set<lp::protocol_scope>(std::string(proto_ping), memory_only(20));
  ls.template set<lp::protocol_peer_scope>(std::string(proto_id), memory_only(30));
  CHECK(ls.template get<lp::peer_scope>(peer_b) == memory_only(10));
  CHECK(ls.template get<lp::peer_scope>(peer_a) == memory_only(1000));
  M mgr{ls};
  auto a = take(mgr.open_stream(peer_a, direction::inbound));
  auto b = take(mgr.open_stream(peer_b, direction::inbound));
  RT_OK(a.reserve_memory(11));
  RT_REFUSED(M, errc::limit_exceeded, b.reserve_memory(11));
  RT_OK(b.reserve_memory(10));
  // protocol override
  RT_OK(a.set_protocol(proto_ping));
  RT_REFUSED(M, errc::already_attached, a.set_protocol(proto_id));
  auto c = take(mgr.open_stream(peer_a, direction::inbound));
  RT_OK(c.set_protocol(proto_ping));
  RT_OK(c.reserve_memory(9));  // 11 + 9 = 20 in /ipfs/ping
  auto r = c.reserve_memory(1);
  RT_REFUSED(M, errc::limit_exceeded, r);
  if constexpr (accounts<M>) CHECK(r.error().scope.str() == "protocol:/ipfs/ping/1.0.0");
  // protocol-peer overrides are keyed by protocol
  auto d = take(mgr.open_stream(peer_a, direction::inbound));
  RT_OK(d.set_protocol(proto_id));
  auto q = d.reserve_memory(31);
  RT_REFUSED(M, errc::limit_exceeded, q);
  if constexpr (accounts<M>) CHECK(q.error().scope.kind == "protocol-peer");
}

TEMPLATE_LIST_TEST_CASE("limits changed at run time apply to new reservations", "[limits]", real_managers) {
  TestType mgr{unlimited_limits()};
  auto s = take(mgr.open_stream(peer_a, direction::inbound));
  RT_OK(s.reserve_memory(1000));

  SECTION("set_limit of a kind's default, also for live keyed scopes") {
    REQUIRE(mgr.template set_limit<lp::peer_scope>(memory_only(500)));
    CHECK(mgr.template get_limit<lp::peer_scope>() == memory_only(500));
    // usage above the lowered limit stays
    CHECK(peer_stat(mgr, peer_a).memory == 1000);
    auto r = s.reserve_memory(1);
    REQUIRE_FALSE(r);
    CHECK(r.error().current == 1000);
    CHECK(r.error().limit_value == 500);
    s.release_memory(600);
    RT_OK(s.reserve_memory(100));
    RT_REFUSED(TestType, errc::limit_exceeded, s.reserve_memory(1));
    // peers created later get the same default
    auto t = take(mgr.open_stream(peer_b, direction::inbound));
    RT_REFUSED(TestType, errc::limit_exceeded, t.reserve_memory(501));
    // and raising it works the same way
    REQUIRE(mgr.template set_limit<lp::peer_scope>(memory_only(2000)));
    RT_OK(s.reserve_memory(1500));
  }
  SECTION("set_limit of one key") {
    REQUIRE(mgr.template set_limit<lp::peer_scope>(peer_a, memory_only(1001)));
    RT_OK(s.reserve_memory(1));
    RT_REFUSED(TestType, errc::limit_exceeded, s.reserve_memory(1));
    auto t = take(mgr.open_stream(peer_b, direction::inbound));
    RT_OK(t.reserve_memory(5000));  // other peers keep the default
    // changing an existing override
    REQUIRE(mgr.template set_limit<lp::peer_scope>(peer_a, memory_only(2000)));
    RT_OK(s.reserve_memory(999));
  }
  SECTION("set_limits replaces everything, overrides included") {
    auto ls = unlimited_limits();
    limit streams_only;
    streams_only.streams = 1;
    ls.set<lp::system_scope>(streams_only);
    ls.set<lp::peer_scope>(peer_a, memory_only(1000));
    REQUIRE(mgr.set_limits(ls));
    RT_REFUSED(TestType, errc::limit_exceeded, s.reserve_memory(1));
    RT_REFUSED(TestType, errc::limit_exceeded, mgr.open_stream(peer_b, direction::inbound));
    REQUIRE(mgr.set_limits(unlimited_limits()));
    RT_OK(s.reserve_memory(1));
    auto t = take(mgr.open_stream(peer_b, direction::inbound));
  }
  SECTION("singletons and per-object kinds") {
    limit sys;
    sys.memory = 1500;
    REQUIRE(mgr.template set_limit<lp::system_scope>(sys));
    RT_OK(s.reserve_memory(500));
    RT_REFUSED(TestType, errc::limit_exceeded, s.reserve_memory(1));
    REQUIRE(mgr.template set_limit<lp::system_scope>(limit{}));
    REQUIRE(mgr.template set_limit<lp::stream_scope>(memory_only(10)));
    CHECK(mgr.template get_limit<lp::stream_scope>() == memory_only(10));
    auto t = take(mgr.open_stream(peer_b, direction::inbound));
    RT_OK(t.reserve_memory(10));
    RT_REFUSED(TestType, errc::limit_exceeded, t.reserve_memory(1));
  }
}

TEMPLATE_LIST_TEST_CASE("limit changes on the null manager are accepted and do nothing", "[limits]",
                        std::tuple<null_manager>) {
  TestType mgr{lp::default_limits()};
  REQUIRE(mgr.template set_limit<lp::peer_scope>(limit::blocked()));
  REQUIRE(mgr.template set_limit<lp::peer_scope>(peer_a, limit::blocked()));
  REQUIRE(mgr.set_limits(lp::limits{}));
  auto c = take(mgr.open_connection(direction::inbound, true));
  RT_OK(c.set_peer(peer_a));
  RT_OK(c.reserve_memory(rcmgr::unlimited));
  CHECK(mgr.template live_count<lp::peer_scope>() == 0);
}
