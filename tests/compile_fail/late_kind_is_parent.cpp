// expect: rcmgr::diagnostic::late_bound_kind_used_as_parent<conn_scope, stream_scope>
// expect: rcmgr topology: a kind with late, after<> or until<> edges cannot be a parent
#include "kinds.hpp"
#ifdef RCMGR_CF_VALID
// the stream is charged to the peer itself instead of through its connection
struct my_topology : rcmgr::topology<kinds<system_scope, peer_scope, conn_scope, stream_scope>, edge<peer_scope, system_scope>,
                                     edge<conn_scope, peer_scope, late>, edge<conn_scope, system_scope>,
                                     edge<stream_scope, peer_scope, late>, edge<stream_scope, system_scope>> {};
#else
struct my_topology : rcmgr::topology<kinds<system_scope, peer_scope, conn_scope, stream_scope>, edge<peer_scope, system_scope>,
                                     edge<conn_scope, peer_scope, late>, edge<conn_scope, system_scope>,
                                     edge<stream_scope, conn_scope>> {};
#endif
RCMGR_CF_USE(my_topology)
