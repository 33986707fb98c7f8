// Compile-time analysis of a topology. The types are mapped to indices once; the closure, the
// charge order and the validation are then computed by constexpr functions on arrays and 64-bit
// masks, which keeps compile time flat as topologies grow (type-level algorithms do not).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <type_traits>
#include <utility>

#include "rcmgr/detail/kind_traits.hpp"
#include "rcmgr/detail/meta.hpp"

namespace rcmgr::detail {
/// A std::array indexed by any integer type. The analysis works on kind and edge indices as
/// int (-1 means "none"); this keeps every subscript free of sign-conversion casts (users build
/// with -Wsign-conversion, and the headers must stay quiet under it).
template <class T, std::size_t N>
struct int_indexed : std::array<T, N> {
  template <class I>
    requires std::is_integral_v<I>
  constexpr T& operator[](I i) noexcept {
    return std::array<T, N>::operator[](static_cast<std::size_t>(i));
  }
  template <class I>
    requires std::is_integral_v<I>
  constexpr const T& operator[](I i) const noexcept {
    return std::array<T, N>::operator[](static_cast<std::size_t>(i));
  }
};
}  // namespace rcmgr::detail

namespace rcmgr {
template <class Child, class Parent, class Binding>
struct edge;
}

namespace rcmgr::detail {

using mask_t = std::uint64_t;
inline constexpr int max_kinds = 64;
inline constexpr int max_late = 6;  ///< late parents per kind: 2^6 states at most

constexpr mask_t bit(int i) noexcept { return mask_t{1} << i; }
constexpr int popcount(mask_t m) noexcept {
  int n = 0;
  for (; m; m &= m - 1) ++n;
  return n;
}

enum class bind_kind : std::uint8_t { at_open, late, after, until, view, instead, invalid };

struct kind_desc {
  bool is_kind = false;
  kind_shape shape = kind_shape::per_object;
  resource_set acc{};
  int view_a = -1, view_b = -1;  ///< components of a view kind
  bool constant_limit = false;
  limit climit{};  ///< values of a constant limit
};

struct edge_desc {
  int child = -1, parent = -1;
  bind_kind b = bind_kind::at_open;
  int q = -1;  ///< the Q of after<Q> / until<Q>
  bool q_given = false;
};

template <class K, class... Ks>
constexpr kind_desc describe_kind() {
  kind_desc d;
  if constexpr (scope_kind<K>) {
    using T = kind_traits<K>;
    d.is_kind = true;
    d.shape = T::shape;
    d.acc = T::accounted;
    if constexpr (T::shape == kind_shape::view) {
      d.view_a = index_of<typename T::shape_option::first, Ks...>();
      d.view_b = index_of<typename T::shape_option::second, Ks...>();
    }
    if constexpr (T::constant_limit) {
      d.constant_limit = true;
      d.climit = T::limit_type::value;
    }
  }
  return d;
}

template <class B, class... Ks>
struct binding_desc {
  static constexpr bind_kind b = bind_kind::invalid;
  static constexpr int q = -1;
};
template <class... Ks> struct binding_desc<at_open, Ks...> { static constexpr bind_kind b = bind_kind::at_open; static constexpr int q = -1; };
template <class... Ks> struct binding_desc<late, Ks...> { static constexpr bind_kind b = bind_kind::late; static constexpr int q = -1; };
template <class Q, class... Ks> struct binding_desc<after<Q>, Ks...> { static constexpr bind_kind b = bind_kind::after; static constexpr int q = index_of<Q, Ks...>(); };
template <class Q, class... Ks> struct binding_desc<until<Q>, Ks...> { static constexpr bind_kind b = bind_kind::until; static constexpr int q = index_of<Q, Ks...>(); };
template <class Q, class... Ks> struct binding_desc<instead_of<Q>, Ks...> { static constexpr bind_kind b = bind_kind::instead; static constexpr int q = index_of<Q, Ks...>(); };

template <class E, class... Ks>
struct edge_parts {  // not an edge<...>
  static constexpr bool is_edge = false;
  static constexpr edge_desc desc{-1, -1, bind_kind::invalid, -1, false};
};
template <class C, class P, class B, class... Ks>
struct edge_parts<edge<C, P, B>, Ks...> {
  using child = C;
  using parent = P;
  static constexpr bool is_edge = true;
  static constexpr edge_desc desc{index_of<C, Ks...>(), index_of<P, Ks...>(), binding_desc<B, Ks...>::b,
                                  binding_desc<B, Ks...>::q, binding_desc<B, Ks...>::b == bind_kind::after ||
                                                                 binding_desc<B, Ks...>::b == bind_kind::until ||
                                                                 binding_desc<B, Ks...>::b == bind_kind::instead};
};

enum class problem_code : std::uint8_t {
  none,
  too_many_kinds,
  not_a_kind,               // a: kind
  duplicate_kind,           // a: kind
  not_an_edge,              // e: edge
  edge_kind_not_listed,     // e: edge
  unknown_binding,          // e: edge
  binding_kind_not_listed,  // e: edge
  self_edge,                // a
  duplicate_edge,           // a, b
  cycle,                    // a: a kind on the cycle
  parent_lacks_resource,    // a child, b parent
  shared_kind_parent,       // a child (singleton/keyed/view), b non-singleton parent
  shared_kind_late_edge,    // a child, b parent
  owner_not_at_open,        // a child, b per-object parent
  two_owners,               // a child, b second per-object parent
  late_kind_is_parent,      // a: kind with late edges, b: its child
  condition_not_late,       // a child, b the Q that is not a late parent of a
  view_edge_binding,        // a child, b view
  view_component_missing,   // a child, b view
  view_of_non_keyed,        // a view, b component
  keyed_through_owner,      // a child, b keyed parent also reached through the owner
  too_many_late,            // a child
  limit_above_parent,       // a child, b parent
  alternative_not_singleton,  // a child, b the alternative or primary kind of an instead_of<> edge
  limit_unaccounted,        // a: a kind whose static_limit sets a resource it does not account
};

struct problem {
  problem_code code = problem_code::none;
  int a = -1, b = -1, e = -1;
  int r = 0;  ///< the resource involved, as a `resource` value (for problems about a resource)
};

/// Everything known about a topology, as integers.
template <class KL, class EL>
struct graph;

/// The charge order of graph G, computed once per topology. A variable template is evaluated
/// once, whereas a constexpr function is evaluated again at every call site by some compilers
/// (clang), and ordered<M>() is used for every mask the engine unrolls.
template <class G>
inline constexpr auto order_table = G::compute_order();

template <class... Ks, class... Es>
struct graph<type_list<Ks...>, type_list<Es...>> {
  static constexpr int n = sizeof...(Ks);
  static constexpr int m = sizeof...(Es);
  static constexpr int_indexed<kind_desc, std::size_t(n)> kinds{describe_kind<Ks, Ks...>()...};
  static constexpr int_indexed<edge_desc, std::size_t(m)> edges{edge_parts<Es, Ks...>::desc...};

