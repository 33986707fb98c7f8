// expect: rcmgr::diagnostic::unknown_edge_binding<rcmgr::edge<conn_scope, system_scope, int>
// expect: rcmgr topology: the binding of an edge must be at_open, late, after<Q>, until<Q> or instead_of<Q>
#include "kinds.hpp"
#ifdef RCMGR_CF_VALID
struct my_topology : rcmgr::topology<kinds<system_scope, conn_scope>, edge<conn_scope, system_scope, late>> {};
#else
struct my_topology : rcmgr::topology<kinds<system_scope, conn_scope>, edge<conn_scope, system_scope, int>> {};
#endif
RCMGR_CF_USE(my_topology)
