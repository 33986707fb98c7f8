// What observers see of the engine: the events it describes (a node's usage, limit and path),
// the notifications of opens and of keyed scopes' lifetimes, and the walk over the scopes a node
// is charged to (scope_path). A base of detail::core (CRTP): none of it is on a reservation's
// path unless an observer asks for it, and every part compiles to nothing without an observer.
#pragma once

#include <cstddef>
#include <cstdint>
#include <utility>

#include "rcmgr/detail/analysis.hpp"
#include "rcmgr/detail/kind_traits.hpp"
#include "rcmgr/detail/meta.hpp"
#include "rcmgr/detail/nodes.hpp"
#include "rcmgr/errors.hpp"
#include "rcmgr/limits.hpp"
#include "rcmgr/observer.hpp"
#include "rcmgr/resources.hpp"

namespace rcmgr {
namespace detail {

template <class Core, class Topology, class Policy, class... Ks>
class core_observation {
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
  template <class K>
  static constexpr bool notifies(scope_event::type t) noexcept {
    return Core::template notifies<K>(t);
  }

 public:
  // ---- observation: what observers may read about a node (compiled only when observing) ----

  /// Fills the event's object, usage and path from node n.
  template <class K>
  void describe(scope_event& ev, node_t<K>& n) const noexcept {
    if constexpr (is_per_object<K>) ev.object = &n;
    ev.usage = n.rc.stat();
    std::uint8_t st = 0;
    if constexpr (is_per_object<K> && !kind_traits<K>::is_span) st = n.state;
    ev.path = path_of<K>(n, st);
    if constexpr (kind_traits<K>::is_span) {
      if (root_usage<K>(n, ev.owner_usage)) ev.owner_kind = kind_traits<typename Core::template live_kind<K>::type>::name;
    }
  }
  /// The usage of the scope at the root of a span's owner chain; false when a scope on the chain has ended.
  template <class K>
  static bool root_usage(const node_t<K>& n, scope_stat& out) noexcept {
    if constexpr (kind_traits<K>::is_span) {
      return !n.done && n.owner != nullptr && root_usage<typename K::owner>(*n.owner, out);
    } else {
      if constexpr (is_per_object<K>) {
        if (n.done || Core::template owner_chain_ended<K>(n)) return false;
      }
      out = n.rc.stat();
      return true;
    }
  }
  /// Points the event at node n's limit, kept in `l` (a span's is its owner's, as in go-libp2p).
  template <class K>
  void describe_limit(scope_event& ev, const node_t<K>& n, limit& l) const noexcept {
    if constexpr (kind_traits<K>::is_span) {
      describe_limit<typename K::owner>(ev, *n.owner, l);
    } else {
      const auto& s = self().template limit_of<K>(n);
      l = limit{s.stream_limit(direction::inbound), s.stream_limit(direction::outbound), s.stream_total_limit(),
                s.conn_limit(direction::inbound),   s.conn_limit(direction::outbound),   s.conn_total_limit(),
                s.fd_limit(),                       s.memory_limit()};
      ev.lim = &l;
      ev.accounted = kind_traits<K>::accounted;
    }
  }
  /// A refusal's error, and for a limit's refusal the refusing scope's usage (see limit_error).
  void refused(scope_event& ev, const error& err) const noexcept {
    ev.err = &err;
    if constexpr (Core::observing) {
      if (err.code == errc::limit_exceeded) ev.refuser_usage = refusal_usage();
    }
  }
  /// Where limit_error leaves the refusing scope's usage for the event that follows on this thread.
  scope_stat& refusal_usage() const noexcept {
    if constexpr (Policy::concurrent) {
      static thread_local scope_stat last;
      return last;
    } else {
      return self().refusal_usage_;
    }
  }
  /// Tells the observer that keyed or view node n was created, or is about to be destroyed.
  /// Called under the kind's table lock, so that the events of one key come in order.
  template <class K>
  void notify_lifetime(scope_event::type t, node_t<K>& n) noexcept {
    if constexpr (notifies<K>(scope_event::type::created) || notifies<K>(scope_event::type::destroyed)) {
      if (!(t == scope_event::type::created ? notifies<K>(scope_event::type::created)
                                            : notifies<K>(scope_event::type::destroyed)))
        return;
      scope_event ev{t, self().template name_of<K>(n)};
      describe<K>(ev, n);
      limit l;
      if (t == scope_event::type::created) describe_limit<K>(ev, n, l);
      self().observer_.on_event(ev);
    } else {
      (void)t, (void)n;
    }
  }
  template <class K>
  scope_path path_of(const node_t<K>& n, std::uint8_t st) const noexcept {
    return scope_path{&self(), &n, st, &visit_path<K>};
  }
  template <class K>
  static void visit_path(const void* c, const void* node, std::uint8_t st, scope_path::callback cb, void* ctx) {
    auto& mgr = *const_cast<Core*>(static_cast<const Core*>(c));
    mgr.template visit_node<K>(*const_cast<node_t<K>*>(static_cast<const node_t<K>*>(node)), st, cb, ctx);
  }
  /// Calls cb for n and everything n is charged to in state st. Stops at an ended scope: its
  /// parents are no longer bound.
  template <class K>
  void visit_node(node_t<K>& n, std::uint8_t st, scope_path::callback cb, void* ctx) {
    const void* object = nullptr;
    if constexpr (is_per_object<K>) object = &n;
    cb(ctx, self().template name_of<K>(n), n.rc.stat(), object);
    if constexpr (kind_traits<K>::is_span) {
      using O = typename K::owner;
      if (n.done || n.owner == nullptr || n.owner->done) return;
      std::uint8_t ost = 0;
      if constexpr (is_per_object<O> && !kind_traits<O>::is_span) ost = n.owner->state;
      visit_node<O>(*n.owner, ost, cb, ctx);
    } else if constexpr (is_per_object<K>) {
      if (n.done) return;
      if constexpr (node_t<K>::owner_index >= 0) {
        if (Core::template owner_chain_ended<K>(n)) return;
        using O = typename node_t<K>::owner_kind;
        visit_node<O>(*n.owner, n.owner->state, cb, ctx);
      }
      Core::template dispatch_state<K>(st, [&](auto s) {
        visit_mask<K, graph::flat(index<K>, decltype(s)::value)>(n, cb, ctx);
        return 0;
      });
    } else {
      visit_mask<K, graph::static_closure(index<K>)>(n, cb, ctx);
    }
  }
  template <class K, mask_t M>
  void visit_mask(node_t<K>& n, scope_path::callback cb, void* ctx) {
    [[maybe_unused]] constexpr auto idx = graph::template ordered<M>();
    [&]<std::size_t... J>(std::index_sequence<J...>) {
      (visit_one<K, idx[J]>(n, cb, ctx), ...);
    }(std::make_index_sequence<idx.size()>{});
  }
  template <class K, int A>
  void visit_one(node_t<K>& n, scope_path::callback cb, void* ctx) {
    if constexpr (kind_traits<kind_at<A>>::shape != kind_shape::singleton) {
      if (n.parents[std::size_t(Core::template slot_of<index<K>, A>)] == nullptr) return;  // unbound since
    }
    auto& p = self().template instance<K, A>(n);
    cb(ctx, self().template name_of<kind_at<A>>(p), p.rc.stat(), nullptr);
  }

  template <class K>
  void notify_open(const error* err, node_t<K>* n, direction dir, bool use_fd) {
    if constexpr (notifies<K>(scope_event::type::opened) || notifies<K>(scope_event::type::open_refused)) {
      if (!(err == nullptr ? notifies<K>(scope_event::type::opened) : notifies<K>(scope_event::type::open_refused))) return;
      scope_event ev{err == nullptr ? scope_event::type::opened : scope_event::type::open_refused,
                     scope_name(kind_traits<K>::name)};
      ev.dir = dir;
      ev.fd = use_fd;
      limit l;
      if (n != nullptr) {
        describe<K>(ev, *n);
        describe_limit<K>(ev, *n, l);
      }
      if (err != nullptr) {
        refused(ev, *err);
        ev.object = nullptr;  // a refused scope never existed for the caller
      }
      self().observer_.on_event(ev);
    } else {
      (void)err, (void)n, (void)dir, (void)use_fd;
    }
  }
};

}  // namespace detail
}  // namespace rcmgr
