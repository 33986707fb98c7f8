// Handles to scopes.
//   scope_handle<Core, K>  owns a per-object scope (a connection, a stream, a span): move-only,
//                          and ending it (done(), or the destructor) releases all it holds.
//   scope_ref<Core, K>     refers to a shared scope (system, transient, a service, a protocol, a
//                          peer, a view): copyable; while it lives, a keyed scope is not collected.
// Both carry the members the kind declares in its `methods<Handle>` template, which is how the
// libp2p kinds get set_peer(), set_protocol(), peer(), name() and so on.
#pragma once

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <type_traits>
#include <utility>

#include "rcmgr/detail/core.hpp"
#include "rcmgr/detail/platform.hpp"
#include "rcmgr/errors.hpp"
#include "rcmgr/resources.hpp"
#include "rcmgr/result.hpp"

/// How the members that enter the engine are defined out of their classes (here and in
/// rcmgr/manager.hpp): not inline, so that an explicit instantiation declaration
/// (rcmgr/libp2p/extern_instance.hpp) keeps them out of every translation unit but one; inline on
/// bare metal, which has no such instance and where the compiler then folds them into their
/// callers (the firmware's code size).
#if RCMGR_BARE_METAL
#define RCMGR_DETAIL_ENGINE_ENTRY inline
#else
#define RCMGR_DETAIL_ENGINE_ENTRY
#endif

