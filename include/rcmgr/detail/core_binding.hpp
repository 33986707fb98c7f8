// Binding a per-object scope to its parents: the keyed parents and the owner named at open, the
// view scopes that become complete as late parents are set, and releasing those references
// when the scope ends or an open or attach is undone. A base of detail::core (CRTP), called
// only by core's open, attach and end (protected), whose reservations then follow the slots
// bound here.
#pragma once

#include <cstddef>
#include <cstdint>
#include <type_traits>
#include <utility>

#include "rcmgr/detail/analysis.hpp"
#include "rcmgr/detail/key_check.hpp"
#include "rcmgr/detail/kind_traits.hpp"
#include "rcmgr/detail/meta.hpp"
#include "rcmgr/detail/nodes.hpp"
#include "rcmgr/errors.hpp"

namespace rcmgr {
namespace detail {

template <class Core, class Topology, class Policy, class... Ks>
class core_binding {
  // The manager's own names for its kinds, here for the code below (Core is incomplete while
  // this base is instantiated, so they are spelt from the parameters rather than read from it).
  using graph = typename Topology::graph_type;
  template <class K>
  static constexpr int index = index_of<K, Ks...>();
  template <int I>
  using kind_at = nth<std::size_t(I), Ks...>;
  template <class K>
  using node_t = node<Core, K>;

  Core& self() noexcept { return static_cast<Core&>(*this); }
  const Core& self() const noexcept { return static_cast<const Core&>(*this); }

 protected:
  template <class K, std::size_t... J, class... Args>
  bool bind_open_parents(node_t<K>& n, error& err, mask_t& created, std::index_sequence<J...>, Args&&... args) {
    [[maybe_unused]] constexpr auto parents = Core::template open_parent_indices<K>();
    bool ok = true;
    ((ok = ok && bind_one<K, parents[J]>(n, err, created, std::forward<Args>(args))), ...);
    return ok;
  }
  template <class K, int P, class Arg>
  bool bind_one(node_t<K>& n, error& err, mask_t& created, Arg&& arg) {
    using PK = kind_at<P>;
    if constexpr (kind_traits<PK>::shape == kind_shape::keyed) {
      if (const key_problem kp = key_problem_of<PK>(arg)) {
        err = key_error(kind_traits<PK>::name, kp);
        return false;
      }
      errc why{};
      bool fresh = false;
      auto* pn = self().template acquire<PK>(arg, why, &fresh);
      if (pn == nullptr) {
        err = Core::template storage_error<PK>(why);
        return false;
      }
      n.parents[Core::template slot_of<index<K>, P>] = pn;
      if (fresh) created |= bit(P);
      return true;
    } else {
      auto* o = arg.rcmgr_node();  // a handle of the owner kind
      static_assert(std::is_same_v<std::remove_pointer_t<decltype(o)>, node_t<PK>>,
                    "open<K>: the owner argument must be a handle of the owner kind");
      if (o == nullptr || o->done) {
        err = error{};
        err.code = errc::scope_closed;
        err.scope = scope_name(kind_traits<PK>::name);
        err.detail = "cannot open a scope on an ended owner";
        return false;
      }
      self().template add_ref<PK>(o);
      n.owner = o;
      return true;
    }
  }
  /// Acquires the views that become complete going from state S to S2; false if a view table
  /// is full (the views acquired so far stay in their slots for the caller to unbind).
  template <class K, unsigned S, unsigned S2>
  bool bind_views(node_t<K>& n, error& err) {
    constexpr int i = index<K>;
    constexpr mask_t fresh = (graph::direct(i, S2) & ~(S == S2 ? 0 : graph::direct(i, S))) & Core::view_mask();
    return [&]<std::size_t... J>(std::index_sequence<J...>) {
      [[maybe_unused]] constexpr auto idx = graph::template ordered<fresh>();
      return (bind_view<K, idx[J]>(n, err) && ...);
    }(std::make_index_sequence<std::size_t(popcount(fresh))>{});
  }
  template <class K, int V>
  bool bind_view(node_t<K>& n, error& err) {
    using VK = kind_at<V>;
    using A = typename node_t<VK>::first_kind;
    using B = typename node_t<VK>::second_kind;
    constexpr int i = index<K>;
    auto* a = static_cast<node_t<A>*>(n.parents[Core::template slot_of<i, index<A>>]);
    auto* b = static_cast<node_t<B>*>(n.parents[Core::template slot_of<i, index<B>>]);
    errc why{};
    auto* v = self().template acquire_view<VK>(a, b, why);
    n.parents[Core::template slot_of<i, V>] = v;
    if (v == nullptr) err = Core::template storage_error<VK>(why);
    return v != nullptr;
  }
  /// Releases the references of the parents in mask M (views first: they refer to the others).
  template <class K>
  void unbind_mask(node_t<K>& n, mask_t m) noexcept {
    constexpr int i = index<K>;
    auto drop = [&]<class PK>(std::type_identity<PK>) {
      constexpr int p = index<PK>;
      if constexpr (kind_traits<PK>::shape != kind_shape::singleton && kind_traits<PK>::shape != kind_shape::per_object) {
        if constexpr (graph::slot(i, p) >= 0) {
          if (m & bit(p)) {
            void*& slot = n.parents[std::size_t(Core::template slot_of<i, p>)];
            if (slot != nullptr) {
              self().template release_ref<PK>(static_cast<node_t<PK>*>(slot));
              slot = nullptr;
            }
          }
        }
      }
    };
    (void)drop;
    if constexpr (is_per_object<K> && !kind_traits<K>::is_span) {
      ((kind_traits<Ks>::shape == kind_shape::view ? drop(std::type_identity<Ks>{}) : void()), ...);
      ((kind_traits<Ks>::shape != kind_shape::view ? drop(std::type_identity<Ks>{}) : void()), ...);
    }
  }
  /// Releases every parent reference a node holds in state s, and its owner.
  template <class K>
  void unbind(node_t<K>& n, std::uint8_t s) noexcept {
    unbind_mask<K>(n, ~mask_t{0});
    (void)s;
    if constexpr (node_t<K>::owner_index >= 0) {
      if (n.owner != nullptr) {
        self().template release_owner<typename node_t<K>::owner_kind>(n.owner);
        n.owner = nullptr;
      }
    }
  }
};

}  // namespace detail
}  // namespace rcmgr
