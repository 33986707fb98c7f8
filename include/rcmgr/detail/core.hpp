// The engine: the manager's state, and the paths a reservation takes. Every path is generated
// from the topology's analysis: the set of scopes charged in each state of a kind is a
// compile-time mask, unrolled into straight-line code; the state itself (which late parents are
// set) is a small integer switched on once per operation.
//
// The nodes and per-kind state are in nodes.hpp and kind_state.hpp. The engine's other concerns
// are empty CRTP bases of core, one header each: binding a scope to its parents
// (core_binding.hpp), the keyed and view tables (core_tables.hpp), limit publication
// (core_limits.hpp), what observers see (core_observation.hpp), errors and misuse reports
// (core_errors.hpp). Being empty they change neither core's layout nor its generated code.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <mutex>
#include <new>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

#include "rcmgr/detail/core_binding.hpp"
#include "rcmgr/detail/core_errors.hpp"
#include "rcmgr/detail/core_limits.hpp"
#include "rcmgr/detail/core_observation.hpp"
#include "rcmgr/detail/core_tables.hpp"
#include "rcmgr/detail/counters.hpp"
#include "rcmgr/detail/key_check.hpp"
#include "rcmgr/detail/key_ops.hpp"
#include "rcmgr/detail/kind_state.hpp"
#include "rcmgr/detail/kind_traits.hpp"
#include "rcmgr/detail/limit_store.hpp"
#include "rcmgr/detail/live_handles.hpp"
#include "rcmgr/detail/meta.hpp"
#include "rcmgr/detail/misuse.hpp"
#include "rcmgr/detail/nodes.hpp"
#include "rcmgr/detail/scope_hooks.hpp"
#include "rcmgr/detail/siphash.hpp"
#include "rcmgr/detail/storage.hpp"
#include "rcmgr/errors.hpp"
#include "rcmgr/limit_set.hpp"
#include "rcmgr/observer.hpp"
#include "rcmgr/policies.hpp"
#include "rcmgr/result.hpp"
#include "rcmgr/topology.hpp"

