// basic_resource_manager<Topology, Policies...>: a resource manager for any topology.
// The libp2p one (with open_connection, open_stream, view_peer, ...) is rcmgr::resource_manager
// in rcmgr/libp2p.hpp.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <new>
#include <optional>
#include <type_traits>
#include <utility>
#include <vector>

#include "rcmgr/detail/core.hpp"
#include "rcmgr/detail/platform.hpp"
#include "rcmgr/limit_set.hpp"
#include "rcmgr/policies.hpp"
#include "rcmgr/result.hpp"
#include "rcmgr/scope_handle.hpp"
#include "rcmgr/topology.hpp"

namespace rcmgr {

namespace detail {
/// What list<K>() returns: (key, usage) pairs; a view's key is the pair of its components' keys.
template <class K, kind_shape S = kind_traits<K>::shape>
struct list_type_of {
  using type = void;  // not listable: core::list<K> says so
};
template <class K>
struct list_type_of<K, kind_shape::keyed> {
  using type = std::vector<std::pair<typename key_of<K>::type, scope_stat>>;
};
template <class K>
struct list_type_of<K, kind_shape::view> {
  using A = typename kind_traits<K>::shape_option::first;
  using B = typename kind_traits<K>::shape_option::second;
  using type = std::vector<std::pair<std::pair<typename key_of<A>::type, typename key_of<B>::type>, scope_stat>>;
};
template <class K>
using list_type = typename list_type_of<K>::type;
}  // namespace detail

/// A resource manager for Topology. Not copyable or movable: handles point into it, and it must
/// outlive every handle and reference it gave out.
template <scope_topology Topology, class... Policies>
class basic_resource_manager {
  static_assert(Topology::valid, "rcmgr: the topology has a problem, reported above where it is declared");

 public:
  using topology_type = Topology;
  using policies = typename detail::policy_set<Policies...>::canonical;
  using concurrency_policy = typename policies::concurrency;
  using storage_policy = typename policies::storage;
  using observer_type = typename policies::observer;
  using core_type = detail::core<Topology, policies>;
  using limits_type = limit_set<Topology>;
  /// Owning handle of a per-object scope of kind K.
  template <class K>
  using handle = scope_handle<core_type, K>;
  /// Reference to a shared scope of kind K.
  template <class K>
  using ref = scope_ref<core_type, K>;
  /// Handle of a span opened on a scope of kind K.
  template <class K>
  using span = scope_handle<core_type, span_of<K>>;

  /// A manager enforcing `limits`. The limits must be valid (limits.check() succeeds: no
  /// negative value, nothing set on a resource a kind does not account, no refused key); invalid
  /// limits are a programming error, and the constructor stops the program with a message
  /// saying which value is wrong. To get an error instead (limits from configuration, say), use
  /// create(), which is what go-libp2p's NewResourceManager does.
  explicit basic_resource_manager(const limits_type& limits = limits_type{});
  ~basic_resource_manager();
  /// A manager enforcing `limits`, or an error: errc::invalid_argument naming the kind, key and
  /// field of the first invalid value, or errc::out_of_memory. The manager is returned by
  /// pointer: it cannot move (handles point into it).
  static result<std::unique_ptr<basic_resource_manager>> create(const limits_type& limits = limits_type{}) {
    return create_as<basic_resource_manager>(limits);
  }
  basic_resource_manager(const basic_resource_manager&) = delete;
  basic_resource_manager& operator=(const basic_resource_manager&) = delete;

  /// Opens a per-object scope of kind K (a connection, a stream), reserving one connection (and a
  /// file descriptor if use_fd) or one stream in `dir` as the kind accounts. `parents` are the
  /// keys of its keyed parents bound at open and the handle of its owner, in edge order.
  template <class K, class... Parents>
  result<handle<K>> open(direction dir, bool use_fd, Parents&&... parents)
    requires detail::openable_with<core_type, K, Parents...>;

