// expect: rcmgr::scope<...>: unknown option
// max-errors: 3
#include "kinds.hpp"
#ifdef RCMGR_CF_VALID
struct odd_scope : rcmgr::scope<rcmgr::singleton, rcmgr::accounts<rcmgr::resource::memory>> {};
#else
// a resource where accounts<...> was meant
struct odd_scope : rcmgr::scope<rcmgr::singleton, rcmgr::resource> {};
#endif
struct my_topology : rcmgr::topology<kinds<odd_scope>> {};
RCMGR_CF_USE(my_topology)
