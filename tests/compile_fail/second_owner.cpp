// expect: rcmgr::diagnostic::second_owner<stream_scope, conn2_scope>
// expect: rcmgr topology: a per-object kind can have at most one per-object parent (its owner)
#include "kinds.hpp"
#ifdef RCMGR_CF_VALID
struct my_topology : rcmgr::topology<kinds<system_scope, conn_scope, conn2_scope, stream_scope>, edge<conn_scope, system_scope>,
                                     edge<conn2_scope, system_scope>, edge<stream_scope, conn_scope>> {};
#else
struct my_topology : rcmgr::topology<kinds<system_scope, conn_scope, conn2_scope, stream_scope>, edge<conn_scope, system_scope>,
                                     edge<conn2_scope, system_scope>, edge<stream_scope, conn_scope>, edge<stream_scope, conn2_scope>> {};
#endif
RCMGR_CF_USE(my_topology)
