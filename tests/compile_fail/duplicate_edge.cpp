// expect: rcmgr::diagnostic::edge_declared_twice<conn_scope, system_scope>
// expect: rcmgr topology: the same edge is declared twice: remove one
#include "kinds.hpp"
#ifdef RCMGR_CF_VALID
struct my_topology : rcmgr::topology<kinds<system_scope, conn_scope>, edge<conn_scope, system_scope>> {};
#else
struct my_topology : rcmgr::topology<kinds<system_scope, conn_scope>, edge<conn_scope, system_scope>, edge<conn_scope, system_scope, late>> {};
#endif
RCMGR_CF_USE(my_topology)