namespace rcmgr {
namespace detail {

// ---- the core ---------------------------------------------------------------------------------

template <class Topology, class Policy, class KL = typename Topology::kind_list>
class core;

template <class Topology, class Policy, class... Ks>
class core<Topology, Policy, type_list<Ks...>>
    : public core_observation<core<Topology, Policy, type_list<Ks...>>, Topology, Policy, Ks...>,
      public core_limits<core<Topology, Policy, type_list<Ks...>>, Topology, Policy, Ks...>,
      public core_tables<core<Topology, Policy, type_list<Ks...>>, Topology, Policy, Ks...>,
      public core_binding<core<Topology, Policy, type_list<Ks...>>, Topology, Policy, Ks...>,
      public core_errors<core<Topology, Policy, type_list<Ks...>>, Topology, Policy, Ks...> {
  friend class core_observation<core, Topology, Policy, Ks...>;
  friend class core_limits<core, Topology, Policy, Ks...>;
  friend class core_tables<core, Topology, Policy, Ks...>;
  friend class core_binding<core, Topology, Policy, Ks...>;
  friend class core_errors<core, Topology, Policy, Ks...>;

 public:
  using policy = Policy;
  using graph = typename Topology::graph_type;
  using topology = Topology;
  template <class K>
  static constexpr int index = index_of<K, Ks...>();
  template <int I>
  using kind_at = nth<std::size_t(I), Ks...>;
  template <int I>
  using kind_at_or_void = typename detail::kind_at_or_void<I, Ks...>::type;
  template <class K>
  using limit_store_of = limit_store<typename kind_traits<K>::limit_type, Policy>;
  template <class K>
  using node_t = node<core, K>;
  using observer_type = typename observer_of<Policy>::type;
  /// Most live scopes per keyed or view kind (storage policy); SIZE_MAX for no cap.
  static constexpr std::size_t table_capacity = storage_of<Policy>::type::capacity;
  /// False when no observer was given: every notification then compiles away.
  static constexpr bool observing = observer_enabled<observer_type>;
  /// Whether the observer wants events of type t on scopes of kind K (false without observer).
  template <class K>
  static constexpr bool notifies(scope_event::type t) noexcept {
    if constexpr (kind_traits<K>::is_span)  // spans: also what the observer wants of its owner kind's spans
      return observer_wants<observer_type>(t, kind_traits<K>::name) ||
             observer_wants_span<observer_type>(t, kind_traits<typename live_kind<K>::type>::name);
    else return observer_wants<observer_type>(t, kind_traits<K>::name);
  }

  observer_type& observer() noexcept { return observer_; }

  /// Installs `limits` as given (the manager checks them first). Under exceptions, running out
  /// of memory for the per-key overrides throws std::bad_alloc.
  // The seed mixes in this object's address only, as an integer: g++ -O2 warns
  // (maybe-uninitialized) about a pointer to the object under construction passed as const void*.
  explicit core(const limit_set<Topology>& limits) : seed_(initial_seed(reinterpret_cast<std::uintptr_t>(this))) {
    std::tuple<typename core::template prepared_overrides<Ks>...> next;
    (this->template prepare_kind<Ks>(limits, std::get<std::size_t(index<Ks>)>(next), true), ...);
    (this->template commit_kind_limits<Ks>(limits, std::get<std::size_t(index<Ks>)>(next), true), ...);
  }
  core(const core&) = delete;
  core& operator=(const core&) = delete;
  /// The tables' hash secret; a topology without keyed or view kinds has no table to key.
  static hash_seed initial_seed(std::uintptr_t where) noexcept {
    if constexpr (((kind_traits<Ks>::shape == kind_shape::keyed || kind_traits<Ks>::shape == kind_shape::view) || ...)) {
      return make_hash_seed(where);
    } else {
      (void)where;
      return hash_seed{};
    }
  }
  ~core() {
    // Debug builds: handles or references still alive would reach freed memory when they end.
    live_.check([](std::size_t k) {
      return std::pair{core::name_at(int(k)), graph::kinds[k].shape == kind_shape::per_object};
    });
    // Free what the tables still hold: scopes pinned by memory nobody released, or by handles
    // that outlive the manager (a caller bug; such handles must not be used afterwards).
    (this->template destroy_table<Ks>(), ...);
  }

  // ---- live handles and references (counted in debug builds only) ----
  // A span is counted under the kind at the root of its owner chain: spans of spans have no
  // index of their own (their owner is a span too).
  template <class K>
  struct live_kind {
    using type = K;
  };
  template <class K>
    requires(kind_traits<K>::is_span)
  struct live_kind<K> {
    using type = typename live_kind<typename K::owner>::type;
  };
  template <class K>
  void live_opened() noexcept {
    static_assert(index<typename live_kind<K>::type> >= 0, "internal: a live handle's kind is not in the topology");
    live_.opened(std::size_t(index<typename live_kind<K>::type>), kind_traits<K>::is_span);
  }
  template <class K>
  void live_closed() noexcept {
    live_.closed(std::size_t(index<typename live_kind<K>::type>), kind_traits<K>::is_span);
  }
  void set_outlived_handler(outlived_handler h, void* user) noexcept { live_.set_handler(h, user); }

  // ---- lookup ----
  template <class K>
  auto& state() noexcept {
    return std::get<std::size_t(index<K>)>(states_);
  }
  template <class K>
  const auto& state() const noexcept {
    return std::get<std::size_t(index<K>)>(states_);
  }
  template <class K>
    requires(kind_traits<K>::shape == kind_shape::singleton)
  node_t<K>& singleton() noexcept {
    return state<K>().n;
  }
  template <class K>
    requires(kind_traits<K>::shape == kind_shape::singleton)
  const node_t<K>& singleton() const noexcept {
    return state<K>().n;
  }

  template <class K>
  const limit_store_of<K>& limit_of(const node_t<K>& n) const noexcept {
    constexpr auto shape = kind_traits<K>::shape;
    if constexpr ((shape == kind_shape::keyed || shape == kind_shape::view) && !kind_traits<K>::constant_limit)
      return *n.lim.load();
    else return state<K>().lim;
  }

  // ---- naming ----
  template <class K>
  scope_name name_of(const node_t<K>& n) const {
    constexpr auto shape = kind_traits<K>::shape;
    scope_name s(kind_traits<K>::name);
    if constexpr (shape == kind_shape::keyed) {
      with_key_text(n.key, [&](std::string_view k) { s.set_key(k); });
    } else if constexpr (shape == kind_shape::view) {
      with_key_text(n.a->key, [&](std::string_view a) {
        with_key_text(n.b->key, [&](std::string_view b) { s.set_key(a, '@', b); });
      });
    }
    return s;
  }
  // ---- reservation paths ----

  /// Charges `a` to node n of kind K and to everything n is charged to in its current state.
  template <class K, resource_set R>
  result<void> charge(node_t<K>& n, const amount& a, std::uint8_t prio) noexcept {
    if constexpr (kind_traits<K>::is_span) {
      if (n.done) return this->template state_error<K>(n, errc::scope_closed, "the span has ended");
      // The owner first: its check bounds the span (the owner holds at least what the span
      // holds), so adding to the span afterwards cannot overflow, whereas adding first could
      // push a span holding some bytes past INT64_MAX before the owner refused.
      auto r = charge<typename K::owner, R>(*n.owner, a, prio);
      if (r) add_unchecked<R>(n.rc, a);
      return r;
    } else if constexpr (is_per_object<K>) {
      if (n.done) return this->template state_error<K>(n, errc::scope_closed, "the scope has ended");
      if constexpr (node_t<K>::owner_index >= 0) {
        // A child of an ended owner can never reserve again: say so, rather than whatever its
        // own limit would answer (a full stream of a closed connection is closed, not full).
        if (owner_chain_ended<K>(n))
          return this->template state_error<typename node_t<K>::owner_kind>(*n.owner, errc::scope_closed, "the scope has ended");
      }
      refusal why;
      if (!try_add<R>(n.rc, limit_of<K>(n), a, prio, why)) return this->template limit_error<K>(n, why, prio);
      if constexpr (node_t<K>::owner_index >= 0) {
        auto r = charge<typename node_t<K>::owner_kind, R>(*n.owner, a, prio);
        if (!r) {
          sub<R>(n.rc, a);
          return r;
        }
      }
      auto r = dispatch_state<K>(n.state, [&](auto s) {
        return charge_mask<K, graph::flat(index<K>, decltype(s)::value), R>(n, a, prio);
      });
      if (!r) {
        sub<R>(n.rc, a);
        if constexpr (node_t<K>::owner_index >= 0) uncharge<typename node_t<K>::owner_kind, R>(*n.owner, a);
      }
      return r;
    } else {
      refusal why;
      if (!try_add<R>(n.rc, limit_of<K>(n), a, prio, why)) return this->template limit_error<K>(n, why, prio);
      auto r = charge_mask<K, graph::static_closure(index<K>), R>(n, a, prio);
      if (!r) sub<R>(n.rc, a);
      return r;
    }
  }

  /// True when n's owner, or an owner further up, has ended. Ending a scope leaves its owned
  /// children open (they end with their handles) but releases everything they had charged above.
  template <class K>
  static bool owner_chain_ended(const node_t<K>& n) noexcept {
    if constexpr (node_t<K>::owner_index >= 0) {
      using O = typename node_t<K>::owner_kind;
      return n.owner == nullptr || n.owner->done || owner_chain_ended<O>(*n.owner);
    } else {
      (void)n;
      return false;
    }
  }

  /// Releases `a` from n and everything n is charged to. A release through an owner that has
  /// ended stops there: the owner's end already released everything below it.
  template <class K, resource_set R>
  void uncharge(node_t<K>& n, const amount& a) noexcept {
    if constexpr (kind_traits<K>::is_span) {
      if (n.done) return;
      sub<R>(n.rc, a);
      uncharge<typename K::owner, R>(*n.owner, a);
    } else if constexpr (is_per_object<K>) {
      if (n.done) return;
      sub<R>(n.rc, a);
      if constexpr (node_t<K>::owner_index >= 0) uncharge<typename node_t<K>::owner_kind, R>(*n.owner, a);
      dispatch_state<K>(n.state, [&](auto s) {
        uncharge_mask<K, graph::flat(index<K>, decltype(s)::value), R>(n, a);
        return 0;
      });
    } else {
      sub<R>(n.rc, a);
      uncharge_mask<K, graph::static_closure(index<K>), R>(n, a);
    }
  }

  template <class K>
  result<void> reserve_memory(node_t<K>& n, std::int64_t size, std::uint8_t prio) noexcept {
    constexpr resource_set mem{1u << unsigned(resource::memory)};
    static_assert(kind_traits<K>::accounted.contains(resource::memory),
                  "reserve_memory: this scope kind does not account memory (add resource::memory to its accounts<>)");
    if (size < 0) return this->template state_error<K>(n, errc::invalid_argument, "cannot reserve a negative amount of memory");
    // size 0 goes the normal way too: it changes no counter, but answers scope_closed for an
    // ended scope or owner exactly as a real reservation would.
    auto r = charge<K, mem>(n, amount{size, 0, 0, 0}, prio);
    if (r) {
      if constexpr (is_per_object<K>) n.direct_memory += size;
      else n.direct_memory.fetch_add(size);
    }
    if constexpr (notifies<K>(scope_event::type::reserved) || notifies<K>(scope_event::type::reserve_refused)) {
      if (r ? notifies<K>(scope_event::type::reserved) : notifies<K>(scope_event::type::reserve_refused)) {
      scope_event ev{r ? scope_event::type::reserved : scope_event::type::reserve_refused, name_of<K>(n)};
      ev.memory = size;
      ev.prio = prio;
      if (!r) this->refused(ev, r.error());
      this->template describe<K>(ev, n);
      observer_.on_event(ev);
      }
    }
    return r;
  }

  template <class K>
  void release_memory(node_t<K>& n, std::int64_t size) noexcept {
    constexpr resource_set mem{1u << unsigned(resource::memory)};
    if (size < 0) {
      this->template report_misuse<K>(n, misuse_event::what::negative_release, size, 0);
      return;
    }
    std::int64_t take = size;
    if constexpr (is_per_object<K>) {
      if (n.done) return;  // everything was released when the scope ended
      if (take > n.direct_memory) {
        this->template report_misuse<K>(n, misuse_event::what::over_release, size, n.direct_memory);
        take = n.direct_memory;
      }
      n.direct_memory -= take;
    } else {
      std::int64_t d = n.direct_memory.load();
      do {
        take = size < d ? size : d;
      } while (!n.direct_memory.compare_exchange(d, d - take));
      if (take < size) this->template report_misuse<K>(n, misuse_event::what::over_release, size, take);
    }
    if (take != 0) uncharge<K, mem>(n, amount{take, 0, 0, 0});
    if constexpr (notifies<K>(scope_event::type::released)) {
      scope_event ev{scope_event::type::released, name_of<K>(n)};
      ev.memory = take;
      this->template describe<K>(ev, n);
      observer_.on_event(ev);
    }
  }

  // ---- opening, attaching and ending per-object scopes ----

  /// The parents an open<K>(...) call names, in edge order: keyed parents (by key) and the
  /// owner (by handle), for at-open and until<> edges.
  template <class K>
  static constexpr auto open_parent_indices() {
    constexpr int i = index<K>;
    constexpr int count = [] {
      int c = 0;
      for (const auto& e : graph::edges)
        if (e.child == i && (e.b == bind_kind::at_open || e.b == bind_kind::until) &&
            (graph::kinds[e.parent].shape == kind_shape::keyed || graph::kinds[e.parent].shape == kind_shape::per_object))
          ++c;
      return c;
    }();
    int_indexed<int, std::size_t(count)> r{};
    int k = 0;
    for (const auto& e : graph::edges)
      if (e.child == i && (e.b == bind_kind::at_open || e.b == bind_kind::until) &&
          (graph::kinds[e.parent].shape == kind_shape::keyed || graph::kinds[e.parent].shape == kind_shape::per_object))
        r[k++] = e.parent;
    return r;
  }

  /// open<K>, with the data the scope carries (carries<T>) set before it is charged. When the
  /// regular scopes refuse and the kind has alternative scopes (instead_of<> edges), the data is
  /// asked whether to retry there (take_alternative()). If the open fails, on_end() is called.
  /// (It goes through open() with the data as its only argument, so that open() compiles for
  /// every other call exactly as it would without this feature.)
  template <class K, class Data>
  result<node_t<K>*> open_carrying(Data&& data, direction dir, bool use_fd) {
    static_assert(open_parent_indices<K>().size() == 0,
                  "open_carrying<K>: a kind opened with data cannot name keyed parents or an owner at open");
    if constexpr (std::is_rvalue_reference_v<Data&&> && !std::is_const_v<std::remove_reference_t<Data>>) {
      return open<K>(dir, use_fd, carry_init<std::remove_cvref_t<Data>>{&data});  // moved from where it is
    } else {
      std::remove_cvref_t<Data> d(std::forward<Data>(data));
      return open<K>(dir, use_fd, carry_init<std::remove_cvref_t<Data>>{&d});
    }
  }
  /// open<K> whose data is filled in place by `fill(data) -> result<void>`, called once the node
  /// exists and before anything is charged (after the closed and storage checks, so a refused
  /// open never runs it). When it fails the open fails with its error, nothing charged and
  /// on_end() not called: what fill took it must give back itself. When it succeeds the data is
  /// the node's, as with open_carrying. (The gated connection's gate ticket is written straight
  /// into the node this way: building it on the stack and copying it in stalled on store
  /// forwarding.)
  template <class K, class Fill>
  result<node_t<K>*> open_filling(Fill&& fill, direction dir, bool use_fd) {
    static_assert(open_parent_indices<K>().size() == 0,
                  "open_filling<K>: a kind opened with data cannot name keyed parents or an owner at open");
    static_assert(std::is_nothrow_invocable_v<Fill&, typename kind_traits<K>::carried&>,
                  "open_filling<K>: the fill must be noexcept (one that threw would leave the new scope half made)");
    return open<K>(dir, use_fd, carry_fill<std::remove_reference_t<Fill>>{&fill});
  }

  template <class K, class... Args>
  result<node_t<K>*> open(direction dir, bool use_fd, Args&&... args) {
    static_assert(is_per_object<K> && !kind_traits<K>::is_span,
                  "open<K>: only per-object kinds are opened; view singleton and keyed kinds with view<K>()");
    constexpr auto parents = open_parent_indices<K>();
    constexpr bool carrying = scope_hooks && (is_carry_init<std::remove_cvref_t<Args>>::value || ...);
    static_assert(sizeof...(Args) == parents.size() + (carrying ? 1u : 0u),
                  "open<K>: give one argument per keyed parent (its key) and per owner (its handle), in edge order");
    if (closed_.load()) {
      error e;
      e.code = errc::manager_closed;
      e.scope = scope_name(kind_traits<K>::name);
      if constexpr (carrying) {
        // the data is never stored: let it release what it holds (a gated connection's ticket)
        if constexpr (requires { (args.data->on_end(), ...); }) (args.data->on_end(), ...);
      }
      return e;
    }
    void* mem = object_store<K>().allocate();
    if (mem == nullptr) {
      error e = this->template storage_error<K>(this->store_exhausted);
      if constexpr (carrying) {
        // the data was never stored: let it release what it holds (a gated connection's ticket)
        if constexpr (requires { (args.data->on_end(), ...); }) (args.data->on_end(), ...);
      }
      this->template notify_open<K>(&e, nullptr, dir, use_fd);
      return e;
    }
    // A node carrying data is default-initialized (every member has an initializer):
    // value-initializing it (node_t<K>()) zeroes the whole node first, padding included, which
    // for a gated connection's compiled to `rep stos`, a third of open's time. Other nodes keep
    // value-initialization, whose code is smaller on small targets (tests/firmware).
    node_t<K>* n;
    if constexpr (carrying) n = ::new (mem) node_t<K>;
    else n = ::new (mem) node_t<K>();
    // bind the parents named at open
    error bind_err;
    mask_t created = 0;  // keyed parents this call created
#ifdef RCMGR_DETAIL_WITHOUT_SCOPE_HOOKS
    bool bound = this->template bind_open_parents<K>(*n, bind_err, created, std::make_index_sequence<parents.size()>{},
                                                     std::forward<Args>(args)...);
#else
    bool bound;
    if constexpr ((is_carry_fill<std::remove_cvref_t<Args>>::value || ...)) {
      if (auto filled = (*(args.fill, ...))(n->data); !filled) {
        destroy_object<K>(n);  // nothing was bound or charged; the fill gave back what it took
        return filled.error();
      }
      bound = true;
    } else if constexpr (carrying) {
      n->data = std::move(*(args.data, ...));
      bound = true;
    } else {
      bound = this->template bind_open_parents<K>(*n, bind_err, created, std::make_index_sequence<parents.size()>{},
                                                  std::forward<Args>(args)...);
    }
#endif
    if (bound && !this->template bind_views<K, 0u, 0u>(*n, bind_err)) bound = false;
    if (!bound) {
      if (is_storage_error(bind_err.code)) {
        this->template unbind_mask<K>(*n, view_mask());
        this->template discard_created_parents<K>(*n, created);
      }
      this->template unbind<K>(*n, 0);
      if constexpr (carrying) carried_end<K>(*n);
      destroy_object<K>(n);
      this->template notify_open<K>(&bind_err, nullptr, dir, use_fd);
      return bind_err;
    }
    constexpr resource_set acc = kind_traits<K>::accounted;
    amount a;
    constexpr unsigned conns_bit = 1u << unsigned(resource::conns), streams_bit = 1u << unsigned(resource::streams),
                       fd_bit = 1u << unsigned(resource::fd);
    constexpr resource_set unit{static_cast<std::uint8_t>(
        acc.contains(resource::conns) ? (conns_bit | (acc.contains(resource::fd) ? fd_bit : 0u))
                                      : (acc.contains(resource::streams) ? streams_bit : 0u))};
    if constexpr (unit.contains(resource::conns)) a.conns = one(dir);
    else if constexpr (unit.contains(resource::streams)) a.streams = one(dir);
    if constexpr (unit.contains(resource::fd)) a.fd = use_fd ? 1 : 0;
    if constexpr (unit.bits != 0) {
      auto r = charge<K, unit>(*n, a, priority::always);
      if constexpr (carrying && graph::alt_bit(index<K>) >= 0) {
        if (!r && n->data.take_alternative()) {
          n->state = static_cast<std::uint8_t>(1u << alt_bit_of<index<K>>);
          r = charge<K, unit>(*n, a, priority::always);
        }
      }
      if (!r) {
        this->template notify_open<K>(&r.error(), n, dir, use_fd);  // while bound: the event's path reads the scopes that refused
        this->template unbind<K>(*n, 0);
        if constexpr (carrying) carried_end<K>(*n);
        destroy_object<K>(n);
        return r.error();
      }
    }
    this->template notify_open<K>(nullptr, n, dir, use_fd);
    return n;
  }

  /// set<P>(key) on a per-object node: attach a late parent and move the node's usage.
  template <class K, class P, class... Key>
  result<void> attach(node_t<K>& n, const Key&... key) {
    constexpr int i = index<K>, p = index<P>;
    static_assert(p >= 0, "set<P>: P is not a kind of this topology");
    constexpr int b = graph::late_bit(i, p);
    static_assert(b >= 0, "set<P>: P is not a late parent of this kind (declare edge<K, P, late> or after<Q>)");
    constexpr bool keyed = kind_traits<P>::shape == kind_shape::keyed;
    static_assert(keyed == (sizeof...(Key) == 1), "set<P>: give the key of a keyed parent, nothing for a singleton");
    [[maybe_unused]] const std::uint8_t state_before = n.state;
    auto r = attach_impl<K, P>(n, key...);
    if constexpr (notifies<K>(scope_event::type::attached) || notifies<K>(scope_event::type::attach_refused)) {
      if (!(r ? notifies<K>(scope_event::type::attached) : notifies<K>(scope_event::type::attach_refused))) return r;
      scope_event ev{r ? scope_event::type::attached : scope_event::type::attach_refused, name_of<K>(n)};
      this->template describe<K>(ev, n);
      if (r) ev.before = this->template path_of<K>(n, state_before);
      if constexpr (keyed) {
        std::string buf;
        ev.parent = scope_name(kind_traits<P>::name, key_text(key...,  buf));
      } else {
        ev.parent = scope_name(kind_traits<P>::name);
      }
      if (!r) this->refused(ev, r.error());
      observer_.on_event(ev);
    }
    return r;
  }

  template <class K, class P, class... Key>
  result<void> attach_impl(node_t<K>& n, const Key&... key) {
    constexpr int i = index<K>, p = index<P>;
    constexpr int b = graph::late_bit(i, p);
    constexpr bool keyed = kind_traits<P>::shape == kind_shape::keyed;
    if (n.done) return this->template state_error<K>(n, errc::scope_closed, "the scope has ended");
    if (n.state & (1u << b)) return this->template state_error<K>(n, errc::already_attached, this->template attached_text<P>());
    if (!prerequisites_met<K, P>(n.state)) return this->template state_error<K>(n, errc::not_attached, this->template prerequisite_text<K, P>());
    if constexpr (keyed) {
      if (const key_problem kp = key_problem_of<P>(key...)) return key_error(kind_traits<P>::name, kp);
    }
    if constexpr (scope_hooks && graph::alt_bit(i) >= 0 && !std::is_same_v<typename kind_traits<K>::carried, no_carry>) {
      // A scope in its alternative scopes whose data says it no longer belongs there (libp2p:
      // an allowlist entry naming another peer) moves to the regular ones first, or is refused.
      if ((n.state & (1u << alt_bit_of<i>)) && !n.data.template keep_alternative<P>(key...))
        if (auto r = leave_alternative<K>(n); !r) return r;
    }
    return dispatch_state<K>(n.state, [&](auto s) -> result<void> {
      constexpr unsigned S = decltype(s)::value;
      constexpr unsigned S2 = S | (1u << b);
      [[maybe_unused]] constexpr mask_t gained = graph::direct(i, S2) & ~graph::direct(i, S);  // parents bound by this call
      [[maybe_unused]] mask_t created = 0;
      if constexpr (!graph::valid_state(i, S2)) {
        return this->template state_error<K>(n, errc::not_attached, this->template prerequisite_text<K, P>());
      } else {
        if constexpr (keyed) {
          errc why{};
          bool fresh = false;
          auto* pn = this->template acquire<P>(key..., why, &fresh);
          if (pn == nullptr) return this->template storage_error<P>(why);
          n.parents[slot_of<i, p>] = pn;
          created = fresh ? bit(p) : 0;
        }
        if (error full; !this->template bind_views<K, S, S2>(n, full)) {
          // Out of storage: undo everything, including a retained scope this call created.
          this->template unbind_mask<K>(n, gained & view_mask());
          this->template discard_created_parents<K>(n, created);
          this->template unbind_mask<K>(n, gained);
          return full;
        }
        const amount u = n.rc.snapshot();
        constexpr mask_t added = graph::flat(i, S2) & ~graph::flat(i, S);
        constexpr mask_t removed = graph::flat(i, S) & ~graph::flat(i, S2);
        auto r = charge_mask<K, added, kind_traits<K>::accounted>(n, u, priority::always);
        if (!r) {
          this->template unbind_mask<K>(n, gained);
          return r;
        }
        uncharge_mask<K, removed, kind_traits<K>::accounted>(n, u);
        constexpr mask_t lost = graph::direct(i, S) & ~graph::direct(i, S2);
        this->template unbind_mask<K>(n, lost);
        n.state = static_cast<std::uint8_t>(S2);
        return {};
      }
    });
  }

  /// Moves a scope from its alternative scopes to the regular ones, all or nothing: its usage is
  /// charged to the regular scopes it lacks (priority always), then released from the others.
  template <class K>
  result<void> leave_alternative(node_t<K>& n) noexcept {
    constexpr int i = index<K>;
    constexpr unsigned alt = 1u << graph::alt_bit(i);
    return dispatch_state<K>(n.state, [&](auto s) -> result<void> {
      constexpr unsigned S = decltype(s)::value;
      if constexpr (!(S & alt)) {
        return {};
      } else {
        constexpr unsigned S2 = S & ~alt;
        constexpr mask_t added = graph::flat(i, S2) & ~graph::flat(i, S);
        constexpr mask_t removed = graph::flat(i, S) & ~graph::flat(i, S2);
        const amount u = n.rc.snapshot();
        auto r = charge_mask<K, added, kind_traits<K>::accounted>(n, u, priority::always);
        if (!r) return r;
        uncharge_mask<K, removed, kind_traits<K>::accounted>(n, u);
        n.state = static_cast<std::uint8_t>(S2);
        return {};
      }
    });
  }
  /// True when a per-object scope is charged to its alternative scopes (instead_of<> edges).
  template <class K>
  static bool in_alternative(const node_t<K>& n) noexcept {
    if constexpr (graph::alt_bit(index<K>) >= 0) return (n.state >> alt_bit_of<index<K>>) & 1u;
    else return (void)n, false;
  }
  template <class K>
  static void carried_end(node_t<K>& n) noexcept {
    if constexpr (requires { n.data.on_end(); }) n.data.on_end();
    else (void)n;
  }

  /// done(): release everything the node holds from everything it was charged to.
  template <class K>
  void end(node_t<K>& n) noexcept {
    if (n.done) return;
    if constexpr (scope_hooks && is_per_object<K> && !kind_traits<K>::is_span) carried_end<K>(n);
    constexpr resource_set acc = kind_traits<K>::accounted;
    const amount u = n.rc.snapshot();
    if constexpr (notifies<K>(scope_event::type::ended)) {
      scope_event ev{scope_event::type::ended, name_of<K>(n)};
      ev.released = n.rc.stat();
      this->template describe<K>(ev, n);
      observer_.on_event(ev);
    }
    if constexpr (kind_traits<K>::is_span) {
      if (!u.empty()) uncharge<typename K::owner, acc>(*n.owner, u);
    } else {
      if (!u.empty()) {
        if constexpr (node_t<K>::owner_index >= 0) uncharge<typename node_t<K>::owner_kind, acc>(*n.owner, u);
        dispatch_state<K>(n.state, [&](auto s) {
          uncharge_mask<K, graph::flat(index<K>, decltype(s)::value), acc>(n, u);
          return 0;
        });
      }
    }
    n.rc.clear();
    n.direct_memory = 0;
    n.done = true;
    if constexpr (kind_traits<K>::is_span) {
      release_owner<typename K::owner>(n.owner);
      n.owner = nullptr;
    } else {
      this->template unbind<K>(n, n.state);
    }
  }

  /// Drops one reference to a per-object node; frees it with the last.
  template <class K>
  void release_object(node_t<K>* n) noexcept {
    if (n->refs.fetch_sub_release(1) == 1) {
      end<K>(*n);
      destroy_object<K>(n);
    }
  }

  template <class O>
  result<node_t<span_of<O>>*> begin_span(node_t<O>& owner) {
    using S = span_of<O>;
    if constexpr (is_per_object<O>) {
      if (owner.done) return this->template state_error<O>(owner, errc::scope_closed, "cannot begin a span on an ended scope");
    }
    static_assert(sizeof(node_t<S>) <= sizeof(span_node) && alignof(node_t<S>) <= alignof(span_node),
                  "internal: every span node has the layout of span_node");
    void* mem = span_store_.allocate();
    if (mem == nullptr) return this->template storage_error<S>(this->store_exhausted);
    auto* n = ::new (mem) node_t<S>();
    n->owner = &owner;
    add_ref<O>(&owner);
    if constexpr (notifies<O>(scope_event::type::span_begun)) {
      scope_event ev{scope_event::type::span_begun, name_of<O>(owner)};
      this->template describe<S>(ev, *n);
      limit l;
      this->template describe_limit<S>(ev, *n, l);
      observer_.on_event(ev);
    }
    return n;
  }

  // ---- references to shared and per-object nodes ----
  template <class K>
  void add_ref(node_t<K>* n) noexcept {
    if constexpr (kind_traits<K>::shape != kind_shape::singleton) n->refs.fetch_add(1);
  }
  template <class K>
  void release_owner(node_t<K>* n) noexcept {
    if constexpr (is_per_object<K>) release_object<K>(n);
    else this->template release_ref<K>(n);
  }

  static constexpr bool is_storage_error(errc e) noexcept {
    return e == errc::out_of_memory || e == errc::too_many_scopes || e == errc::invalid_argument;
  }
  // ---- manager state ----
  void close() noexcept { closed_.store(true); }
  bool closed() const noexcept { return closed_.load(); }

 private:

  template <class K, class F>
  static decltype(auto) dispatch_state(std::uint8_t s, F&& f) {
    return dispatch_state_impl<K>(s, f, std::make_index_sequence<std::size_t(graph::state_count(index<K>))>{});
  }
  // An if-chain that returns f's result directly. Assigning into a default-constructed result
  // instead made every reservation zero a whole result<void> (~144 bytes, rep stos), which cost
  // more than charging seven scopes on the single-threaded policy.
  template <class K, class F, std::size_t S0, std::size_t... S>
  static decltype(auto) dispatch_state_impl(std::uint8_t s, F& f, std::index_sequence<S0, S...>) {
    if constexpr (sizeof...(S) == 0) {
      (void)s;
      return f(std::integral_constant<unsigned, unsigned(S0)>{});
    } else {
      if (s == S0) return f(std::integral_constant<unsigned, unsigned(S0)>{});
      return dispatch_state_impl<K>(s, f, std::index_sequence<S...>{});
    }
  }

  /// The node of ancestor kind A for node n of kind K: the manager's singleton, or a parent slot.
  template <class K, int A>
  node_t<kind_at<A>>& instance(node_t<K>& n) noexcept {
    using AK = kind_at<A>;
    if constexpr (kind_traits<AK>::shape == kind_shape::singleton) {
      (void)n;
      return singleton<AK>();
    } else {
      static_assert(is_per_object<K>, "internal: a shared kind's ancestors are singletons");
      return *static_cast<node_t<AK>*>(n.parents[std::size_t(slot_of<index<K>, A>)]);
    }
  }

  template <class K, mask_t M, resource_set R>
  result<void> charge_mask(node_t<K>& n, const amount& a, std::uint8_t prio) noexcept {
    constexpr auto idx = graph::template ordered<M>();
    return charge_seq<K, R, idx>(n, a, prio, std::make_index_sequence<idx.size()>{});
  }

  template <class K, resource_set R, auto Idx, std::size_t... J>
  result<void> charge_seq(node_t<K>& n, const amount& a, std::uint8_t prio, std::index_sequence<J...>) noexcept {
    if constexpr (sizeof...(J) == 0) {
      (void)n, (void)a, (void)prio;
      return {};
    } else {
      refusal why;
      std::size_t passed = 0;
      const bool ok = ((try_add<R>(instance<K, Idx[J]>(n).rc, limit_of<kind_at<Idx[J]>>(instance<K, Idx[J]>(n)), a, prio, why)
                            ? (++passed, true)
                            : false) &&
                       ...);
      if (ok) [[likely]]
        return {};
      ((J < passed ? sub<R>(instance<K, Idx[J]>(n).rc, a) : void()), ...);
      error e;
      ((J == passed ? (e = this->template limit_error<kind_at<Idx[J]>>(instance<K, Idx[J]>(n), why, prio), void()) : void()), ...);
      return e;
    }
  }

  template <class K, mask_t M, resource_set R>
  void uncharge_mask(node_t<K>& n, const amount& a) noexcept {
    [[maybe_unused]] constexpr auto idx = graph::template ordered<M>();
    [&]<std::size_t... J>(std::index_sequence<J...>) {
      (sub<R>(instance<K, idx[J]>(n).rc, a), ...);
    }(std::make_index_sequence<idx.size()>{});
  }

  template <class K, class P>
  static constexpr bool prerequisites_met(std::uint8_t s) noexcept {
    // The late bits P's edges wait for, as one constant: the check is then one test at run time
    // (a loop over the edges here was not folded by the compiler and cost a few ns per attach).
    constexpr unsigned need = [] {
      constexpr int i = index<K>, p = index<P>;
      unsigned m = 0;
      for (const auto& e : graph::edges)
        if (e.child == i && e.parent == p && e.b == bind_kind::after) m |= 1u << graph::late_bit(i, e.q);
      return m;
    }();
    return (s & need) == need;
  }

  /// graph::slot(I, P) as a constant. The graph's functions are constexpr, but only a constant
  /// context makes the compiler evaluate them: clang++ 14 at -O2 called slot() and direct() at
  /// run time (each a walk over every edge and every state of the kind), which made a stream's
  /// lifecycle about 60 times slower than with g++. Every run-time use goes through a constant.
  template <int I, int P>
  static constexpr int slot_of = graph::slot(I, P);
  template <int I>
  static constexpr int alt_bit_of = graph::alt_bit(I);
  static constexpr mask_t view_mask() {
    mask_t m = 0;
    for (int j = 0; j < graph::n; ++j)
      if (graph::kinds[j].shape == kind_shape::view) m |= bit(j);
    return m;
  }

  /// The store of a per-object kind's nodes, or the span store.
  template <class K>
  auto& object_store() noexcept {
    if constexpr (kind_traits<K>::is_span) return span_store_;
    else return std::get<std::size_t(index<K>)>(object_stores_);
  }
  template <class K>
  void destroy_object(node_t<K>* n) noexcept {
    n->~node_t<K>();
    object_store<K>().deallocate(n);
  }

  /// The layout of every span node (spans of any owner differ only in their owner's type).
  using span_node = node_t<span_of<kind_at<0>>>;
  hash_seed seed_;  ///< secret key of the keyed tables' hash
  std::tuple<kind_state<core, Ks>...> states_;
  std::tuple<typename object_store_for<core, Ks>::type...> object_stores_;
  typename storage_traits<Policy>::template object_store<span_node> span_store_;
  typename Policy::template cell<bool> closed_{};
  typename Policy::template cell<std::uint64_t> over_releases_{};
  typename Policy::template cell<std::int64_t> over_released_bytes_{};
  typename Policy::template cell<std::uint64_t> negative_releases_{};
  typename core::misuse_handler handler_ = nullptr;
  void* handler_user_ = nullptr;
  [[no_unique_address]] observer_type observer_{};
  /// refusal_usage() of a single-threaded observed manager.
  [[no_unique_address]] mutable std::conditional_t<observing && !Policy::concurrent, scope_stat, no_member<1>> refusal_usage_{};
  [[no_unique_address]] live_handles<track_live_handles, sizeof...(Ks)> live_{};
};

}  // namespace detail
}  // namespace rcmgr