namespace rcmgr {

template <class Core, class K>
class scope_ref;
template <class Core, class K>
class scope_handle;

namespace detail {
inline error empty_handle_error(std::string_view kind) noexcept {
  error e;
  e.code = errc::scope_closed;
  e.scope = scope_name(kind);
  e.detail = "empty handle (moved from, or never opened)";
  return e;
}
struct adopt_ref_t {};

// Constraints of the public API, so that a wrong call is "no matching function" naming the
// unsatisfied concept (and can be probed with `requires`), not an error deep in the engine.

/// P is a late parent of K (edge<K, P, late> or after<Q>): handles of K have set<P>().
template <class Core, class K, class P>
concept late_parent_of = Core::graph::late_bit(Core::template index<K>, Core::template index<P>) >= 0;

/// What set<P>() takes: the key of a keyed parent, nothing for a singleton.
template <class P, class... Key>
concept attach_key_for =
    (sizeof...(Key) == 0 && kind_traits<P>::shape == kind_shape::singleton) ||
    (sizeof...(Key) == 1 && kind_traits<P>::shape == kind_shape::keyed && (std::is_constructible_v<key_type_of<P>, const Key&> && ...));

template <class Core, int P, class Arg>
constexpr bool open_argument_fits() noexcept {
  using PK = typename Core::template kind_at<P>;
  using A = std::remove_cvref_t<Arg>;
  if constexpr (kind_traits<PK>::shape == kind_shape::keyed) return std::is_constructible_v<key_type_of<PK>, const A&>;
  else return requires(const A& a) { { a.rcmgr_node() } -> std::convertible_to<node<Core, PK>*>; };
}
template <class Core, class K, class... Args, std::size_t... J>
constexpr bool open_arguments_fit(std::index_sequence<J...>) noexcept {
  [[maybe_unused]] constexpr auto parents = Core::template open_parent_indices<K>();
  return (open_argument_fits<Core, parents[J], Args>() && ...);
}

// The checks of open<K>(dir, use_fd, args...) are named concepts whose template arguments spell
// out the expectation, so that a wrong call's diagnostic reads, e.g.,
//   required for the satisfaction of 'open_argument_must_be<3, client_scope, std::string, int>'
// (the 3rd argument of open names client_scope and must convert to its key, std::string; an int
// was given) or 'open_argument_count_is<request_scope, arguments<1>, arguments<0>>' (one parent
// argument expected, none given).

/// What an argument naming parent PK must be: the key of a keyed parent, or a handle of the owner.
template <class PK>
struct handle_of {};
template <class Core, int P>
using open_expected_t = std::conditional_t<kind_traits<typename Core::template kind_at<P>>::shape == kind_shape::keyed,
                                           key_type_of<typename Core::template kind_at<P>>,
                                           handle_of<typename Core::template kind_at<P>>>;
template <class Core, class K, std::size_t I>
inline constexpr int open_parent_at = Core::template open_parent_indices<K>()[I];
template <class Core, class K>
inline constexpr std::size_t open_parent_count = Core::template open_parent_indices<K>().size();

/// The argument at (1-based) Position of open<K>(dir, use_fd, ...) names parent Parent and must
/// convert to Expected; Got was given.
struct no_argument {};
template <class Expected, class Got>
inline constexpr bool open_argument_matches = std::is_constructible_v<Expected, const Got&>;
template <>
inline constexpr bool open_argument_matches<no_argument, no_argument> = true;
template <class PK, class Got>
inline constexpr bool open_argument_matches<handle_of<PK>, Got> = requires {
  requires std::is_same_v<typename Got::kind, PK>;
};
template <std::size_t Position, class Parent, class Expected, class Got>
inline constexpr bool open_argument_matches_at = open_argument_matches<Expected, Got>;
template <class K, class Expected, class Given>
inline constexpr bool open_argument_count_is = Expected::value == Given::value;

/// The argument at (1-based) Position of open<K>(dir, use_fd, ...) names parent Parent and must
/// convert to Expected (a key type, or handle_of<owner kind>); Got was given.
template <std::size_t Position, class Parent, class Expected, class Got>
concept open_argument_must_be = open_argument_matches_at<Position, Parent, Expected, Got>;
/// open<K> takes Expected::value parent arguments (keys of keyed parents, then the owner's
/// handle, in edge order); Given::value were passed. (Types rather than numbers, so that
/// compilers print the numbers in the diagnostic.)
template <class K, class Expected, class Given>
concept open_argument_count = open_argument_count_is<K, Expected, Given>;
template <std::size_t N>
using arguments = std::integral_constant<std::size_t, N>;

/// Argument I of a call of open<K>: the parent it names, what it must be, what it is (all
/// no_argument past the end of either list: nothing to check).
template <class Core, class K, std::size_t I, class... Args>
struct open_argument {
  using parent = no_argument;
  using expected = no_argument;
  using got = no_argument;
};
template <class Core, class K, std::size_t I, class... Args>
  requires(I < sizeof...(Args) && I < open_parent_count<Core, K>)
struct open_argument<Core, K, I, Args...> {
  using parent = typename Core::template kind_at<open_parent_at<Core, K, I>>;
  using expected = open_expected_t<Core, open_parent_at<Core, K, I>>;
  using got = std::remove_cvref_t<nth<I, Args...>>;
};
template <class Core, class K, std::size_t I, class... Args>
concept open_argument_ok =
    open_argument_must_be<I + 3, typename open_argument<Core, K, I, Args...>::parent,
                          typename open_argument<Core, K, I, Args...>::expected, typename open_argument<Core, K, I, Args...>::got>;

template <class Core, class K, class... Args>
concept open_arguments_ok = open_argument_ok<Core, K, 0, Args...> && open_argument_ok<Core, K, 1, Args...> &&
                            open_argument_ok<Core, K, 2, Args...> && open_argument_ok<Core, K, 3, Args...> &&
                            (sizeof...(Args) <= 4 || open_arguments_fit<Core, K, Args...>(std::index_sequence_for<Args...>{}));

/// K is a per-object kind of Core's topology (not a span), and Args are its keyed parents' keys
/// and its owner's handle, in edge order: open<K>(dir, use_fd, args...) exists.
template <class Core, class K, class... Args>
concept openable_with = scope_kind<K> && (Core::template index<K> >= 0) && is_per_object<K> && !kind_traits<K>::is_span &&
                        open_argument_count<K, arguments<open_parent_count<Core, K>>, arguments<sizeof...(Args)>> &&
                        open_arguments_ok<Core, K, Args...>;
}  // namespace detail

/// Owning handle of a per-object scope. The scope ends when done() is called or the handle is
/// destroyed, whichever comes first; after that every reservation fails with errc::scope_closed,
/// releases do nothing and stat() is all zeros. An empty (moved-from) handle behaves the same.
template <class Core, class K>
class scope_handle : public K::template methods<scope_handle<Core, K>> {
  using node_type = detail::node<Core, K>;
  using graph = typename Core::graph;

 public:
  using kind = K;
  using core_type = Core;

  scope_handle() noexcept = default;
  scope_handle(Core& c, node_type* n) noexcept : core_(&c), node_(n) {
    if (node_ != nullptr) core_->template live_opened<K>();
  }
  scope_handle(scope_handle&& o) noexcept : core_(o.core_), node_(std::exchange(o.node_, nullptr)) {}
  scope_handle& operator=(scope_handle&& o) noexcept {
    if (this != &o) {
      reset();
      core_ = o.core_;
      node_ = std::exchange(o.node_, nullptr);
    }
    return *this;
  }
  scope_handle(const scope_handle&) = delete;
  scope_handle& operator=(const scope_handle&) = delete;
  ~scope_handle() { reset(); }

