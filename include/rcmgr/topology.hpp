// Declaring a scope topology: scope kinds, the resources each accounts, how keyed kinds are
// keyed, their limit types, and the edges "child is charged to parent". Everything here is a
// type; `topology<...>` resolves the graph at compile time and rejects a malformed one with a
// message that says what to change.
//
//   struct system_scope  : rcmgr::scope<rcmgr::singleton, rcmgr::accounts_all> {};
//   struct conn_scope    : rcmgr::scope<rcmgr::accounts<rcmgr::resource::memory, rcmgr::resource::conns>> {};
//   struct my_topology   : rcmgr::topology<rcmgr::kinds<system_scope, conn_scope>,
//                                          rcmgr::edge<conn_scope, system_scope>> {};
#pragma once

#include <type_traits>

#include "rcmgr/detail/analysis.hpp"
#include "rcmgr/detail/diagnostics.hpp"
#include "rcmgr/detail/kind_traits.hpp"
#include "rcmgr/keys.hpp"
#include "rcmgr/limits.hpp"
#include "rcmgr/resources.hpp"

namespace rcmgr {

/// The kinds of a topology, in any order.
template <class... Kinds>
struct kinds {};

/// `edge<Child, Parent, Binding>`: every reservation in a Child scope is also charged to its
/// Parent scope (and to everything Parent is charged to). Binding says when the edge exists:
///   at_open   (default) from the moment the child opens; for a keyed Parent the key is an
///             argument of open(); for a per-object Parent (an "owner") its handle is;
///   late      once `set<Parent>(key)` is called on the child (libp2p's set_peer, set_protocol);
///   after<Q>  like late, but set<Parent> is refused until Q is set (set_service needs a protocol);
///   until<Q>  from open until Q is set (a connection is transient until its peer is known).
/// An edge to a view kind (`view_of<A, B>`) takes no binding: it exists as soon as the child has
/// both an A and a B parent.
template <class Child, class Parent, class Binding = at_open>
struct edge {};

/// A scope topology. Derive from it (`struct my_topology : rcmgr::topology<...> {};`) so that
/// diagnostics print your name rather than the whole declaration.
template <class Kinds, class... Edges>
struct topology {
  static_assert(detail::always_false<Kinds>,
                "rcmgr::topology: the first argument must be rcmgr::kinds<...> listing every scope kind");
};

template <class... Ks, class... Edges>
struct topology<kinds<Ks...>, Edges...> : detail::validated_topology<detail::type_list<Ks...>, detail::type_list<Edges...>> {};

/// True for types derived from rcmgr::topology<...>.
template <class T>
concept scope_topology = requires { typename T::rcmgr_topology_tag; };

}  // namespace rcmgr
