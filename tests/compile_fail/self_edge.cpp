// expect: rcmgr::diagnostic::edge_to_itself<a_scope>
// expect: rcmgr topology: an edge from a kind to itself: remove it
#include "kinds.hpp"
#ifdef RCMGR_CF_VALID
struct my_topology : rcmgr::topology<kinds<system_scope, a_scope>, edge<a_scope, system_scope>> {};
#else
struct my_topology : rcmgr::topology<kinds<system_scope, a_scope>, edge<a_scope, system_scope>, edge<a_scope, a_scope>> {};
#endif
RCMGR_CF_USE(my_topology)
