// Topology validation. `graph::first_problem()` finds the first problem on integers; here it is
// turned back into a type whose *name* carries the offending kinds, so the compiler prints, e.g.,
//   In instantiation of 'struct rcmgr::diagnostic::cycle_through<my_stream_scope>':
//   error: static assertion failed: rcmgr topology: the edges form a cycle through this kind ...
// once, at the point where the topology is declared. The topology is then marked invalid so that
// code built on it is not instantiated and does not bury the message in follow-on errors.
#pragma once

#include "rcmgr/detail/analysis.hpp"

namespace rcmgr::diagnostic {
using detail::always_false;
// clang-format off
template <class K> struct too_many_kinds { static_assert(always_false<K>, "rcmgr topology: more than 64 scope kinds; split the topology"); };
template <class K> struct not_a_scope_kind { static_assert(always_false<K>, "rcmgr topology: every type in kinds<...> must be a scope kind: derive it from rcmgr::scope<...>"); };
template <class K> struct kind_listed_twice { static_assert(always_false<K>, "rcmgr topology: a kind is listed twice in kinds<...>: remove the repetition"); };
template <class E> struct not_an_edge { static_assert(always_false<E>, "rcmgr topology: after kinds<...>, every argument must be rcmgr::edge<Child, Parent[, Binding]>"); };
template <class E> struct edge_names_a_kind_not_in_kinds { static_assert(always_false<E>, "rcmgr topology: an edge names a kind that is not listed in kinds<...>: add it there"); };
template <class E> struct unknown_edge_binding { static_assert(always_false<E>, "rcmgr topology: the binding of an edge must be at_open, late, after<Q>, until<Q> or instead_of<Q>"); };
template <class E> struct binding_names_a_kind_not_in_kinds { static_assert(always_false<E>, "rcmgr topology: the Q of after<Q> or until<Q> is not listed in kinds<...>: add it there"); };
template <class K> struct edge_to_itself { static_assert(always_false<K>, "rcmgr topology: an edge from a kind to itself: remove it"); };
template <class C, class P> struct edge_declared_twice { static_assert(always_false<C>, "rcmgr topology: the same edge is declared twice: remove one"); };
template <class K> struct cycle_through { static_assert(always_false<K>, "rcmgr topology: the edges form a cycle through this kind (a scope would be charged to itself): remove one of the edges on the cycle"); };
template <class C, class P, resource R> struct parent_does_not_account_a_resource_of_child { static_assert(always_false<C>, "rcmgr topology: the child accounts a resource that its parent does not (the resource is the third template argument above): add the resource to the parent's accounts<...> or remove it from the child's"); };
template <class C, class P> struct shared_kind_charged_to_non_singleton { static_assert(always_false<C>, "rcmgr topology: a singleton, keyed or view kind can only be charged to singleton kinds (it cannot know which instance of a keyed or per-object parent it belongs to): make the parent a singleton or remove the edge"); };
template <class C, class P> struct shared_kind_with_late_edge { static_assert(always_false<C>, "rcmgr topology: only per-object kinds can bind edges late; a singleton, keyed or view kind is bound at open: drop the late/after/until binding"); };
template <class C, class P> struct owner_edge_not_at_open { static_assert(always_false<C>, "rcmgr topology: an edge to a per-object parent (the child's owner) must be bound at open: drop the late/after/until binding"); };
template <class C, class P> struct second_owner { static_assert(always_false<C>, "rcmgr topology: a per-object kind can have at most one per-object parent (its owner): remove the second one"); };
template <class P, class C> struct late_bound_kind_used_as_parent { static_assert(always_false<P>, "rcmgr topology: a kind with late, after<> or until<> edges cannot be a parent (its charges move when it is attached, and its children could not follow): charge the child to those parents directly"); };
template <class C, class Q> struct condition_is_not_a_late_parent { static_assert(always_false<C>, "rcmgr topology: the Q of after<Q> or until<Q> must be a late parent of the same child: add edge<Child, Q, late>"); };
template <class C, class V> struct view_edge_with_binding { static_assert(always_false<C>, "rcmgr topology: an edge to a view_of<A, B> kind takes no binding (it is bound as soon as the child has both an A and a B): drop the third argument"); };
template <class V, class A> struct view_component_not_keyed { static_assert(always_false<V>, "rcmgr topology: view_of<A, B>: both A and B must be keyed kinds listed in kinds<...>"); };
template <class C, class V> struct view_component_not_a_parent { static_assert(always_false<C>, "rcmgr topology: a child charged to a view_of<A, B> kind must itself have edges to A and to B (at open or late): add them"); };
template <class C, class P> struct parent_also_reached_through_owner { static_assert(always_false<C>, "rcmgr topology: the child is charged to this parent both directly and through its owner, and the two instances could differ: remove the direct edge"); };
template <class C> struct too_many_late_edges { static_assert(always_false<C>, "rcmgr topology: a kind has more than 6 late parents: split it"); };
template <class C, class P> struct alternative_scope_not_a_singleton { static_assert(always_false<C>, "rcmgr topology: edge<Child, Alt, instead_of<Primary>> needs a per-object Child and singleton Alt and Primary: make them singletons or remove the edge"); };
template <class C, class P, resource R> struct static_limit_above_parent { static_assert(always_false<C>, "rcmgr topology: the child's static_limit is above its parent's for a resource the child accounts (the resource is the third template argument above): lower the child's limit or raise the parent's"); };
template <class K> struct static_limit_sets_unaccounted_resource { static_assert(always_false<K>, "rcmgr topology: the kind's static_limit sets a resource the kind does not account: leave that field unlimited (or 0), or add the resource to the kind's accounts<...>"); };
// clang-format on
}  // namespace rcmgr::diagnostic

