// expect: rcmgr::diagnostic::view_component_not_keyed<system_peer_scope, system_scope>
// expect: rcmgr topology: view_of<A, B>: both A and B must be keyed kinds listed in kinds<...>
#include "kinds.hpp"
#ifdef RCMGR_CF_VALID
struct system_peer_scope : rcmgr::scope<rcmgr::view_of<proto_scope, peer_scope>> {};
struct my_topology : rcmgr::topology<kinds<system_scope, peer_scope, proto_scope, system_peer_scope, stream_scope>,
                                     edge<peer_scope, system_scope>, edge<proto_scope, system_scope>, edge<stream_scope, peer_scope>,
                                     edge<stream_scope, proto_scope>, edge<stream_scope, system_peer_scope>> {};
#else
struct system_peer_scope : rcmgr::scope<rcmgr::view_of<system_scope, peer_scope>> {};
struct my_topology : rcmgr::topology<kinds<system_scope, peer_scope, system_peer_scope, stream_scope>, edge<peer_scope, system_scope>,
                                     edge<stream_scope, system_scope>, edge<stream_scope, peer_scope>, edge<stream_scope, system_peer_scope>> {};
#endif
RCMGR_CF_USE(my_topology)