  static constexpr bool is_owner_edge(const edge_desc& e) {
    return kinds[e.parent].shape == kind_shape::per_object;
  }

  /// Parents reached through at-open edges, for shared kinds (their only kind of edge).
  static constexpr mask_t static_parents(int i) {
    mask_t r = 0;
    for (const auto& e : edges)
      if (e.child == i && e.b == bind_kind::at_open) r |= bit(e.parent);
    return r;
  }
  /// Transitive closure over every edge regardless of binding (for cycle detection).
  static constexpr mask_t any_closure(int i) {
    mask_t r = 0, frontier = bit(i);
    for (int round = 0; round <= n && frontier; ++round) {
      mask_t next = 0;
      for (const auto& e : edges)
        if (e.child >= 0 && e.parent >= 0 && (frontier & bit(e.child)) && !(r & bit(e.parent))) next |= bit(e.parent);
      r |= next;
      frontier = next;
    }
    return r;
  }
  /// Ancestors of a shared kind (singleton, keyed, view): all singletons once validated.
  static constexpr mask_t static_closure(int i) {
    mask_t r = 0, frontier = static_parents(i);
    while (frontier) {
      r |= frontier;
      mask_t next = 0;
      for (int j = 0; j < n; ++j)
        if (frontier & bit(j)) next |= static_parents(j);
      frontier = next & ~r;
    }
    return r;
  }

