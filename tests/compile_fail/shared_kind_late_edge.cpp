// expect: rcmgr::diagnostic::shared_kind_with_late_edge<peer_scope, system_scope>
// expect: rcmgr topology: only per-object kinds can bind edges late
#include "kinds.hpp"
#ifdef RCMGR_CF_VALID
struct my_topology : rcmgr::topology<kinds<system_scope, peer_scope>, edge<peer_scope, system_scope>> {};
#else
struct my_topology : rcmgr::topology<kinds<system_scope, peer_scope>, edge<peer_scope, system_scope, late>> {};
#endif
RCMGR_CF_USE(my_topology)
