// expect: rcmgr::diagnostic::too_many_late_edges<conn_scope>
// expect: rcmgr topology: a kind has more than 6 late parents: split it
#include "kinds.hpp"
template <int I>
struct group_scope : rcmgr::scope<rcmgr::keyed_by<std::string>> {};
#ifdef RCMGR_CF_VALID
struct my_topology : rcmgr::topology<kinds<group_scope<0>, group_scope<1>, group_scope<2>, group_scope<3>, group_scope<4>, group_scope<5>, conn_scope>,
                                     edge<conn_scope, group_scope<0>, late>, edge<conn_scope, group_scope<1>, late>, edge<conn_scope, group_scope<2>, late>,
                                     edge<conn_scope, group_scope<3>, late>, edge<conn_scope, group_scope<4>, late>, edge<conn_scope, group_scope<5>, late>> {};
#else
struct my_topology : rcmgr::topology<kinds<group_scope<0>, group_scope<1>, group_scope<2>, group_scope<3>, group_scope<4>, group_scope<5>, group_scope<6>, conn_scope>,
                                     edge<conn_scope, group_scope<0>, late>, edge<conn_scope, group_scope<1>, late>, edge<conn_scope, group_scope<2>, late>,
                                     edge<conn_scope, group_scope<3>, late>, edge<conn_scope, group_scope<4>, late>, edge<conn_scope, group_scope<5>, late>,
                                     edge<conn_scope, group_scope<6>, late>> {};
#endif
RCMGR_CF_USE(my_topology)
