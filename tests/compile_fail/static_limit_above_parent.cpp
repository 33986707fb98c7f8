// expect: rcmgr::diagnostic::static_limit_above_parent<small_conn_scope, small_system_scope, rcmgr::resource::memory>
// expect: rcmgr topology: the child's static_limit is above its parent's for a resource the child accounts
#include "kinds.hpp"
constexpr rcmgr::limit with_memory(std::int64_t bytes) {
  rcmgr::limit l;
  l.memory = bytes;
  return l;
}
struct small_system_scope : rcmgr::scope<rcmgr::singleton, rcmgr::limited_by<rcmgr::static_limit<with_memory(1 << 20)>>> {};
#ifdef RCMGR_CF_VALID
struct small_conn_scope : rcmgr::scope<rcmgr::limited_by<rcmgr::static_limit<with_memory(1 << 20)>>> {};
#else
struct small_conn_scope : rcmgr::scope<rcmgr::limited_by<rcmgr::static_limit<with_memory((1 << 20) + 1)>>> {};
#endif
struct my_topology : rcmgr::topology<kinds<small_system_scope, small_conn_scope>, edge<small_conn_scope, small_system_scope>> {};
RCMGR_CF_USE(my_topology)
