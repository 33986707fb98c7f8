// expect: rcmgr::diagnostic::owner_edge_not_at_open<stream_scope, conn_scope>
// expect: rcmgr topology: an edge to a per-object parent (the child's owner) must be bound at open
#include "kinds.hpp"
#ifdef RCMGR_CF_VALID
struct my_topology : rcmgr::topology<kinds<system_scope, conn_scope, stream_scope>, edge<conn_scope, system_scope>, edge<stream_scope, conn_scope>> {};
#else
struct my_topology : rcmgr::topology<kinds<system_scope, conn_scope, stream_scope>, edge<conn_scope, system_scope>, edge<stream_scope, conn_scope, late>> {};
#endif
RCMGR_CF_USE(my_topology)
