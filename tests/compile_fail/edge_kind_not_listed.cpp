// expect: rcmgr::diagnostic::edge_names_a_kind_not_in_kinds<rcmgr::edge<conn_scope, peer_scope
// expect: rcmgr topology: an edge names a kind that is not listed in kinds<...>: add it there
#include "kinds.hpp"
#ifdef RCMGR_CF_VALID
struct my_topology : rcmgr::topology<kinds<system_scope, peer_scope, conn_scope>, edge<peer_scope, system_scope>, edge<conn_scope, peer_scope>> {};
#else
struct my_topology : rcmgr::topology<kinds<system_scope, conn_scope>, edge<conn_scope, system_scope>, edge<conn_scope, peer_scope>> {};
#endif
RCMGR_CF_USE(my_topology)
