// open<K>: the key of a keyed parent bound at open is missing. The diagnostic says how many
// parent arguments open<K> takes and how many were given.
// expect: open_argument_count_is<
// expect: stream_scope
// expect: integral_constant<
// expect: 1>
// expect: 0>
#include "kinds.hpp"
struct my_topology : rcmgr::topology<kinds<system_scope, peer_scope, stream_scope>, edge<peer_scope, system_scope>,
                                     edge<stream_scope, peer_scope>> {};
int main() {
  rcmgr::basic_resource_manager<my_topology> manager;
#ifdef RCMGR_CF_VALID
  auto s = manager.open<stream_scope>(rcmgr::direction::inbound, false, std::string("peer-1"));
#else
  auto s = manager.open<stream_scope>(rcmgr::direction::inbound, false);
#endif
  return s ? 0 : 1;
}
