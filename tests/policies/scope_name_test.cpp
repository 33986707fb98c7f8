// Scope names in errors: built without allocating, cut at a fixed capacity.
#include <catch2/catch.hpp>

#include <string>

#include "rcmgr/rcmgr.hpp"

TEST_CASE("a view's name joins both keys, cut part by part at the key capacity") {
  rcmgr::scope_name n("protocol-peer");
  n.set_key("/ipfs/id/1.0.0", '@', "12D3KooWabc");
  CHECK(n.str() == "protocol-peer:/ipfs/id/1.0.0@12D3KooWabc");

  rcmgr::scope_name long_name("service-peer");
  long_name.set_key(std::string(100, 'a'), '@', "b");
  CHECK(long_name.key().size() == rcmgr::scope_name::key_capacity);
  CHECK(long_name.key().substr(rcmgr::scope_name::key_capacity - 3) == "...");
}

TEST_CASE("a protocol-peer refusal names the protocol and the peer") {
  auto limits = rcmgr::libp2p::default_limits();
  limits.set<rcmgr::libp2p::protocol_peer_scope>(rcmgr::libp2p::stream_limit(1, 1, 1, 1 << 20));
  rcmgr::resource_manager<rcmgr::single_threaded> mgr(limits);
  const rcmgr::peer_id p("12D3KooWViewName");
  auto a = mgr.open_stream(p, rcmgr::direction::inbound);
  auto b = mgr.open_stream(p, rcmgr::direction::inbound);
  REQUIRE(a);
  REQUIRE(b);
  REQUIRE(a->set_protocol("/ipfs/kad/1.0.0"));
  auto r = b->set_protocol("/ipfs/kad/1.0.0");
  REQUIRE_FALSE(r);
  CHECK(r.error().scope.str() == "protocol-peer:/ipfs/kad/1.0.0@12D3KooWViewName");
  CHECK(r.error().message() ==
        "protocol-peer:/ipfs/kad/1.0.0@12D3KooWViewName refused 1 inbound stream: 1 inbound in use, inbound limit 1");
}

TEST_CASE("reserving 0 bytes answers like any reservation: closed scopes and ended owners refuse") {
  rcmgr::resource_manager<rcmgr::single_threaded> mgr;
  auto s = mgr.open_stream(rcmgr::peer_id("p"), rcmgr::direction::inbound);
  REQUIRE(s);
  REQUIRE(s->reserve_memory(0));
  auto span = s->begin_span();
  REQUIRE(span);
  REQUIRE(span->reserve_memory(0));
  s->done();
  CHECK(s->reserve_memory(0).error().code == rcmgr::errc::scope_closed);
  auto r = span->reserve_memory(0);
  REQUIRE_FALSE(r);
  CHECK(r.error().code == rcmgr::errc::scope_closed);
  CHECK(r.error().scope.kind == "stream");
  CHECK(mgr.stat<rcmgr::libp2p::system_scope>().empty());
}
