// expect: rcmgr::diagnostic::cycle_through<a_scope>
// expect: rcmgr topology: the edges form a cycle through this kind
#include "kinds.hpp"
#ifdef RCMGR_CF_VALID
struct my_topology : rcmgr::topology<kinds<system_scope, a_scope, b_scope>, edge<a_scope, system_scope>, edge<b_scope, a_scope>> {};
#else
struct my_topology : rcmgr::topology<kinds<system_scope, a_scope, b_scope>, edge<a_scope, b_scope>, edge<b_scope, a_scope>> {};
#endif
RCMGR_CF_USE(my_topology)
