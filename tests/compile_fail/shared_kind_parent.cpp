// expect: rcmgr::diagnostic::shared_kind_charged_to_non_singleton<peer_scope, conn_scope>
// expect: rcmgr topology: a singleton, keyed or view kind can only be charged to singleton kinds
#include "kinds.hpp"
#ifdef RCMGR_CF_VALID
struct my_topology : rcmgr::topology<kinds<system_scope, peer_scope, conn_scope>, edge<peer_scope, system_scope>,
                                     edge<conn_scope, peer_scope, late>> {};
#else
// the edge points the wrong way: a peer cannot be charged to one of its connections
struct my_topology : rcmgr::topology<kinds<system_scope, peer_scope, conn_scope>, edge<peer_scope, system_scope>,
                                     edge<peer_scope, conn_scope>> {};
#endif
RCMGR_CF_USE(my_topology)
