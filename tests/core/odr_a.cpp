// The first TU of the ODR test (see odr.hpp).
#include <catch2/catch.hpp>

#include "odr.hpp"

TEST_CASE("two TUs share one library: objects made in one are used in the other", "[odr]") {
  const rcmgr::peer_id p("12D3KooWOdrPeer");
  // the error category is one object
  CHECK(odr::category_seen_by_b() == &rcmgr::error_category());
  CHECK(std::error_code(rcmgr::errc::scope_closed).category() == *odr::category_seen_by_b());

  odr::thread_safe_manager mgr;
  auto s = mgr.open_stream(p, rcmgr::direction::inbound);
  REQUIRE(s);
  REQUIRE(odr::charge_from_b(*s, 4096));
  CHECK(odr::peer_stat_from_b(mgr, p).memory == 4096);
  CHECK(mgr.view_peer(p, [](auto& r) { return r.stat(); }).memory == 4096);
  s->done();
  CHECK(odr::peer_stat_from_b(mgr, p).memory == 0);
  CHECK(mgr.live_count<rcmgr::libp2p::peer_scope>() == 0);

  odr::single_threaded_manager st;
  {
    auto c = odr::open_in_b(st, p);
    REQUIRE(c);
    CHECK(c.peer_scope().peer() == p);
    CHECK(st.list_peers().size() == 1);
  }
  CHECK(st.list_peers().empty());

  CHECK(odr::refusal_text_from_b() == "system refused 11 B of memory at priority always (255): 0 B in use, limit 10 B");
  CHECK(odr::stream_node_size_in_b() ==
        sizeof(rcmgr::detail::node<odr::thread_safe_manager::core_type, rcmgr::libp2p::stream_scope>));
  CHECK(odr::null_session_in_b() == 1);
}