namespace rcmgr::detail {

template <int I, class... Ks>
struct kind_at_or_void { using type = void; };
template <int I, class... Ks>
  requires(I >= 0 && I < int(sizeof...(Ks)))
struct kind_at_or_void<I, Ks...> { using type = nth<std::size_t(I), Ks...>; };

struct no_problem {};

template <problem_code C, class A, class B, class E, resource R>
struct report_for { using type = no_problem; };
#define RCMGR_DETAIL_REPORT(code, ...) \
  template <class A, class B, class E, resource R> \
  struct report_for<problem_code::code, A, B, E, R> { using type = diagnostic::__VA_ARGS__; }
RCMGR_DETAIL_REPORT(too_many_kinds, too_many_kinds<A>);
RCMGR_DETAIL_REPORT(not_a_kind, not_a_scope_kind<A>);
RCMGR_DETAIL_REPORT(duplicate_kind, kind_listed_twice<A>);
RCMGR_DETAIL_REPORT(not_an_edge, not_an_edge<E>);
RCMGR_DETAIL_REPORT(edge_kind_not_listed, edge_names_a_kind_not_in_kinds<E>);
RCMGR_DETAIL_REPORT(unknown_binding, unknown_edge_binding<E>);
RCMGR_DETAIL_REPORT(binding_kind_not_listed, binding_names_a_kind_not_in_kinds<E>);
RCMGR_DETAIL_REPORT(self_edge, edge_to_itself<A>);
RCMGR_DETAIL_REPORT(duplicate_edge, edge_declared_twice<A, B>);
RCMGR_DETAIL_REPORT(cycle, cycle_through<A>);
RCMGR_DETAIL_REPORT(parent_lacks_resource, parent_does_not_account_a_resource_of_child<A, B, R>);
RCMGR_DETAIL_REPORT(shared_kind_parent, shared_kind_charged_to_non_singleton<A, B>);
RCMGR_DETAIL_REPORT(shared_kind_late_edge, shared_kind_with_late_edge<A, B>);
RCMGR_DETAIL_REPORT(owner_not_at_open, owner_edge_not_at_open<A, B>);
RCMGR_DETAIL_REPORT(two_owners, second_owner<A, B>);
RCMGR_DETAIL_REPORT(late_kind_is_parent, late_bound_kind_used_as_parent<A, B>);
RCMGR_DETAIL_REPORT(condition_not_late, condition_is_not_a_late_parent<A, B>);
RCMGR_DETAIL_REPORT(view_edge_binding, view_edge_with_binding<A, B>);
RCMGR_DETAIL_REPORT(view_component_missing, view_component_not_a_parent<A, B>);
RCMGR_DETAIL_REPORT(view_of_non_keyed, view_component_not_keyed<A, B>);
RCMGR_DETAIL_REPORT(keyed_through_owner, parent_also_reached_through_owner<A, B>);
RCMGR_DETAIL_REPORT(too_many_late, too_many_late_edges<A>);
RCMGR_DETAIL_REPORT(alternative_not_singleton, alternative_scope_not_a_singleton<A, B>);
RCMGR_DETAIL_REPORT(limit_above_parent, static_limit_above_parent<A, B, R>);
RCMGR_DETAIL_REPORT(limit_unaccounted, static_limit_sets_unaccounted_resource<A>);
#undef RCMGR_DETAIL_REPORT

template <class KL, class EL>
struct validated_topology;

template <class KL, class EL>
struct topology_report;
template <class... Ks, class... Es>
struct topology_report<type_list<Ks...>, type_list<Es...>> {
  using graph_type = graph<type_list<Ks...>, type_list<Es...>>;
  static constexpr problem first_problem = graph_type::first_problem();
  using type = typename report_for<first_problem.code, typename kind_at_or_void<first_problem.a, Ks...>::type,
                                   typename kind_at_or_void<first_problem.b, Ks...>::type,
                                   typename kind_at_or_void<first_problem.e, Es...>::type,
                                   static_cast<resource>(first_problem.r)>::type;
};

// Deriving from the report instantiates it: a problem is diagnosed as soon as the user's
// topology type is complete, whether or not a manager is ever built on it.
template <class... Ks, class... Es>
struct validated_topology<type_list<Ks...>, type_list<Es...>> : topology_report<type_list<Ks...>, type_list<Es...>>::type {
  using rcmgr_topology_tag = void;
  using kind_list = type_list<Ks...>;
  using graph_type = graph<type_list<Ks...>, type_list<Es...>>;
  static constexpr problem first_problem = graph_type::first_problem();
  /// False when the declaration has a problem (reported once, here).
  static constexpr bool valid = first_problem.code == problem_code::none;
  template <int I>
  using kind_at = typename kind_at_or_void<I, Ks...>::type;
};

}  // namespace rcmgr::detail