  /// open<K>, for a kind declared with carries<T> and no parents named at open: the new scope
  /// carries `data` (see carries<T> for the hooks T may declare; a kind with instead_of<> edges
  /// falls back to its alternative scopes when the regular ones refuse and
  /// data.take_alternative() agrees).
  template <class K, class Data>
  result<handle<K>> open_carrying(Data&& data, direction dir, bool use_fd)
    requires detail::openable_with<core_type, K> &&
             std::is_same_v<std::remove_cvref_t<Data>, typename detail::kind_traits<K>::carried>;
  /// open_carrying<K> whose data is written in place: `fill(T& data) noexcept -> result<void>` runs once
  /// the scope exists and before anything is charged (never when the manager is closed or out of
  /// storage). When fill fails, the open fails with its error and nothing is charged; whatever
  /// fill took it gives back itself (on_end() is not called). After a successful fill the data
  /// behaves as with open_carrying: on_end() when the scope ends, whatever way it ends.
  template <class K, class Fill>
  result<handle<K>> open_filling(Fill&& fill, direction dir, bool use_fd)
    requires detail::openable_with<core_type, K> &&
             std::is_invocable_r_v<result<void>, Fill&, typename detail::kind_traits<K>::carried&>;

  /// Calls f with a reference to the singleton scope K and returns what f returns.
  template <class K, class F>
    requires(detail::kind_traits<K>::shape == kind_shape::singleton)
  decltype(auto) view(F&& f) {
    ref<K> r(core_, &core_.template singleton<K>());
    return std::forward<F>(f)(r);
  }
  /// Calls f with a reference to the keyed scope K of `key` (created if needed, collected
  /// afterwards if it is idle) and returns what f returns. When `key` has no scope and one cannot
  /// be created, f gets an empty reference (its reservations fail with errc::not_attached) whose
  /// empty_reason() says why: too_many_scopes (bounded_storage or static_storage is full),
  /// out_of_memory (an allocation failed; nothing changed), invalid_argument (the key is longer
  /// than static_storage keeps inline). A key that cannot name any scope (an empty or too long
  /// peer id, an empty protocol id, say) gets f an empty reference whose reservations fail with
  /// errc::invalid_argument saying which bound the key broke.
  template <class K, class Key, class F>
    requires(detail::kind_traits<K>::shape == kind_shape::keyed)
  decltype(auto) view(const Key& key, F&& f) {
    ref<K> r = acquire<K>(key);
    return std::forward<F>(f)(r);
  }

  /// Usage of the singleton scope K.
  template <class K>
    requires(detail::kind_traits<K>::shape == kind_shape::singleton)
  scope_stat stat() const noexcept {
    return core_.template singleton<K>().rc.stat();
  }
  /// Usage of the keyed scope K of `key` if it is live, or std::nullopt. Unlike view(), this
  /// creates no scope, takes no reference and never fails for a full table: a read with no side
  /// effects (one lock of the kind's table).
  template <class K, class Key>
    requires(detail::kind_traits<K>::shape == kind_shape::keyed)
  std::optional<scope_stat> stat(const Key& key) const;
  /// The live scopes of a keyed or view kind with their usage: a vector of (key, scope_stat).
  template <class K>
  detail::list_type<K> list() const;
  /// How many scopes of a keyed or view kind are live.
  template <class K>
  std::size_t live_count() const;

  /// Replaces every limit, all or nothing. Reservations from now on see the new values; usage
  /// already above a lowered limit stays, and further reservations there fail until it falls.
  /// Refused with errc::invalid_argument when `limits` holds an invalid value (limits.check()),
  /// and with errc::out_of_memory when the per-key overrides cannot be copied; either way
  /// nothing changes.
  result<void> set_limits(const limits_type& limits);
  /// Replaces the default limit of K (the limit of a singleton or per-object kind). A negative
  /// value, or a value (other than unlimited or 0) for a resource K does not account, is refused
  /// with errc::invalid_argument and changes nothing.
  template <class K>
  result<void> set_limit(const limit_type_of<K>& l);
  /// Replaces (or adds) the limit of one key of a keyed or view kind. Refused like set_limit(l),
  /// also for a key that cannot name a scope, and with errc::out_of_memory when the override
  /// cannot be stored; a refusal changes nothing.
  template <class K, class Key>
  result<void> set_limit(const Key& key, const limit& l);
  /// The default limit of K in force.
  template <class K>
  limit_type_of<K> get_limit() const {
    return core_.template current_limit<K>();
  }

