// expect: rcmgr::diagnostic::view_component_not_a_parent<stream_scope, proto_peer_scope>
// expect: rcmgr topology: a child charged to a view_of<A, B> kind must itself have edges to A and to B
#include "kinds.hpp"
#ifdef RCMGR_CF_VALID
struct my_topology : rcmgr::topology<kinds<system_scope, peer_scope, proto_scope, proto_peer_scope, stream_scope>,
                                     edge<peer_scope, system_scope>, edge<proto_scope, system_scope>, edge<stream_scope, peer_scope>,
                                     edge<stream_scope, proto_scope, late>, edge<stream_scope, proto_peer_scope>> {};
#else
struct my_topology : rcmgr::topology<kinds<system_scope, peer_scope, proto_scope, proto_peer_scope, stream_scope>,
                                     edge<peer_scope, system_scope>, edge<proto_scope, system_scope>, edge<stream_scope, peer_scope>,
                                     edge<stream_scope, proto_peer_scope>> {};
#endif
RCMGR_CF_USE(my_topology)
