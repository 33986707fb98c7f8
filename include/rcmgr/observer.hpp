// Observing a manager: an audit trail of operations, logs of refusals, counters for metrics.
// An observer is a policy (`rcmgr::observed_by<T>`); the default observes nothing and compiles
// away. The observer is called synchronously, on the thread doing the operation, after the
// operation took effect; it must not call back into the manager.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <mutex>
#include <ostream>

#include "rcmgr/detail/platform.hpp"
#include "rcmgr/errors.hpp"
#include "rcmgr/resources.hpp"

namespace rcmgr {

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
  };
  type what = type::opened;
  scope_name scope;            ///< the scope operated on ("stream", "peer:12D3...")
  scope_name parent;           ///< for attach events: the parent attached
  std::int64_t memory = 0;     ///< bytes, for reserve/release events
  std::uint8_t prio = 0;       ///< for reserve events
  scope_stat released{};       ///< for ended: what the scope held when it ended
  const error* err = nullptr;  ///< for *_refused events

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

/// Policy: call an observer of type T (default-constructed, reachable with mgr.observer()).
template <scope_observer T>
struct observed_by {
  using rcmgr_observer_tag = void;
  using type = T;
};

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
  std::array<std::atomic<std::uint64_t>, 9> events_{};
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
