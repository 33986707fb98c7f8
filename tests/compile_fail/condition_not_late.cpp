// expect: rcmgr::diagnostic::condition_is_not_a_late_parent<conn_scope, peer_scope>
// expect: rcmgr topology: the Q of after<Q> or until<Q> must be a late parent of the same child
#include "kinds.hpp"
#ifdef RCMGR_CF_VALID
struct my_topology : rcmgr::topology<kinds<system_scope, transient_scope, peer_scope, conn_scope>, edge<transient_scope, system_scope>,
                                     edge<peer_scope, system_scope>, edge<conn_scope, transient_scope, until<peer_scope>>,
                                     edge<conn_scope, peer_scope, late>> {};
#else
// the connection leaves transient "until its peer is set", but the peer is never a late parent
struct my_topology : rcmgr::topology<kinds<system_scope, transient_scope, peer_scope, conn_scope>, edge<transient_scope, system_scope>,
                                     edge<peer_scope, system_scope>, edge<conn_scope, transient_scope, until<peer_scope>>> {};
#endif
RCMGR_CF_USE(my_topology)
