// open<K>: the argument naming the owner (a per-object parent) is not a handle of the owner's
// kind. The diagnostic names the position, the owner kind and handle_of<owner>.
// expect: open_argument_matches_at<
// expect: handle_of<conn_scope>
#include "kinds.hpp"
struct my_topology : rcmgr::topology<kinds<system_scope, conn_scope, stream_scope>, edge<conn_scope, system_scope>,
                                     edge<stream_scope, conn_scope>> {};
int main() {
  rcmgr::basic_resource_manager<my_topology> manager;
  auto c = manager.open<conn_scope>(rcmgr::direction::inbound, false);
  if (!c) return 1;
#ifdef RCMGR_CF_VALID
  auto s = manager.open<stream_scope>(rcmgr::direction::inbound, false, *c);
#else
  auto s = manager.open<stream_scope>(rcmgr::direction::inbound, false, std::string("conn-1"));
#endif
  return s ? 0 : 1;
}
