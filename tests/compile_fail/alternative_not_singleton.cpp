// expect: rcmgr::diagnostic::alternative_scope_not_a_singleton<conn_scope, peer_scope>
// expect: rcmgr topology: edge<Child, Alt, instead_of<Primary>> needs a per-object Child and singleton Alt and Primary
#include "kinds.hpp"
#ifdef RCMGR_CF_VALID
struct my_topology : rcmgr::topology<kinds<system_scope, transient_scope, peer_scope, conn_scope>,
                                     edge<transient_scope, system_scope>, edge<peer_scope, system_scope>,
                                     edge<conn_scope, system_scope>, edge<conn_scope, transient_scope, rcmgr::instead_of<system_scope>>> {};
#else
struct my_topology : rcmgr::topology<kinds<system_scope, transient_scope, peer_scope, conn_scope>,
                                     edge<transient_scope, system_scope>, edge<peer_scope, system_scope>,
                                     edge<conn_scope, system_scope>, edge<conn_scope, peer_scope, rcmgr::instead_of<system_scope>>> {};
#endif
RCMGR_CF_USE(my_topology)
