#include <catch2/catch.hpp>

#include "rcmgr/rcmgr.hpp"

TEST_CASE("a stream with peer, protocol and service charges each scope once") {
  rcmgr::resource_manager<> mgr;
  const rcmgr::peer_id p("12D3KooWSmoke");
  auto c = mgr.open_connection(rcmgr::direction::inbound, true);
  REQUIRE(c);
  REQUIRE(c->set_peer(p));
  auto s = mgr.open_stream(p, rcmgr::direction::inbound);
  REQUIRE(s);
  REQUIRE(s->set_protocol("/ipfs/id/1.0.0"));
  REQUIRE(s->set_service("identify"));
  REQUIRE(s->reserve_memory(1024, rcmgr::priority::high));
  CHECK(mgr.stat<rcmgr::libp2p::system_scope>().memory == 1024);
  CHECK(mgr.stat<rcmgr::libp2p::transient_scope>().memory == 0);
  s->done();
  CHECK(mgr.stat<rcmgr::libp2p::system_scope>().memory == 0);
}
