// expect: rcmgr::diagnostic::static_limit_sets_unaccounted_resource<memory_scope>
// expect: rcmgr topology: the kind's static_limit sets a resource the kind does not account
#include "kinds.hpp"
constexpr rcmgr::limit memory_and_conns(std::int64_t conns) {
  rcmgr::limit l;
  l.memory = 1 << 20;
  l.conns = conns;
  return l;
}
struct big_system_scope : rcmgr::scope<rcmgr::singleton> {};
#ifdef RCMGR_CF_VALID
// 0 is go-libp2p's "blockAll", which it writes for every field a scope does not use: accepted.
struct memory_scope : rcmgr::scope<rcmgr::accounts<rcmgr::resource::memory>,
                                   rcmgr::limited_by<rcmgr::static_limit<memory_and_conns(0)>>> {};
#else
struct memory_scope : rcmgr::scope<rcmgr::accounts<rcmgr::resource::memory>,
                                   rcmgr::limited_by<rcmgr::static_limit<memory_and_conns(5)>>> {};
#endif
struct my_topology : rcmgr::topology<kinds<big_system_scope, memory_scope>, edge<memory_scope, big_system_scope>> {};
RCMGR_CF_USE(my_topology)
