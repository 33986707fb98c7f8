// The custom topology of examples/embedded_node.hpp: system -> connection -> stream, with
// streams owned by their connection and compile-time limits on both.
#include "embedded_node.hpp"
#include "support.hpp"

namespace em = embedded;
using rcmgr::direction;
using rcmgr::errc;
using rcmgr::scope_stat;
using rt::st;
using rt::take;

namespace {
using embedded_thread_safe = rcmgr::basic_resource_manager<em::topology, rcmgr::thread_safe>;
using embedded_managers = std::tuple<em::manager, embedded_thread_safe>;

template <class M, class K>
constexpr std::size_t node_size = sizeof(rcmgr::detail::node<typename M::core_type, K>);

template <class K, class KL>
struct index_in;
template <class K, class... Ks>
struct index_in<K, rcmgr::detail::type_list<Ks...>> {
  static constexpr int value = rcmgr::detail::index_of<K, Ks...>();
};
template <class K>
constexpr int ix = index_in<K, em::topology::kind_list>::value;
using G = em::topology::graph_type;
}  // namespace

TEST_CASE("the embedded topology, analysed", "[embedded][static]") {
  STATIC_REQUIRE(em::topology::valid);
  STATIC_REQUIRE(G::owner(ix<em::stream_scope>) == ix<em::connection_scope>);
  // a stream charges nothing directly: its connection (the owner) covers the system
  STATIC_REQUIRE(G::flat(ix<em::stream_scope>, 0) == 0);
  STATIC_REQUIRE(G::owner_cover(ix<em::stream_scope>) ==
                 (rcmgr::detail::bit(ix<em::connection_scope>) | rcmgr::detail::bit(ix<em::system_scope>)));
  STATIC_REQUIRE(G::flat(ix<em::connection_scope>, 0) == rcmgr::detail::bit(ix<em::system_scope>));
  STATIC_REQUIRE(G::state_count(ix<em::stream_scope>) == 1);
  STATIC_REQUIRE(G::slot_count(ix<em::stream_scope>) == 0);
  STATIC_REQUIRE(G::slot_count(ix<em::connection_scope>) == 0);
  STATIC_REQUIRE(rcmgr::constant_limit<rcmgr::limit_type_of<em::stream_scope>>);
}

TEST_CASE("embedded scope nodes are smaller than the libp2p ones", "[embedded][static]") {
  namespace lp = rcmgr::libp2p;
  using libp2p_st = rcmgr::resource_manager<rcmgr::single_threaded>;
  using libp2p_ts = rcmgr::resource_manager<rcmgr::thread_safe>;
  STATIC_REQUIRE(node_size<em::manager, em::stream_scope> < node_size<libp2p_st, lp::stream_scope>);
  STATIC_REQUIRE(node_size<em::manager, em::connection_scope> < node_size<libp2p_st, lp::connection_scope>);
  STATIC_REQUIRE(node_size<embedded_thread_safe, em::stream_scope> < node_size<libp2p_ts, lp::stream_scope>);
  STATIC_REQUIRE(node_size<embedded_thread_safe, em::connection_scope> < node_size<libp2p_ts, lp::connection_scope>);
  // handles are two pointers either way
  STATIC_REQUIRE(sizeof(em::manager::handle<em::stream_scope>) == 2 * sizeof(void*));
}

TEMPLATE_LIST_TEST_CASE("a stream is charged to its connection and the device", "[embedded]", embedded_managers) {
  TestType mgr{em::device_limits(40 * em::kib, 4)};
  auto c = take(mgr.template open<em::connection_scope>(direction::inbound, false));
  CHECK(c.stat() == st().in_conns(1));
  auto s = take(mgr.template open<em::stream_scope>(direction::outbound, false, c));
  RT_OK(s.reserve_memory(1000));
  CHECK(s.stat() == st().out_streams(1).mem(1000));
  CHECK(c.stat() == st().in_conns(1).out_streams(1).mem(1000));
  CHECK(mgr.template stat<em::system_scope>() == st().in_conns(1).out_streams(1).mem(1000));
  // the connection's own reservations go to the device only
  RT_OK(c.reserve_memory(24));
  CHECK(s.stat().memory == 1000);
  CHECK(mgr.template stat<em::system_scope>().memory == 1024);
  s.done();
  CHECK(c.stat() == st().in_conns(1).mem(24));
  CHECK(mgr.template stat<em::system_scope>() == st().in_conns(1).mem(24));
  c.done();
  CHECK(mgr.template stat<em::system_scope>() == scope_stat{});
}

