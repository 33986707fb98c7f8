// expect: rcmgr::diagnostic::view_edge_with_binding<stream_scope, proto_peer_scope>
// expect: rcmgr topology: an edge to a view_of<A, B> kind takes no binding
#include "kinds.hpp"
#ifdef RCMGR_CF_VALID
struct my_topology : rcmgr::topology<kinds<system_scope, peer_scope, proto_scope, proto_peer_scope, stream_scope>,
                                     edge<peer_scope, system_scope>, edge<proto_scope, system_scope>, edge<stream_scope, peer_scope>,
                                     edge<stream_scope, proto_scope, late>, edge<stream_scope, proto_peer_scope>> {};
#else
struct my_topology : rcmgr::topology<kinds<system_scope, peer_scope, proto_scope, proto_peer_scope, stream_scope>,
                                     edge<peer_scope, system_scope>, edge<proto_scope, system_scope>, edge<stream_scope, peer_scope>,
                                     edge<stream_scope, proto_scope, late>, edge<stream_scope, proto_peer_scope, late>> {};
#endif
RCMGR_CF_USE(my_topology)
