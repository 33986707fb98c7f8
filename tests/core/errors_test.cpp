// What a refusal says: which scope (kind and key), what resource, which direction, how much was
// in use, asked for and allowed, at what priority; as one line of text and as std::error_code.
#include <system_error>

#include "support.hpp"

using namespace rt;

namespace {
bool one_line(const std::string& s) { return s.find('\n') == std::string::npos && !s.empty(); }
}  // namespace

TEMPLATE_LIST_TEST_CASE("a memory refusal names the peer and carries every number", "[errors]", real_managers) {
  auto ls = unlimited_limits();
  ls.template set<lp::peer_scope>(memory_only(65536));
  TestType mgr{ls};
  auto s = take(mgr.open_stream(peer_a, direction::inbound));
  RT_OK(s.reserve_memory(20000));
  auto r = s.reserve_memory(10000, rcmgr::priority::low);
  REQUIRE_FALSE(r);
  const rcmgr::error& e = r.error();
  CHECK(e.code == errc::limit_exceeded);
  CHECK(e.scope.kind == "peer");
  CHECK(e.scope.key() == peer_a.str());
  CHECK(e.scope.str() == "peer:12D3KooWRBy97UB99e3J6hiPesre1MZeuNQvfan4gBziswrRJsNK");
  CHECK(e.res == rcmgr::resource::memory);
  CHECK_FALSE(e.has_direction);
  CHECK(e.current == 20000);
  CHECK(e.attempted == 10000);
  CHECK(e.limit_value == 65536);
  CHECK(e.prio == rcmgr::priority::low);
  CHECK(e.usable() == 26112);  // floor(65536 * 102 / 256)
  const std::string m = e.message();
  INFO(m);
  CHECK(one_line(m));
  CHECK(m ==
        "peer:12D3KooWRBy97UB99e3J6hiPesre1MZeuNQvfan4gBziswrRJsNK refused 10000 B of memory at priority low (101): "
        "20000 B in use, 26112 B usable of limit 65536 B");
  // streaming gives the same text
  std::ostringstream os;
  os << e;
  CHECK(os.str() == m);
}

TEMPLATE_LIST_TEST_CASE("a stream refusal names the protocol, the direction and the counts", "[errors]",
                        real_managers) {
  auto ls = unlimited_limits();
  limit l;
  l.streams_inbound = 1;
  ls.template set<lp::protocol_scope>(l);
  TestType mgr{ls};
  auto s1 = take(mgr.open_stream(peer_a, direction::inbound));
  auto s2 = take(mgr.open_stream(peer_b, direction::inbound));
  RT_OK(s1.set_protocol(proto_id));
  auto r = s2.set_protocol(proto_id);
  REQUIRE_FALSE(r);
  const auto& e = r.error();
  CHECK(e.code == errc::limit_exceeded);
  CHECK(e.scope.str() == "protocol:/ipfs/id/1.0.0");
  CHECK(e.res == rcmgr::resource::streams);
  CHECK(e.has_direction);
  CHECK(e.dir == direction::inbound);
  CHECK_FALSE(e.total);
  CHECK(e.current == 1);
  CHECK(e.attempted == 1);
  CHECK(e.limit_value == 1);
  CHECK(e.prio == rcmgr::priority::always);
  CHECK(e.message() == "protocol:/ipfs/id/1.0.0 refused 1 inbound stream: 1 inbound in use, inbound limit 1");
}

TEMPLATE_LIST_TEST_CASE("a total-limit refusal says so", "[errors]", real_managers) {
  auto ls = unlimited_limits();
  limit l;
  l.conns = 3;
  ls.template set<lp::system_scope>(l);
  TestType mgr{ls};
  auto a = take(mgr.open_connection(direction::inbound, false));
  auto b = take(mgr.open_connection(direction::outbound, false));
  auto c = take(mgr.open_connection(direction::outbound, false));
  auto r = mgr.open_connection(direction::outbound, false);
  REQUIRE_FALSE(r);
  CHECK(r.error().total);
  CHECK(r.error().message() == "system refused 1 outbound connection: 3 in use in total, total limit 3");
}