  // ---- per-object kinds: late binding ----
  struct late_list {
    int count = 0;
    int_indexed<int, std::size_t(max_late) + 1> parent{};
  };
  static constexpr late_list late_parents(int i) {
    late_list l;
    for (const auto& e : edges)
      if (e.child == i && (e.b == bind_kind::late || e.b == bind_kind::after)) {
        if (l.count <= max_late) l.parent[l.count] = e.parent;
        ++l.count;
      }
    return l;
  }
  static constexpr int late_bit(int i, int p) {
    auto l = late_parents(i);
    for (int b = 0; b < l.count && b <= max_late; ++b)
      if (l.parent[b] == p) return b;
    return -1;
  }
  static constexpr bool has_late(int i) {
    for (const auto& e : edges)
      if (e.child == i && (e.b == bind_kind::late || e.b == bind_kind::after || e.b == bind_kind::until)) return true;
    return false;
  }
  /// The state bit of the alternative scopes (instead_of<> edges), after the late bits; -1 when
  /// the kind has none.
  static constexpr int alt_bit(int i) {
    for (const auto& e : edges)
      if (e.child == i && e.b == bind_kind::instead) return late_parents(i).count;
    return -1;
  }
  static constexpr int state_count(int i) { return 1 << (late_parents(i).count + (alt_bit(i) >= 0 ? 1 : 0)); }
  static constexpr int owner(int i) {
    for (const auto& e : edges)
      if (e.child == i && kinds[e.parent].shape == kind_shape::per_object) return e.parent;
    return -1;
  }
  /// Non-view parents bound in state s (at open, late ones set in s, until ones not yet ended).
  static constexpr mask_t bound_plain(int i, unsigned s) {
    mask_t r = 0;
    for (const auto& e : edges) {
      if (e.child != i || kinds[e.parent].shape == kind_shape::view || is_owner_edge(e)) continue;
      switch (e.b) {
        case bind_kind::at_open: r |= bit(e.parent); break;
        case bind_kind::late:
        case bind_kind::after:
          if (s & (1u << late_bit(i, e.parent))) r |= bit(e.parent);
          break;
        case bind_kind::until:
          if (!(s & (1u << late_bit(i, e.q)))) r |= bit(e.parent);
          break;
        default: break;
      }
    }
    return r;
  }
  /// Direct parents in state s, views included (a view is bound once both components are).
  static constexpr mask_t direct(int i, unsigned s) {
    mask_t plain = bound_plain(i, s), r = plain;
    for (const auto& e : edges)
      if (e.child == i && kinds[e.parent].shape == kind_shape::view) {
        const auto& v = kinds[e.parent];
        if ((plain & bit(v.view_a)) && (plain & bit(v.view_b))) r |= bit(e.parent);
      }
    return r;
  }
  /// Direct parents as a handle reports them (parent<P>()): in the alternative state each
  /// instead_of<Primary> is swapped for its Alt, the scope the object is charged to instead.
  static constexpr mask_t direct_reported(int i, unsigned s) {
    mask_t r = direct(i, s);
    if (const int a = alt_bit(i); a >= 0 && (s & (1u << a)))
      for (const auto& e : edges)
        if (e.child == i && e.b == bind_kind::instead && (r & bit(e.q))) r = (r & ~bit(e.q)) | bit(e.parent);
    return r;
  }
  /// What the owner's reservations already cover (the owner and all it charges).
  static constexpr mask_t owner_cover(int i) {
    mask_t r = 0;
    for (int o = owner(i), guard = 0; o >= 0 && guard <= n; o = owner(o), ++guard) {
      r |= bit(o);
      mask_t d = direct(o, 0);
      r |= d;
      for (int j = 0; j < n; ++j)
        if (d & bit(j)) r |= static_closure(j);
    }
    return r;
  }
  /// The scopes a reservation on kind i in state s charges directly (besides i itself and
  /// whatever its owner charges): direct parents and their ancestors, deduplicated.
  static constexpr mask_t flat(int i, unsigned s) {
    if (kinds[i].shape != kind_shape::per_object) return static_closure(i);
    if (const int a = alt_bit(i); a >= 0 && (s & (1u << a))) {
      // The alternative scopes: the regular set with each instead_of<Primary> swapped for its Alt.
      mask_t r = flat(i, s & ~(1u << a));
      for (const auto& e : edges)
        if (e.child == i && e.b == bind_kind::instead && (r & bit(e.q))) r = (r & ~bit(e.q)) | bit(e.parent);
      return r;
    }
    mask_t d = direct(i, s), r = d;
    for (int j = 0; j < n; ++j)
      if (d & bit(j)) r |= static_closure(j);
    return r & ~owner_cover(i);
  }
  /// True when state s satisfies every after<Q> prerequisite.
  static constexpr bool valid_state(int i, unsigned s) {
    for (const auto& e : edges)
      if (e.child == i && e.b == bind_kind::after) {
        if ((s & (1u << late_bit(i, e.parent))) && !(s & (1u << late_bit(i, e.q)))) return false;
      }
    return true;
  }
  /// Slot of a non-singleton, non-owner parent in a per-object node's parent pointer array.
  static constexpr int slot(int i, int p) {
    // all_direct walks every state of i; computed once here rather than once per j (this
    // function is evaluated at many call sites, and compile time showed it).
    const mask_t ad = all_direct(i);
    int k = 0;
    for (int j = 0; j < n; ++j) {
      if (!(ad & bit(j))) continue;
      if (j == p) return k;
      ++k;
    }
    return -1;
  }
  static constexpr mask_t all_direct(int i) {
    mask_t r = 0;
    for (unsigned s = 0; s < unsigned(state_count(i)); ++s) r |= direct(i, s);
    mask_t out = 0;
    for (int j = 0; j < n; ++j)
      if ((r & bit(j)) && kinds[j].shape != kind_shape::singleton) out |= bit(j);
    return out;
  }
  static constexpr int slot_count(int i) { return popcount(all_direct(i)); }

