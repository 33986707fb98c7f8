// The stock libp2p managers used through rcmgr::libp2p_instance: this translation unit sees only
// the explicit instantiation declarations (RCMGR_LIBP2P_EXTERN_INSTANCE comes with the target),
// and every call below goes to the code compiled once in src/libp2p_instance.cpp. The CTest
// rcmgr_extern_instance_symbols checks that this object file defines no engine function.
#include <catch2/catch.hpp>

#include <string_view>

#include "rcmgr/rcmgr.hpp"

#ifndef RCMGR_LIBP2P_EXTERN_INSTANCE
#error "rcmgr::libp2p_instance must define RCMGR_LIBP2P_EXTERN_INSTANCE for its users"
#endif

using rcmgr::direction;

TEMPLATE_TEST_CASE("a stock manager works through the explicit instantiation", "[extern_instance]",
                   rcmgr::resource_manager<>, rcmgr::resource_manager<rcmgr::thread_safe>,
                   rcmgr::resource_manager<rcmgr::single_threaded>, rcmgr::resource_manager<rcmgr::thread_cached<>>) {
  auto limits = rcmgr::libp2p::default_limits();
  rcmgr::limit peer_limit = limits.template get<rcmgr::libp2p::peer_scope>();
  peer_limit.memory = 4096;
  limits.template set<rcmgr::libp2p::peer_scope>(peer_limit);
  TestType mgr(limits);
  const rcmgr::peer_id p("12D3KooWExternInstance");

  auto c = mgr.open_connection(direction::inbound, true);
  REQUIRE(c);
  REQUIRE(c->set_peer(p));
  auto s = mgr.open_stream(p, direction::outbound);
  REQUIRE(s);
  REQUIRE(s->set_protocol(std::string_view("/ipfs/id/1.0.0")));
  REQUIRE(s->set_service(std::string_view("libp2p.identify")));

  REQUIRE(s->reserve_memory(3000));
  const auto refused = s->reserve_memory(2000);  // the peer's 4096 bytes would be exceeded
  REQUIRE_FALSE(refused);
  CHECK(refused.error().code == rcmgr::errc::limit_exceeded);
  CHECK(s->stat().memory == 3000);
  CHECK(s->peer_scope().stat().memory == 3000);
  mgr.view_system([](auto& sys) { CHECK(sys.stat().memory == 3000); });

  if (auto span = s->begin_span()) {
    CHECK(span->reserve_memory(1000));
    CHECK(s->stat().memory == 4000);
  }
  CHECK(s->stat().memory == 3000);

  mgr.view_peer(p, [](auto& peer) { CHECK(peer.stat().streams_outbound == 1); });
  CHECK(mgr.list_peers().size() == 1);
  CHECK(mgr.list_protocols().size() == 1);
  CHECK(mgr.list_services().size() == 1);

  s->release_memory(3000);
  s->done();
  c->done();
  mgr.view_system([](auto& sys) { CHECK(sys.stat().memory == 0); });
}