TEMPLATE_LIST_TEST_CASE("view scopes are named by both keys", "[errors]", real_managers) {
  auto ls = unlimited_limits();
  ls.template set<lp::service_peer_scope>(memory_only(10));
  TestType mgr{ls};
  auto s = take(mgr.open_stream(peer_a, direction::outbound));
  RT_OK(s.set_protocol(proto_id));
  RT_OK(s.set_service(svc_identify));
  auto r = s.reserve_memory(11);
  REQUIRE_FALSE(r);
  CHECK(r.error().scope.kind == "service-peer");
  CHECK(r.error().scope.str() == "service-peer:libp2p.identify@" + std::string(peer_a.str()));
  CHECK(one_line(r.error().message()));
}

TEMPLATE_LIST_TEST_CASE("state errors say what is wrong", "[errors]", real_managers) {
  TestType mgr{unlimited_limits()};
  auto c = take(mgr.open_connection(direction::inbound, false));
  RT_OK(c.set_peer(peer_a));
  auto again = c.set_peer(peer_b);
  REQUIRE_FALSE(again);
  CHECK(again.error().code == errc::already_attached);
  CHECK(again.error().scope.str() == "connection");
  CHECK(again.error().message() == "connection scope already attached: already attached to a peer scope");
  c.done();
  auto closed = c.reserve_memory(1);
  CHECK(closed.error().message() == "connection resource scope closed: the scope has ended");
  auto neg = mgr.view_system([](auto& s) { return s.reserve_memory(-1); });
  CHECK(neg.error().code == errc::invalid_argument);
  CHECK(neg.error().scope.str() == "system");
}

TEST_CASE("errors convert to std::error_code in the rcmgr category", "[errors]") {
  const std::error_code ec = rcmgr::errc::limit_exceeded;  // implicit: errc is an error code enum
  CHECK(ec.category().name() == std::string("rcmgr"));
  CHECK(&ec.category() == &rcmgr::error_category());
  CHECK(ec.value() == 1);
  CHECK(ec == rcmgr::errc::limit_exceeded);
  CHECK(ec != rcmgr::errc::scope_closed);
  CHECK(ec.message() == "resource limit exceeded");
  CHECK(std::error_code(rcmgr::errc::scope_closed).message() == "resource scope closed");
  CHECK(std::error_code(rcmgr::errc::invalid_argument).message() == "invalid argument");
  CHECK(std::error_code(rcmgr::errc::already_attached).message() == "scope already attached");
  CHECK(std::error_code(rcmgr::errc::not_attached).message() == "required attachment missing");
  CHECK(std::error_code(rcmgr::errc::manager_closed).message() == "resource manager closed");
  // not equal to a generic error with the same value
  CHECK(ec != std::error_code(1, std::generic_category()));

  thread_safe_manager mgr{unlimited_limits()};
  auto s = take(mgr.open_stream(peer_a, direction::inbound));
  s.done();
  auto r = s.reserve_memory(1);
  REQUIRE_FALSE(r);
  const std::error_code from_result = r.error().error_code();
  CHECK(from_result == rcmgr::errc::scope_closed);
  CHECK(from_result.category() == rcmgr::error_category());
}

TEST_CASE("long keys are cut in messages, not in accounting", "[errors]") {
  thread_safe_manager mgr{unlimited_limits()};
  const std::string long_proto = "/" + std::string(200, 'x');
  auto ls = unlimited_limits();
  ls.set<lp::protocol_scope>(memory_only(1));
  REQUIRE(mgr.set_limits(ls));
  auto s = take(mgr.open_stream(peer_a, direction::inbound));
  RT_OK(s.set_protocol(long_proto));
  auto r = s.reserve_memory(2);
  REQUIRE_FALSE(r);
  const std::string key(r.error().scope.key());
  CHECK(key.size() == rcmgr::scope_name::key_capacity);
  CHECK(key.substr(key.size() - 3) == "...");
  CHECK(long_proto.rfind(key.substr(0, key.size() - 3), 0) == 0);
  CHECK(one_line(r.error().message()));
  // the full key still identifies the scope
  CHECK(mgr.list_protocols().front().first == long_proto);
}