  // ---- order ----
  /// Height: 0 for kinds with no parents, else 1 + the highest parent. A view counts its two
  /// components as parents: it has no edges of its own, but it is narrower than either (a
  /// protocol-peer scope is one peer's share of a protocol), so it must be checked before them.
  static constexpr int_indexed<int, std::size_t(n)> heights() {
    int_indexed<int, std::size_t(n)> h{};
    for (int round = 0; round < n; ++round) {
      for (const auto& e : edges)
        if (e.child >= 0 && e.parent >= 0 && e.child != e.parent && h[e.child] < h[e.parent] + 1) h[e.child] = h[e.parent] + 1;
      for (int v = 0; v < n; ++v)
        for (int c : {kinds[v].view_a, kinds[v].view_b})
          if (kinds[v].shape == kind_shape::view && c >= 0 && c != v && h[v] < h[c] + 1) h[v] = h[c] + 1;
    }
    return h;
  }
  /// The charge order: children before parents (the narrowest scope refuses first and the
  /// shared roots are touched last), ties broken by declaration order. It is a topological order
  /// of the DAG, and so also a deadlock-free lock order should one ever be needed.
  static constexpr int_indexed<int, std::size_t(n)> order() { return order_table<graph>; }
  static constexpr int_indexed<int, std::size_t(n)> compute_order() {
    auto h = heights();
    int_indexed<int, std::size_t(n)> o{};
    int k = 0;
    int maxh = 0;
    for (int i = 0; i < n; ++i) maxh = h[i] > maxh ? h[i] : maxh;
    for (int lvl = maxh; lvl >= 0; --lvl)
      for (int i = 0; i < n; ++i)
        if (h[i] == lvl) o[k++] = i;
    return o;
  }
  /// Kind indices of mask m in charge order.
  template <mask_t M>
  static constexpr auto ordered() {
    int_indexed<int, std::size_t(popcount(M))> r{};
    int k = 0;
    for (int i : order())
      if (M & bit(i)) r[k++] = i;
    return r;
  }

