// expect: rcmgr::diagnostic::kind_listed_twice<a_scope>
// expect: rcmgr topology: a kind is listed twice in kinds<...>: remove the repetition
#include "kinds.hpp"
#ifdef RCMGR_CF_VALID
struct my_topology : rcmgr::topology<kinds<system_scope, a_scope>, edge<a_scope, system_scope>> {};
#else
struct my_topology : rcmgr::topology<kinds<system_scope, a_scope, a_scope>, edge<a_scope, system_scope>> {};
#endif
RCMGR_CF_USE(my_topology)
