// Observing a manager: an audit trail of operations, logs of refusals, counters for metrics.
// An observer is a policy (`rcmgr::observed_by<T>`, or `rcmgr::observed_by<A, B, ...>` for several,
// each called for every event in the order given); the default observes nothing and compiles
// away. The observer is called synchronously, on the thread doing the operation, after the
// operation took effect (`ended`: just before the scope releases what it holds); it must not
// call back into the manager, except through the event's `path`.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <mutex>
#include <ostream>
#include <string_view>
#include <tuple>
#include <type_traits>

#include "rcmgr/detail/platform.hpp"
#include "rcmgr/errors.hpp"
#include "rcmgr/limits.hpp"
#include "rcmgr/resources.hpp"

namespace rcmgr {

/// The scopes an operated scope is charged to (itself first, then its owners for a span, then
/// every scope above, narrowest first), read on demand: for_each() reads the live counters of
/// each, so call it only from on_event (the scopes may be gone afterwards). Empty when the scope
/// has ended or its owner has.
struct scope_path {
  /// cb(ctx, name, usage now, object): object is the identity of a connection, stream or span
  /// on the path (see scope_event::object), null for shared scopes.
  using callback = void (*)(void* ctx, const scope_name& name, const scope_stat& usage, const void* object);
  using visit_fn = void (*)(const void* core, const void* node, std::uint8_t state, callback cb, void* ctx);
  const void* core = nullptr;
  const void* node = nullptr;
  std::uint8_t state = 0;
  visit_fn visit = nullptr;

  bool empty() const noexcept { return visit == nullptr; }
  /// Calls f(const scope_name&, const scope_stat&, const void* object) for each scope on the path.
  template <class F>
  void for_each(F&& f) const {
    using FF = std::remove_reference_t<F>;
    if (visit != nullptr)
      visit(core, node, state,
            [](void* ctx, const scope_name& n, const scope_stat& u, const void* o) { (*static_cast<FF*>(ctx))(n, u, o); },
            const_cast<void*>(static_cast<const void*>(&f)));
  }
};

/// One operation on a scope.
struct scope_event {
  enum class type : std::uint8_t {
    opened,           ///< open<K>() succeeded; `scope` is the new scope
    open_refused,     ///< open<K>() failed; `err` says why
    attached,         ///< set<P>() succeeded; `parent` names what was attached
    attach_refused,   ///< set<P>() failed; `err` says why
    reserved,         ///< reserve_memory succeeded; `memory` bytes
    reserve_refused,  ///< reserve_memory failed; `err` says why
    released,         ///< release_memory released `memory` bytes
    ended,            ///< done(): the scope ended, releasing `released`
    span_begun,       ///< begin_span() succeeded on `scope`
    // The lifetime of keyed and view scopes (peers, protocols, services, protocol-peer, ...).
    // They are not operations: an observer gets them only if its wants() asks for them.
    created,    ///< a keyed or view scope came into being (first referred to); `lim` is its limit
    destroyed,  ///< a keyed or view scope was collected (nothing refers to it, it holds nothing)
  };
  type what = type::opened;
  scope_name scope;            ///< the scope operated on ("stream", "peer:12D3...")
  scope_name parent;           ///< for attach events: the parent attached
  std::int64_t memory = 0;     ///< bytes, for reserve/release events
  std::uint8_t prio = 0;       ///< for reserve events
  scope_stat released{};       ///< for ended: what the scope held when it ended
  const error* err = nullptr;  ///< for *_refused events
  /// The connection, stream or span operated on (its address, unique while it lives; from
  /// `opened` to `ended`); null for shared scopes and for refused opens.
  const void* object = nullptr;
  direction dir = direction::inbound;  ///< for opened / open_refused: the direction asked
  bool fd = false;                     ///< for opened / open_refused: whether a file descriptor was asked
  scope_stat usage{};                  ///< for reserved / released / attached: `scope`'s usage after the operation
  scope_path path{};                   ///< what `scope` is charged to now (for a refused open: when a limit refused it, as it was then)
  scope_path before{};                 ///< for attached: what `scope` was charged to before
  /// For opened, open_refused (when a limit refused), span_begun and created: the scope's limit
  /// (a span's is its owner's), valid during on_event. Fields of resources the scope does not
  /// account (see `accounted`) do not apply.
  const limit* lim = nullptr;
  resource_set accounted{};  ///< with `lim`: the resources the scope accounts
  /// For refusals by a limit (err->code == limit_exceeded): the usage of the refusing scope
  /// (err->scope) when it refused, every resource (the error carries only the refused one).
  scope_stat refuser_usage{};
  /// For reserved, released and ended on a span whose owners are open: the kind of the
  /// per-object scope (or shared scope) at the root of its owner chain ("connection", "stream")
  /// and that scope's usage after the operation (for ended: before the span's release). Empty
  /// otherwise.
  std::string_view owner_kind{};
  scope_stat owner_usage{};