  /// Reserves `size` bytes in this scope and every scope it is charged to, all or nothing. A
  /// reservation at priority p fails once a scope would exceed (p + 1) / 256 of its limit.
  result<void> reserve_memory(std::int64_t size, std::uint8_t prio = priority::always) noexcept;
  /// Releases memory reserved on this scope. Releasing more than was reserved here releases what
  /// there is and is reported as misuse (see basic_resource_manager::misuse()).
  void release_memory(std::int64_t size) noexcept;
  /// Current usage of this scope (including what its spans hold).
  scope_stat stat() const noexcept { return node_ != nullptr ? node_->rc.stat() : scope_stat{}; }

  /// Opens a span on this scope: a child scope whose reservations are charged through this one.
  result<scope_handle<Core, span_of<K>>> begin_span();

  /// Ends the scope and releases everything it holds. Idempotent.
  void done() noexcept;
  /// True once done() was called (or for an empty handle).
  bool is_done() const noexcept { return node_ == nullptr || node_->done; }
  /// False for an empty (default-constructed or moved-from) handle.
  explicit operator bool() const noexcept { return node_ != nullptr; }

  /// Attaches the late parent P (libp2p: set_peer, set_protocol, set_service): moves everything
  /// this scope holds to the scopes P brings in, at priority always, and out of those it leaves
  /// (e.g. transient). On failure nothing moves and the call may be retried.
  template <class P, class... Key>
    requires detail::late_parent_of<Core, K, P> && detail::attach_key_for<P, Key...>
  result<void> set(const Key&... key);

  /// The *direct* parent of kind P this scope is attached to now (libp2p: its peer, protocol or
  /// service), or an empty reference when it is not attached to one. Ancestors reached only
  /// through a parent (system, for a stream) are not direct parents: view them with view<K>().
  template <class P>
  scope_ref<Core, P> parent() const {
    constexpr int i = Core::template index<K>, p = Core::template index<P>;
    static_assert(p >= 0, "parent<P>: P is not a kind of this topology");
    if (node_ == nullptr || node_->done) return {};
    if (!(direct_masks()[node_->state] & detail::bit(p))) return {};
    if constexpr (detail::kind_traits<P>::shape == kind_shape::singleton) {
      return scope_ref<Core, P>(*core_, &core_->template singleton<P>());
    } else {
      constexpr int slot = graph::slot(i, p);
      static_assert(slot >= 0, "parent<P>: P is never a parent of this kind");
      return scope_ref<Core, P>(*core_, static_cast<detail::node<Core, P>*>(node_->parents[std::size_t(slot)]));
    }
  }

  /// True while the scope is charged to its alternative scopes (edge<K, Alt, instead_of<P>>;
  /// libp2p: a connection let in through the allowlist).
  bool in_alternative() const noexcept {
    if constexpr (Core::graph::alt_bit(Core::template index<K>) >= 0) return node_ != nullptr && !node_->done && Core::template in_alternative<K>(*node_);
    else return false;
  }
  /// The data the scope carries (carries<T>), e.g. a gated connection's remote address. (A
  /// member template, so that an explicit instantiation of the class leaves it out where the
  /// kind carries nothing.)
  template <class Kind = K>
    requires(!std::is_same_v<typename detail::kind_traits<Kind>::carried, no_carry>)
  const auto& carried() const noexcept {
    return node_->data;
  }

  /// Names the scope in messages ("stream", "connection", "span").
  scope_name id() const { return scope_name(detail::kind_traits<K>::name); }

  /// The node behind the handle (for open<K>(..., owner_handle) and for tests).
  node_type* rcmgr_node() const noexcept { return node_; }
  /// The engine the node belongs to (for rcmgr::memory_reservation); null for an empty handle.
  Core* rcmgr_core() const noexcept { return node_ != nullptr ? core_ : nullptr; }

 private:
  static constexpr auto direct_masks() {
    constexpr int i = Core::template index<K>;
    if constexpr (i >= 0) {
      std::array<detail::mask_t, std::size_t(graph::state_count(i))> m{};
      for (unsigned s = 0; s < m.size(); ++s) m[s] = graph::direct_reported(i, s);
      return m;
    } else {
      return std::array<detail::mask_t, 1>{};
    }
  }
  void reset() noexcept;

  Core* core_ = nullptr;
  node_type* node_ = nullptr;
};

/// Reference to a shared scope. Keeps a keyed scope alive while it exists.
template <class Core, class K>
class scope_ref : public K::template methods<scope_ref<Core, K>> {
  using node_type = detail::node<Core, K>;

