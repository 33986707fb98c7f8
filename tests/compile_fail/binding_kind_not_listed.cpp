// expect: rcmgr::diagnostic::binding_names_a_kind_not_in_kinds<rcmgr::edge<conn_scope, transient_scope, rcmgr::until<peer_scope>
// expect: rcmgr topology: the Q of after<Q> or until<Q> is not listed in kinds<...>: add it there
#include "kinds.hpp"
#ifdef RCMGR_CF_VALID
struct my_topology : rcmgr::topology<kinds<system_scope, transient_scope, peer_scope, conn_scope>, edge<transient_scope, system_scope>,
                                     edge<peer_scope, system_scope>, edge<conn_scope, transient_scope, until<peer_scope>>,
                                     edge<conn_scope, peer_scope, late>> {};
#else
struct my_topology : rcmgr::topology<kinds<system_scope, transient_scope, conn_scope>, edge<transient_scope, system_scope>,
                                     edge<conn_scope, transient_scope, until<peer_scope>>> {};
#endif
RCMGR_CF_USE(my_topology)
