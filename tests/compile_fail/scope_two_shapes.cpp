// expect: rcmgr::scope<...>: give at most one shape option
// max-errors: 3
#include "kinds.hpp"
#ifdef RCMGR_CF_VALID
struct odd_scope : rcmgr::scope<rcmgr::keyed_by<std::string>> {};
#else
struct odd_scope : rcmgr::scope<rcmgr::singleton, rcmgr::keyed_by<std::string>> {};
#endif
struct my_topology : rcmgr::topology<kinds<system_scope, odd_scope>, edge<odd_scope, system_scope>> {};
RCMGR_CF_USE(my_topology)
