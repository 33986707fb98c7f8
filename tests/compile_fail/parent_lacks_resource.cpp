// expect: rcmgr::diagnostic::parent_does_not_account_a_resource_of_child<conn_scope, memory_only_scope, rcmgr::resource::streams>
// expect: rcmgr topology: the child accounts a resource that its parent does not
#include "kinds.hpp"
#ifdef RCMGR_CF_VALID
struct mem_conn_scope : rcmgr::scope<rcmgr::accounts<rcmgr::resource::memory>> {};
struct my_topology : rcmgr::topology<kinds<memory_only_scope, mem_conn_scope>, edge<mem_conn_scope, memory_only_scope>> {};
#else
struct my_topology : rcmgr::topology<kinds<memory_only_scope, conn_scope>, edge<conn_scope, memory_only_scope>> {};
#endif
RCMGR_CF_USE(my_topology)