  /// Returns the memory pooled for reuse (free scope nodes) to the heap and shrinks every keyed
  /// table to what it holds. Tables and pools also give memory back by themselves as they empty;
  /// call this after a burst to return the rest at once. Nothing to do under static_storage.
  void trim() noexcept { core_.trim(); }
  /// What the manager's tables and node stores hold (nodes, heap bytes), e.g. to watch memory
  /// after a burst of peers.
  detail::storage_stats storage_stats() const noexcept { return core_.storage_stats(); }

  /// Stops opening scopes: open() fails with errc::manager_closed from now on. Scopes already
  /// open keep working and can still be ended.
  void close() noexcept { core_.close(); }
  bool closed() const noexcept { return core_.closed(); }

  /// Misuse seen so far (over-releases, negative releases).
  misuse_stats misuse() const noexcept { return core_.misuse(); }
  /// Installs a function called on every misuse (from the thread that misused). Set it before
  /// the manager is shared between threads.
  void on_misuse(void (*handler)(const misuse_event&, void*), void* user = nullptr) noexcept {
    core_.on_misuse(handler, user);
  }

  /// Debug builds (NDEBUG not defined) count the handles and references this manager gave out;
  /// destroying it while some are alive calls `h` with a line naming each kind and count (by
  /// default: print it and abort). Release builds count nothing and never call `h`.
  void set_outlived_handler(outlived_handler h, void* user = nullptr) noexcept { core_.set_outlived_handler(h, user); }

  /// The observer given as policy (rcmgr::observed_by<T>), e.g. to read its counters.
  observer_type& observer() noexcept { return core_.observer(); }

  core_type& core() noexcept { return core_; }

 protected:
  /// create() for a derived manager M whose constructor takes the limits.
  template <class M>
  static result<std::unique_ptr<M>> create_as(const limits_type& limits) {
    if (auto c = limits.check(); !c) return c.error();
#if defined(__cpp_exceptions)
    try {
      return std::unique_ptr<M>(new M(limits));
    } catch (const std::bad_alloc&) {
      error e;
      e.code = errc::out_of_memory;
      e.detail = "no memory for the manager";
      return e;
    }
#else
    std::unique_ptr<M> m(new (std::nothrow) M(limits));
    if (!m) {
      error e;
      e.code = errc::out_of_memory;
      e.detail = "no memory for the manager";
      return e;
    }
    return m;
#endif
  }

 private:
  /// A reference to the keyed scope of `key` (created if needed), or an empty one saying why
  /// there is none: the key was refused (key_problem_of), or the storage policy's capacity or the
  /// memory for the scope is exhausted.
  template <class K, class Key>
  ref<K> acquire(const Key& key);

  static const limits_type& checked(const limits_type& limits) noexcept {
    if (auto c = limits.check(); !c) {
#if RCMGR_BARE_METAL
      __builtin_trap();  // no stderr without stdio and its heap buffers (see detail/platform.hpp)
#else
      // Printed field by field: error::message() builds a std::string, and a firmware that never
      // fails here must not link it.
      const error& e = c.error();
      std::fputs("rcmgr: invalid limits given to the resource manager's constructor (use create() to get an error): ", stderr);
      std::fwrite(e.scope.kind.data(), 1, e.scope.kind.size(), stderr);
      if (!e.scope.key().empty()) {
        std::fputc(':', stderr);
        std::fwrite(e.scope.key().data(), 1, e.scope.key().size(), stderr);
      }
      std::fputc(' ', stderr);
      std::fwrite(e.detail.data(), 1, e.detail.size(), stderr);
      std::fputc('\n', stderr);
      std::abort();
#endif
    }
    return limits;
  }

