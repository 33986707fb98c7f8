// The second TU of the ODR test: it includes everything and instantiates the same managers as
// odr_a.cpp. The functions below are called from there on objects made there.
#include "odr.hpp"

namespace odr {

const std::error_category* category_seen_by_b() { return &rcmgr::error_category(); }

rcmgr::result<void> charge_from_b(thread_safe_manager::stream& s, std::int64_t bytes) {
  return s.reserve_memory(bytes, rcmgr::priority::high);
}

rcmgr::scope_stat peer_stat_from_b(thread_safe_manager& mgr, const rcmgr::peer_id& p) {
  return mgr.view_peer(p, [](auto& r) { return r.stat(); });
}

single_threaded_manager::connection open_in_b(single_threaded_manager& mgr, const rcmgr::peer_id& p) {
  auto c = mgr.open_connection(rcmgr::direction::outbound, true);
  if (!c || !c->set_peer(p)) return {};
  return std::move(*c);
}

std::string refusal_text_from_b() {
  rcmgr::libp2p::limits ls;
  rcmgr::limit l;
  l.memory = 10;
  ls.set<rcmgr::libp2p::system_scope>(l);
  single_threaded_manager mgr(ls);
  auto r = mgr.view_system([](auto& sys) { return sys.reserve_memory(11); });
  return r ? std::string("ok") : r.error().message();
}

std::size_t stream_node_size_in_b() {
  return sizeof(rcmgr::detail::node<thread_safe_manager::core_type, rcmgr::libp2p::stream_scope>);
}

int null_session_in_b() {
  rcmgr::null_resource_manager mgr;
  auto s = mgr.open_stream(rcmgr::peer_id{}, rcmgr::direction::inbound);
  return s->reserve_memory(1) ? 1 : 0;
}

}  // namespace odr