  scope_event() = default;
  scope_event(type t, const scope_name& s) noexcept : what(t), scope(s) {}
};

constexpr std::string_view to_string(scope_event::type t) noexcept {
  switch (t) {
    case scope_event::type::opened: return "opened";
    case scope_event::type::open_refused: return "open refused";
    case scope_event::type::attached: return "attached";
    case scope_event::type::attach_refused: return "attach refused";
    case scope_event::type::reserved: return "reserved";
    case scope_event::type::reserve_refused: return "reserve refused";
    case scope_event::type::released: return "released";
    case scope_event::type::ended: return "ended";
    case scope_event::type::span_begun: return "span begun";
    case scope_event::type::created: return "created";
    case scope_event::type::destroyed: return "destroyed";
  }
  return "?";
}

/// What an observer provides.
template <class T>
concept scope_observer = requires(T& o, const scope_event& e) { o.on_event(e); };

/// The default: observes nothing, costs nothing.
struct no_observer {
  static constexpr bool enabled = false;
  constexpr void on_event(const scope_event&) noexcept {}
};

namespace detail {
/// An observer is enabled unless it says `static constexpr bool enabled = false` (no_observer).
template <class T>
inline constexpr bool observer_enabled = true;
template <class T>
  requires requires { T::enabled; }
inline constexpr bool observer_enabled<T> = T::enabled;

/// Whether t is a lifetime event of a shared scope (created, destroyed) rather than an operation.
constexpr bool is_lifetime_event(scope_event::type t) noexcept {
  return t == scope_event::type::created || t == scope_event::type::destroyed;
}

/// Whether an observer wants events of type t on scopes of kind `kind` (scope_event::scope.kind).
/// An observer may declare `static constexpr bool wants(scope_event::type, std::string_view kind)`:
/// the manager then builds only the events it wants, and the others cost nothing (the test is
/// made at compile time, per operation and scope kind). Without it, an observer gets every
/// operation (every type but the lifetime events created and destroyed).
template <class T>
constexpr bool observer_wants(scope_event::type t, std::string_view kind) {
  if constexpr (!observer_enabled<T>) return false;
  else if constexpr (requires { T::wants(t, kind); }) return T::wants(t, kind);
  else return !is_lifetime_event(t);
}

/// Whether an observer wants events of type t on spans whose owner chain starts at a scope of
/// kind `owner_kind` (scope_event::owner_kind), beyond what wants(t, "span") says. An observer
/// may declare `static constexpr bool wants_span(scope_event::type, std::string_view owner_kind)`
/// to follow, say, the spans of connections only, so that spans of streams cost nothing.
template <class T>
constexpr bool observer_wants_span(scope_event::type t, std::string_view owner_kind) {
  if constexpr (!observer_enabled<T>) return false;
  else if constexpr (requires { T::wants_span(t, owner_kind); }) return T::wants_span(t, owner_kind);
  else return false;
}
/// Whether an observer gets event e (the run-time form of the two tests above).
template <class T>
bool observer_gets(const scope_event& e) {
  return observer_wants<T>(e.what, e.scope.kind) ||
         (e.scope.kind == "span" && !e.owner_kind.empty() && observer_wants_span<T>(e.what, e.owner_kind));
}
}  // namespace detail

/// Several observers, each called for every event in the order given. get<T>() reaches one.
/// A set whose members are all disabled is disabled too (and compiles away like no_observer).
template <scope_observer... Ts>
class observer_set {
 public:
  static constexpr bool enabled = (false || ... || detail::observer_enabled<Ts>);
  /// An event is built when any member wants it, and given to the members that want it.
  static constexpr bool wants(scope_event::type t, std::string_view kind) {
    return (false || ... || detail::observer_wants<Ts>(t, kind));
  }
  static constexpr bool wants_span(scope_event::type t, std::string_view owner_kind) {
    return (false || ... || detail::observer_wants_span<Ts>(t, owner_kind));
  }
  /// Whether T is one of the members.
  template <class T>
  static constexpr bool holds = (false || ... || std::is_same_v<T, Ts>);
  void on_event(const scope_event& e) {
    std::apply([&](auto&... o) { (notify(o, e), ...); }, members_);
  }
  template <class T>
  T& get() noexcept {
    return std::get<T>(members_);
  }
  template <class T>
  const T& get() const noexcept {
    return std::get<T>(members_);
  }

