// expect: rcmgr::diagnostic::condition_is_not_a_late_parent<stream_scope, proto_scope>
// expect: rcmgr topology: the Q of after<Q> or until<Q> must be a late parent of the same child
#include "kinds.hpp"
#ifdef RCMGR_CF_VALID
struct my_topology : rcmgr::topology<kinds<system_scope, peer_scope, proto_scope, stream_scope>, edge<peer_scope, system_scope>,
                                     edge<proto_scope, system_scope>, edge<stream_scope, proto_scope, late>,
                                     edge<stream_scope, peer_scope, after<proto_scope>>> {};
#else
// the protocol is bound at open, so "after the protocol is set" never happens
struct my_topology : rcmgr::topology<kinds<system_scope, peer_scope, proto_scope, stream_scope>, edge<peer_scope, system_scope>,
                                     edge<proto_scope, system_scope>, edge<stream_scope, proto_scope>,
                                     edge<stream_scope, peer_scope, after<proto_scope>>> {};
#endif
RCMGR_CF_USE(my_topology)
