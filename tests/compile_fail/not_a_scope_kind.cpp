// expect: rcmgr::diagnostic::not_a_scope_kind<plain_struct>
// expect: rcmgr topology: every type in kinds<...> must be a scope kind: derive it from rcmgr::scope<...>
#include "kinds.hpp"
#ifdef RCMGR_CF_VALID
struct plain_struct : rcmgr::scope<rcmgr::singleton> {};
#else
struct plain_struct {};
#endif
struct my_topology : rcmgr::topology<kinds<system_scope, plain_struct>> {};
RCMGR_CF_USE(my_topology)