TEMPLATE_LIST_TEST_CASE("the compile-time limits of streams and connections refuse", "[embedded]", embedded_managers) {
  TestType mgr{em::device_limits(40 * em::kib, 4)};
  auto a = take(mgr.template open<em::connection_scope>(direction::outbound, false));
  std::vector<typename TestType::template handle<em::stream_scope>> streams;
  for (int i = 0; i < 4; ++i) streams.push_back(take(mgr.template open<em::stream_scope>(direction::inbound, false, a)));
  // a fifth inbound stream: the connection allows 4 each way
  auto fifth = mgr.template open<em::stream_scope>(direction::inbound, false, a);
  REQUIRE_FALSE(fifth);
  CHECK(fifth.error().scope.str() == "connection");
  CHECK(fifth.error().res == rcmgr::resource::streams);
  CHECK(fifth.error().limit_value == 4);
  for (int i = 0; i < 2; ++i) streams.push_back(take(mgr.template open<em::stream_scope>(direction::outbound, false, a)));
  auto seventh = mgr.template open<em::stream_scope>(direction::outbound, false, a);
  REQUIRE_FALSE(seventh);
  CHECK(seventh.error().total);
  CHECK(seventh.error().limit_value == 6);
  // a stream holds 8 KiB
  RT_OK(streams[0].reserve_memory(8 * em::kib));
  auto r = streams[0].reserve_memory(1);
  REQUIRE_FALSE(r);
  CHECK(r.error().scope.str() == "stream");
  CHECK(r.error().limit_value == 8 * em::kib);
  // a connection holds 32 KiB
  RT_OK(streams[1].reserve_memory(8 * em::kib));
  RT_OK(streams[2].reserve_memory(8 * em::kib));
  RT_OK(streams[3].reserve_memory(8 * em::kib - 10));
  auto q = streams[4].reserve_memory(11);
  REQUIRE_FALSE(q);
  CHECK(q.error().scope.str() == "connection");
  CHECK(q.error().current == 32 * em::kib - 10);
  // the device holds 40 KiB (a run-time limit)
  auto b = take(mgr.template open<em::connection_scope>(direction::inbound, false));
  RT_OK(b.reserve_memory(8 * em::kib + 10));
  auto d = b.reserve_memory(1);
  REQUIRE_FALSE(d);
  CHECK(d.error().scope.str() == "system");
  // nothing refused was charged anywhere
  CHECK(mgr.template stat<em::system_scope>() == st().in_conns(1).out_conns(1).in_streams(4).out_streams(2).mem(40 * em::kib));
  // the device limit can change at run time
  rcmgr::limit more;
  more.memory = 64 * em::kib;
  REQUIRE(mgr.template set_limit<em::system_scope>(more));
  RT_OK(b.reserve_memory(1));
}

TEMPLATE_LIST_TEST_CASE("a stream whose connection ended is closed and releases harmlessly", "[embedded]",
                        embedded_managers) {
  TestType mgr{em::device_limits(40 * em::kib, 4)};
  auto keep = take(mgr.template open<em::connection_scope>(direction::inbound, false));
  auto keep_s = take(mgr.template open<em::stream_scope>(direction::inbound, false, keep));
  RT_OK(keep_s.reserve_memory(100));
  const scope_stat kept = st().in_conns(1).in_streams(1).mem(100);

  auto c = take(mgr.template open<em::connection_scope>(direction::outbound, false));
  auto s = take(mgr.template open<em::stream_scope>(direction::outbound, false, c));
  auto full = take(mgr.template open<em::stream_scope>(direction::outbound, false, c));
  RT_OK(s.reserve_memory(500));
  RT_OK(full.reserve_memory(8 * em::kib));
  auto sp = take(s.begin_span());
  RT_OK(sp.reserve_memory(50));

  SECTION("the connection ends with done()") { c.done(); }
  SECTION("the connection handle is destroyed") { c = {}; }

  // the device no longer holds anything of c or its streams
  CHECK(mgr.template stat<em::system_scope>() == kept);
  auto r = s.reserve_memory(1);
  REQUIRE_FALSE(r);
  CHECK(r.error().code == errc::scope_closed);
  CHECK(r.error().scope.str() == "connection");
  // closed wins over the stream's own limit: the reservation could never succeed
  auto f = full.reserve_memory(1);
  REQUIRE_FALSE(f);
  CHECK(f.error().code == errc::scope_closed);
  CHECK(sp.reserve_memory(1).error().code == errc::scope_closed);
  // releasing and ending are harmless, whatever the order
  s.release_memory(500);
  sp.release_memory(50);
  sp.done();
  s.done();
  full = {};
  CHECK(mgr.template stat<em::system_scope>() == kept);
  CHECK(keep.stat() == st().in_conns(1).in_streams(1).mem(100));
  CHECK(mgr.misuse().over_releases == 0);
  // no new stream on an ended connection
  auto again = mgr.template open<em::stream_scope>(direction::outbound, false, c);
  REQUIRE_FALSE(again);
  CHECK(again.error().code == errc::scope_closed);
  // and the device is free for new work
  auto c2 = take(mgr.template open<em::connection_scope>(direction::outbound, false));
  auto s2 = take(mgr.template open<em::stream_scope>(direction::outbound, false, c2));
  RT_OK(s2.reserve_memory(8 * em::kib));
}
