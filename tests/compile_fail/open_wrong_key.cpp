// open<K>: the argument naming a keyed parent is not its key. The diagnostic names the argument's
// position in open(dir, use_fd, ...), the parent, the key type it expected and what was given.
// expect: open_argument_matches_at<
// expect: 3
// expect: peer_scope
// expect: int
#include "kinds.hpp"
struct my_topology : rcmgr::topology<kinds<system_scope, peer_scope, stream_scope>, edge<peer_scope, system_scope>,
                                     edge<stream_scope, peer_scope>> {};
int main() {
  rcmgr::basic_resource_manager<my_topology> manager;
#ifdef RCMGR_CF_VALID
  auto s = manager.open<stream_scope>(rcmgr::direction::inbound, false, std::string("peer-1"));
#else
  auto s = manager.open<stream_scope>(rcmgr::direction::inbound, false, 42);
#endif
  return s ? 0 : 1;
}
