// expect: rcmgr::diagnostic::not_an_edge<std::pair<a_scope, system_scope>
// expect: rcmgr topology: after kinds<...>, every argument must be rcmgr::edge<Child, Parent[, Binding]>
#include <utility>

#include "kinds.hpp"
#ifdef RCMGR_CF_VALID
struct my_topology : rcmgr::topology<kinds<system_scope, a_scope>, edge<a_scope, system_scope>> {};
#else
struct my_topology : rcmgr::topology<kinds<system_scope, a_scope>, std::pair<a_scope, system_scope>> {};
#endif
RCMGR_CF_USE(my_topology)
