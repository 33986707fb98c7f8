// expect: rcmgr::topology: the first argument must be rcmgr::kinds<...> listing every scope kind
#include "kinds.hpp"
#ifdef RCMGR_CF_VALID
struct my_topology : rcmgr::topology<kinds<system_scope, a_scope>, edge<a_scope, system_scope>> {};
#else
struct my_topology : rcmgr::topology<system_scope, a_scope, edge<a_scope, system_scope>> {};
#endif
RCMGR_CF_USE(my_topology)