 public:
  using kind = K;
  using core_type = Core;

  scope_ref() noexcept = default;
  /// An empty reference that says why it is empty (see empty_reason()).
  explicit scope_ref(errc why) noexcept : why_(why) {}
  /// Takes a new reference to n.
  scope_ref(Core& c, node_type* n) noexcept : core_(&c), node_(n) {
    if (node_ != nullptr) core_->template add_ref<K>(node_), core_->template live_opened<K>();
  }
  /// Adopts a reference the caller already holds.
  scope_ref(Core& c, node_type* n, detail::adopt_ref_t) noexcept : core_(&c), node_(n) {
    if (node_ != nullptr) core_->template live_opened<K>();
  }
  /// An empty reference standing for a key that was refused: its reservations and spans fail
  /// with errc::invalid_argument saying why (empty_reason() is invalid_argument).
  explicit scope_ref(const key_problem& why) noexcept : why_(errc::invalid_argument), refused_key_(why) {}
  scope_ref(const scope_ref& o) noexcept : core_(o.core_), node_(o.node_), why_(o.why_), refused_key_(o.refused_key_) {
    if (node_ != nullptr) core_->template add_ref<K>(node_), core_->template live_opened<K>();
  }
  scope_ref(scope_ref&& o) noexcept
      : core_(o.core_), node_(std::exchange(o.node_, nullptr)), why_(o.why_), refused_key_(o.refused_key_) {}
  scope_ref& operator=(scope_ref o) noexcept {
    std::swap(core_, o.core_);
    std::swap(node_, o.node_);
    std::swap(why_, o.why_);
    std::swap(refused_key_, o.refused_key_);
    return *this;
  }
  ~scope_ref() { drop(); }

  /// Reserves memory directly in this scope (and the scopes it is charged to).
  result<void> reserve_memory(std::int64_t size, std::uint8_t prio = priority::always) noexcept;
  /// Releases memory reserved directly in this scope; over-releases are clamped and reported.
  void release_memory(std::int64_t size) noexcept;
  /// Current usage of this scope, including everything charged to it from below; all zeros for
  /// an empty reference.
  scope_stat stat() const noexcept { return node_ != nullptr ? node_->rc.stat() : scope_stat{}; }
  /// Opens a span on this scope.
  result<scope_handle<Core, span_of<K>>> begin_span();
  /// The key of a keyed scope; for an empty reference, a default-constructed key (an empty
  /// peer id, an empty string), like go-libp2p's null scopes. (A key type that cannot be
  /// default-constructed makes key() of an empty reference abort.) Member templates, so that an
  /// explicit instantiation of the class, which some compilers extend to members whose
  /// constraints fail, leaves them out.
  template <class Kind = K>
    requires(detail::kind_traits<Kind>::shape == kind_shape::keyed)
  const auto& key() const noexcept {
    if (node_ == nullptr) return empty_key<typename detail::node<Core, Kind>::key_type>();
    return node_->key;
  }
  /// The keys of a view's two components; default-constructed keys for an empty reference.
  template <class Kind = K>
    requires(detail::kind_traits<Kind>::shape == kind_shape::view)
  auto keys() const {
    using A = typename detail::kind_traits<Kind>::shape_option::first;
    using B = typename detail::kind_traits<Kind>::shape_option::second;
    if (node_ == nullptr)
      return std::pair{empty_key<typename detail::node<Core, A>::key_type>(), empty_key<typename detail::node<Core, B>::key_type>()};
    return std::pair{node_->a->key, node_->b->key};
  }
  /// Names the scope in messages ("peer:12D3KooW...").
  scope_name id() const;
  /// False for an empty reference (e.g. the peer of a connection whose peer is not set yet).
  explicit operator bool() const noexcept { return node_ != nullptr; }
  /// Why an empty reference is empty: not_attached (no such parent, moved from, default), or
  /// what refused to create the scope for view_*(key, f): too_many_scopes, out_of_memory or
  /// invalid_argument. Meaningless for a non-empty reference.
  errc empty_reason() const noexcept { return why_; }

  node_type* rcmgr_node() const noexcept { return node_; }
  /// The engine the node belongs to (for rcmgr::memory_reservation); null for an empty reference.
  Core* rcmgr_core() const noexcept { return node_ != nullptr ? core_ : nullptr; }