  core_type core_;
};

// The members that enter the engine are defined out of the class body, so they are not inline:
// an explicit instantiation declaration (rcmgr/libp2p/extern_instance.hpp) then keeps every
// translation unit but one from instantiating the engine behind them.

template <scope_topology Topology, class... Policies>
RCMGR_DETAIL_ENGINE_ENTRY basic_resource_manager<Topology, Policies...>::basic_resource_manager(const limits_type& limits) : core_(checked(limits)) {}
template <scope_topology Topology, class... Policies>
RCMGR_DETAIL_ENGINE_ENTRY basic_resource_manager<Topology, Policies...>::~basic_resource_manager() = default;

template <scope_topology Topology, class... Policies>
template <class K, class... Parents>
RCMGR_DETAIL_ENGINE_ENTRY auto basic_resource_manager<Topology, Policies...>::open(direction dir, bool use_fd, Parents&&... parents)
    -> result<handle<K>>
  requires detail::openable_with<core_type, K, Parents...>
{
  auto r = core_.template open<K>(dir, use_fd, std::forward<Parents>(parents)...);
  if (!r) return r.error();
  return handle<K>(core_, *r);
}

template <scope_topology Topology, class... Policies>
template <class K, class Data>
RCMGR_DETAIL_ENGINE_ENTRY auto basic_resource_manager<Topology, Policies...>::open_carrying(Data&& data, direction dir, bool use_fd) -> result<handle<K>>
  requires detail::openable_with<core_type, K> &&
           std::is_same_v<std::remove_cvref_t<Data>, typename detail::kind_traits<K>::carried>
{
  auto r = core_.template open_carrying<K>(std::forward<Data>(data), dir, use_fd);
  if (!r) return r.error();
  return handle<K>(core_, *r);
}

template <scope_topology Topology, class... Policies>
template <class K, class Fill>
RCMGR_DETAIL_ENGINE_ENTRY auto basic_resource_manager<Topology, Policies...>::open_filling(Fill&& fill, direction dir, bool use_fd) -> result<handle<K>>
  requires detail::openable_with<core_type, K> &&
           std::is_invocable_r_v<result<void>, Fill&, typename detail::kind_traits<K>::carried&>
{
  auto r = core_.template open_filling<K>(fill, dir, use_fd);
  if (!r) return r.error();
  return handle<K>(core_, *r);
}

template <scope_topology Topology, class... Policies>
template <class K, class Key>
RCMGR_DETAIL_ENGINE_ENTRY auto basic_resource_manager<Topology, Policies...>::acquire(const Key& key) -> ref<K> {
  if (const key_problem kp = detail::key_problem_of<K>(key)) return ref<K>(kp);
  errc why{};
  auto* n = core_.template acquire<K>(key, why);
  return n != nullptr ? ref<K>(core_, n, detail::adopt_ref_t{}) : ref<K>(why);
}

template <scope_topology Topology, class... Policies>
template <class K, class Key>
  requires(detail::kind_traits<K>::shape == kind_shape::keyed)
RCMGR_DETAIL_ENGINE_ENTRY std::optional<scope_stat> basic_resource_manager<Topology, Policies...>::stat(const Key& key) const {
  return core_.template find_stat<K>(key);
}
template <scope_topology Topology, class... Policies>
template <class K>
RCMGR_DETAIL_ENGINE_ENTRY detail::list_type<K> basic_resource_manager<Topology, Policies...>::list() const {
  return core_.template list<K>();
}
template <scope_topology Topology, class... Policies>
template <class K>
RCMGR_DETAIL_ENGINE_ENTRY std::size_t basic_resource_manager<Topology, Policies...>::live_count() const {
  return core_.template live_count<K>();
}
template <scope_topology Topology, class... Policies>
RCMGR_DETAIL_ENGINE_ENTRY result<void> basic_resource_manager<Topology, Policies...>::set_limits(const limits_type& limits) {
  return core_.apply_limits(limits);
}
template <scope_topology Topology, class... Policies>
template <class K>
RCMGR_DETAIL_ENGINE_ENTRY result<void> basic_resource_manager<Topology, Policies...>::set_limit(const limit_type_of<K>& l) {
  return core_.template set_limit<K>(l);
}
template <scope_topology Topology, class... Policies>
template <class K, class Key>
RCMGR_DETAIL_ENGINE_ENTRY result<void> basic_resource_manager<Topology, Policies...>::set_limit(const Key& key, const limit& l) {
  return core_.template set_limit<K>(key, l);
}

/// A manager of a topology with a problem: the problem was reported where the topology is
/// declared, and this says so once. It has no members, so that nothing built on the broken
/// topology is instantiated (the engine and the limit set would bury the report in follow-on
/// errors about the offending kinds).
template <scope_topology Topology, class... Policies>
  requires(!Topology::valid)
class basic_resource_manager<Topology, Policies...> {
  static_assert(Topology::valid, "rcmgr: the topology has a problem, reported above where it is declared");

 public:
  template <class... Args>
  explicit basic_resource_manager(Args&&...) noexcept {}
};

}  // namespace rcmgr