  // ---- validation: the first problem, in the order a user should fix them ----
  static constexpr bool exceeds(const limit& c, const limit& p, resource_set acc) {
    bool r = false;
    if (acc.contains(resource::memory)) r |= c.memory > p.memory;
    if (acc.contains(resource::streams))
      r |= c.streams_inbound > p.streams_inbound || c.streams_outbound > p.streams_outbound || c.streams > p.streams;
    if (acc.contains(resource::conns))
      r |= c.conns_inbound > p.conns_inbound || c.conns_outbound > p.conns_outbound || c.conns > p.conns;
    if (acc.contains(resource::fd)) r |= c.fd > p.fd;
    return r;
  }

  /// The first resource the child accounts and the parent does not.
  static constexpr int missing_resource(resource_set child, resource_set parent) {
    for (int r = 0; r < 4; ++r)
      if (child.contains(resource(r)) && !parent.contains(resource(r))) return r;
    return 0;
  }
  /// The first resource the child accounts whose static limit is above the parent's.
  static constexpr int exceeding_resource(const limit& c, const limit& p, resource_set acc) {
    for (int r = 0; r < 4; ++r)
      if (acc.contains(resource(r)) && exceeds(c, p, resource_set{static_cast<std::uint8_t>(1u << r)})) return r;
    return 0;
  }

