// expect: rcmgr::diagnostic::parent_also_reached_through_owner<stream_scope, peer_scope>
// expect: rcmgr topology: the child is charged to this parent both directly and through its owner
#include "kinds.hpp"
#ifdef RCMGR_CF_VALID
struct my_topology : rcmgr::topology<kinds<system_scope, peer_scope, conn_scope, stream_scope>, edge<peer_scope, system_scope>,
                                     edge<conn_scope, peer_scope>, edge<stream_scope, conn_scope>> {};
#else
struct my_topology : rcmgr::topology<kinds<system_scope, peer_scope, conn_scope, stream_scope>, edge<peer_scope, system_scope>,
                                     edge<conn_scope, peer_scope>, edge<stream_scope, conn_scope>, edge<stream_scope, peer_scope>> {};
#endif
RCMGR_CF_USE(my_topology)