 private:
  template <class T>
  static void notify(T& o, const scope_event& e) {
    if constexpr (detail::observer_enabled<T>) {
      if (detail::observer_gets<T>(e)) o.on_event(e);
    }
  }
  [[no_unique_address]] std::tuple<Ts...> members_;
};

/// Policy: call observers of types Ts (default-constructed, reachable with mgr.observer()):
/// with one type, mgr.observer() is that observer; with several, an observer_set of them; with
/// none, nothing is observed.
template <scope_observer... Ts>
struct observed_by {
  using rcmgr_observer_tag = void;
  using type = observer_set<Ts...>;
};
template <scope_observer T>
struct observed_by<T> {
  using rcmgr_observer_tag = void;
  using type = T;
};
template <>
struct observed_by<> {
  using rcmgr_observer_tag = void;
  using type = no_observer;
};

/// The observer of type T inside a manager's observer (itself, or a member of an observer_set),
/// or nullptr if it has none.
template <class T, class O>
auto find_observer(O& o) noexcept -> std::conditional_t<std::is_const_v<O>, const T*, T*> {
  if constexpr (std::is_same_v<std::remove_const_t<O>, T>) return &o;
  else if constexpr (requires { std::remove_const_t<O>::template holds<T>; }) {
    if constexpr (std::remove_const_t<O>::template holds<T>) return &o.template get<T>();
    else return nullptr;
  } else {
    return nullptr;
  }
}

/// Counts events by type and refusals by resource; safe to share between threads. Feed these to
/// your metrics system (they are plain monotonically increasing counters).
class counting_observer {
 public:
  void on_event(const scope_event& e) noexcept {
    events_[static_cast<std::size_t>(e.what)].fetch_add(1, std::memory_order_relaxed);
    if (e.err != nullptr && e.err->code == errc::limit_exceeded)
      refusals_[static_cast<std::size_t>(e.err->res)].fetch_add(1, std::memory_order_relaxed);
  }
  std::uint64_t count(scope_event::type t) const noexcept {
    return events_[static_cast<std::size_t>(t)].load(std::memory_order_relaxed);
  }
  /// Reservations refused because of a limit on resource r.
  std::uint64_t refusals(resource r) const noexcept {
    return refusals_[static_cast<std::size_t>(r)].load(std::memory_order_relaxed);
  }

 private:
  std::array<std::atomic<std::uint64_t>, 11> events_{};
  std::array<std::atomic<std::uint64_t>, 4> refusals_{};
};

/// Writes one line per refusal (and, if `trace` is set, per operation) to a stream. Set the stream
/// before use; lines from different threads do not interleave.
class stream_logger {
 public:
  void attach(std::ostream& os, bool trace = false) noexcept {
    os_ = &os;
    trace_ = trace;
  }
  void on_event(const scope_event& e) {
    if (os_ == nullptr || (e.err == nullptr && !trace_)) return;
    std::lock_guard lk(mu_);
    *os_ << "rcmgr: " << to_string(e.what) << ' ';
    if (e.err != nullptr) *os_ << *e.err;
    else {
      *os_ << e.scope;
      if (e.what == scope_event::type::attached) *os_ << " to " << e.parent;
      if (e.memory != 0) *os_ << ' ' << e.memory << " B";
    }
    *os_ << '\n';
  }

 private:
  std::ostream* os_ = nullptr;
  bool trace_ = false;
  detail::system_mutex mu_;  // std::mutex where the library has threads
};

namespace detail {
template <class P>
concept observer_policy = requires { typename P::rcmgr_observer_tag; };
}  // namespace detail

}  // namespace rcmgr