 private:
  void drop() noexcept;
  static error not_attached() noexcept {
    error e;
    e.code = errc::not_attached;
    e.scope = scope_name(detail::kind_traits<K>::name);
    e.detail = "empty scope reference (the scope is not attached)";
    return e;
  }
  template <class Key>
  static const Key& empty_key() noexcept {
    if constexpr (std::is_default_constructible_v<Key>) {
      static const Key k{};
      return k;
    } else {
      detail::bad_result_access("key() of an empty scope reference, whose key type has no empty value");
    }
  }
  error empty_error() const noexcept {
    return refused_key_ ? detail::key_error(detail::kind_traits<K>::name, refused_key_) : not_attached();
  }

  Core* core_ = nullptr;
  node_type* node_ = nullptr;
  errc why_ = errc::not_attached;
  key_problem refused_key_{};  ///< for an empty reference: the key that was refused, if that is why
};

// The members that enter the engine are defined out of the class body, so they are not inline:
// an explicit instantiation declaration (rcmgr/libp2p/extern_instance.hpp) then keeps every
// translation unit but one from instantiating the engine behind them. The compiler still
// inlines them where it sees fit.

template <class Core, class K>
RCMGR_DETAIL_ENGINE_ENTRY result<void> scope_handle<Core, K>::reserve_memory(std::int64_t size, std::uint8_t prio) noexcept {
  if (node_ == nullptr) return detail::empty_handle_error(detail::kind_traits<K>::name);
  return core_->template reserve_memory<K>(*node_, size, prio);
}
template <class Core, class K>
RCMGR_DETAIL_ENGINE_ENTRY void scope_handle<Core, K>::release_memory(std::int64_t size) noexcept {
  if (node_ != nullptr) core_->template release_memory<K>(*node_, size);
}
template <class Core, class K>
RCMGR_DETAIL_ENGINE_ENTRY result<scope_handle<Core, span_of<K>>> scope_handle<Core, K>::begin_span() {
  if (node_ == nullptr) return detail::empty_handle_error(detail::kind_traits<K>::name);
  auto r = core_->template begin_span<K>(*node_);
  if (!r) return r.error();
  return scope_handle<Core, span_of<K>>(*core_, *r);
}
template <class Core, class K>
RCMGR_DETAIL_ENGINE_ENTRY void scope_handle<Core, K>::done() noexcept {
  if (node_ != nullptr) core_->template end<K>(*node_);
}
template <class Core, class K>
template <class P, class... Key>
  requires detail::late_parent_of<Core, K, P> && detail::attach_key_for<P, Key...>
RCMGR_DETAIL_ENGINE_ENTRY result<void> scope_handle<Core, K>::set(const Key&... key) {
  if (node_ == nullptr) return detail::empty_handle_error(detail::kind_traits<K>::name);
  return core_->template attach<K, P>(*node_, key...);
}
template <class Core, class K>
RCMGR_DETAIL_ENGINE_ENTRY void scope_handle<Core, K>::reset() noexcept {
  if (node_ != nullptr) {
    // End the scope first: spans and owned children also hold references to the node, and
    // the scope must not stay charged until they end.
    core_->template end<K>(*node_);
    core_->template release_object<K>(node_);
    core_->template live_closed<K>();
    node_ = nullptr;
  }
}

template <class Core, class K>
RCMGR_DETAIL_ENGINE_ENTRY result<void> scope_ref<Core, K>::reserve_memory(std::int64_t size, std::uint8_t prio) noexcept {
  if (node_ == nullptr) return empty_error();
  return core_->template reserve_memory<K>(*node_, size, prio);
}
template <class Core, class K>
RCMGR_DETAIL_ENGINE_ENTRY void scope_ref<Core, K>::release_memory(std::int64_t size) noexcept {
  if (node_ != nullptr) core_->template release_memory<K>(*node_, size);
}
template <class Core, class K>
RCMGR_DETAIL_ENGINE_ENTRY result<scope_handle<Core, span_of<K>>> scope_ref<Core, K>::begin_span() {
  if (node_ == nullptr) return empty_error();
  auto r = core_->template begin_span<K>(*node_);
  if (!r) return r.error();
  return scope_handle<Core, span_of<K>>(*core_, *r);
}
template <class Core, class K>
RCMGR_DETAIL_ENGINE_ENTRY scope_name scope_ref<Core, K>::id() const {
  return node_ != nullptr ? core_->template name_of<K>(*node_) : scope_name(detail::kind_traits<K>::name);
}
template <class Core, class K>
RCMGR_DETAIL_ENGINE_ENTRY void scope_ref<Core, K>::drop() noexcept {
  if (node_ != nullptr) core_->template release_ref<K>(node_), core_->template live_closed<K>();
}

}  // namespace rcmgr