  static constexpr problem first_problem() {
    if (n > max_kinds) return {problem_code::too_many_kinds};
    for (int i = 0; i < n; ++i)
      if (!kinds[i].is_kind) return {problem_code::not_a_kind, i};
    // duplicates: index_of finds the first occurrence
    {
      constexpr int_indexed<int, std::size_t(n)> first{index_of<Ks, Ks...>()...};
      for (int i = 0; i < n; ++i)
        if (first[i] != i) return {problem_code::duplicate_kind, i};
    }
    for (int k = 0; k < m; ++k) {
      const auto& e = edges[k];
      if (!is_edge[k]) return {problem_code::not_an_edge, -1, -1, k};
      if (e.child < 0 || e.parent < 0) return {problem_code::edge_kind_not_listed, -1, -1, k};
      if (e.b == bind_kind::invalid) return {problem_code::unknown_binding, -1, -1, k};
      if (e.q_given && e.q < 0) return {problem_code::binding_kind_not_listed, -1, -1, k};
    }
    for (int k = 0; k < m; ++k) {
      const auto& e = edges[k];
      if (e.child == e.parent) return {problem_code::self_edge, e.child};
      for (int l = 0; l < k; ++l)
        if (edges[l].child == e.child && edges[l].parent == e.parent) return {problem_code::duplicate_edge, e.child, e.parent};
    }
    for (int i = 0; i < n; ++i)
      if (any_closure(i) & bit(i)) return {problem_code::cycle, i};
    for (const auto& e : edges) {
      const auto& c = kinds[e.child];
      const auto& p = kinds[e.parent];
      if (!p.acc.includes(c.acc)) return {problem_code::parent_lacks_resource, e.child, e.parent, -1, missing_resource(c.acc, p.acc)};
      if (c.shape != kind_shape::per_object) {
        if (p.shape != kind_shape::singleton) return {problem_code::shared_kind_parent, e.child, e.parent};
        if (e.b != bind_kind::at_open) return {problem_code::shared_kind_late_edge, e.child, e.parent};
      }
    }
    for (int k = 0; k < m; ++k) {
      const auto& e = edges[k];
      if (kinds[e.child].shape != kind_shape::per_object) continue;
      if (kinds[e.parent].shape == kind_shape::per_object) {
        if (e.b != bind_kind::at_open) return {problem_code::owner_not_at_open, e.child, e.parent};
        for (int l = 0; l < k; ++l)
          if (edges[l].child == e.child && kinds[edges[l].parent].shape == kind_shape::per_object)
            return {problem_code::two_owners, e.child, e.parent};
      }
      if (has_late(e.parent)) return {problem_code::late_kind_is_parent, e.parent, e.child};
      if (e.b == bind_kind::after || e.b == bind_kind::until) {
        bool ok = false;
        for (const auto& f : edges)
          if (f.child == e.child && f.parent == e.q && (f.b == bind_kind::late || f.b == bind_kind::after)) ok = true;
        if (!ok) return {problem_code::condition_not_late, e.child, e.q};
      }
    }
    for (const auto& e : edges) {
      const auto& p = kinds[e.parent];
      if (p.shape != kind_shape::view) continue;
      if (e.b != bind_kind::at_open) return {problem_code::view_edge_binding, e.child, e.parent};
      for (int comp : {p.view_a, p.view_b})
        if (comp < 0 || kinds[comp].shape != kind_shape::keyed) return {problem_code::view_of_non_keyed, e.parent, comp};
      bool has_a = false, has_b = false;
      for (const auto& f : edges)
        if (f.child == e.child && f.b != bind_kind::until) {
          has_a |= f.parent == p.view_a;
          has_b |= f.parent == p.view_b;
        }
      if (!has_a || !has_b) return {problem_code::view_component_missing, e.child, e.parent};
    }
    for (int i = 0; i < n; ++i) {
      if (kinds[i].shape != kind_shape::per_object) continue;
      if (late_parents(i).count > max_late) return {problem_code::too_many_late, i};
      mask_t cover = owner_cover(i);
      for (const auto& e : edges)
        if (e.child == i && kinds[e.parent].shape != kind_shape::singleton && !is_owner_edge(e) && (cover & bit(e.parent)))
          return {problem_code::keyed_through_owner, i, e.parent};
    }
    for (const auto& e : edges)
      if (e.b == bind_kind::instead) {
        if (kinds[e.child].shape != kind_shape::per_object || kinds[e.parent].shape != kind_shape::singleton)
          return {problem_code::alternative_not_singleton, e.child, e.parent};
        if (kinds[e.q].shape != kind_shape::singleton) return {problem_code::alternative_not_singleton, e.child, e.q};
      }
    for (const auto& e : edges) {
      const auto& c = kinds[e.child];
      const auto& p = kinds[e.parent];
      if (c.constant_limit && p.constant_limit && exceeds(c.climit, p.climit, c.acc))
        return {problem_code::limit_above_parent, e.child, e.parent, -1, exceeding_resource(c.climit, p.climit, c.acc)};
    }
    for (int i = 0; i < n; ++i)
      if (kinds[i].constant_limit && !limit_problem(kinds[i].climit, kinds[i].acc).empty())
        return {problem_code::limit_unaccounted, i};
    return {};
  }
  static constexpr int_indexed<bool, std::size_t(m)> is_edge{edge_parts<Es, Ks...>::is_edge...};
};

}  // namespace rcmgr::detail
