// rcmgr::prometheus::metrics_observer: the event-driven half of go-libp2p's resource manager
// metrics -- what cannot be read from the manager at scrape time: refusals
// (libp2p_rcmgr_blocked_resources) and the memory of each connection
// (libp2p_rcmgr_conn_memory and its previous_* twin). Everything else is read from the manager
// when scraped (rcmgr/prometheus/collector.hpp), so the reservation path pays only for what it
// must: a few relaxed atomic additions, and nothing at all for a successful reservation outside
// a connection. Needs no Prometheus library: the collector exports it.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "rcmgr/observer.hpp"

namespace rcmgr::prometheus {

/// go-libp2p's bucket boundaries (stats.go): counts per peer, and bytes.
inline constexpr std::array<double, 15> count_buckets{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 16, 32, 64, 128, 256};
inline constexpr std::array<double, 10> memory_buckets{
    1 << 10, 4 << 10, 32 << 10, 1 << 20, 32 << 20, 256 << 20, 512 << 20, 1 << 30, 2.0 * (1 << 30), 4.0 * (1 << 30)};

/// A histogram with fixed bucket boundaries, observed from any thread (relaxed atomics).
template <std::size_t N>
class atomic_histogram {
 public:
  explicit constexpr atomic_histogram(const std::array<double, N>& bounds) noexcept : bounds_(bounds) {}
  void observe(double v) noexcept {
    std::size_t i = 0;
    while (i < N && v > bounds_[i]) ++i;
    counts_[i].fetch_add(1, std::memory_order_relaxed);
    sum_.fetch_add(static_cast<std::int64_t>(v), std::memory_order_relaxed);
  }
  const std::array<double, N>& bounds() const noexcept { return bounds_; }
  /// Observations in bucket i (not cumulative); i == N is the +Inf bucket.
  std::uint64_t count(std::size_t i) const noexcept { return counts_[i].load(std::memory_order_relaxed); }
  /// Sum of the observed values (whole units).
  std::int64_t sum() const noexcept { return sum_.load(std::memory_order_relaxed); }

 private:
  std::array<double, N> bounds_;
  std::array<std::atomic<std::uint64_t>, N + 1> counts_{};
  std::atomic<std::int64_t> sum_{0};
};

/// Counts refusals and follows connection memory. Install it with
/// `rcmgr::observed_by<rcmgr::prometheus::metrics_observer>` (alone or with other observers)
/// and export it with rcmgr::prometheus::collector.
class metrics_observer {
 public:
  /// go's label values: dir is "inbound", "outbound" or "" (memory, fd); scope is the kind of the
  /// refusing scope as go names it ("system", "transient", "service", "protocol", "peer", "conn",
  /// "stream"; views count as their first component, as go's "protocol:X.peer:P" does); resource
  /// is "connection", "stream", "memory" or "fd".
  static constexpr std::array<std::string_view, 3> dir_labels{"inbound", "outbound", ""};
  static constexpr std::array<std::string_view, 8> scope_labels{"system", "transient", "service", "protocol",
                                                                 "peer",   "conn",      "stream",  "other"};
  static constexpr std::array<std::string_view, 4> resource_labels{"connection", "stream", "memory", "fd"};

  /// The events it reads: refusals, and the memory of connections, including what their spans
  /// reserve (as go-libp2p's conn_memory does). The manager builds no other event for it, so a
  /// reservation on a stream, a peer or a stream's span costs nothing more.
  static constexpr bool wants(scope_event::type t, std::string_view kind) noexcept {
    using T = scope_event::type;
    switch (t) {
      case T::open_refused:
      case T::attach_refused:
      case T::reserve_refused: return true;
      case T::reserved:
      case T::released:
      case T::ended: return kind == "connection";
      default: return false;
    }
  }
  static constexpr bool wants_span(scope_event::type t, std::string_view owner_kind) noexcept {
    using T = scope_event::type;
    return (t == T::reserved || t == T::released || t == T::ended) && owner_kind == "connection";
  }

  void on_event(const scope_event& e) noexcept {
    if (e.err != nullptr) {
      if (e.err->code == errc::limit_exceeded) count_refusal(e);
      return;
    }
    if (e.scope.kind == "connection") follow_connection(e);
    else if (e.scope.kind == "span" && e.owner_kind == "connection") follow_connection_span(e);
  }

  /// Blocked units (streams, connections, descriptors) or bytes (memory) for one series.
  std::uint64_t blocked(std::size_t dir, std::size_t scope, std::size_t res) const noexcept {
    return blocked_[index(dir, scope, res)].load(std::memory_order_relaxed);
  }
  /// Same, by label values; 0 for unknown ones.
  std::uint64_t blocked(std::string_view dir, std::string_view scope, std::string_view res) const noexcept {
    const auto d = find(dir_labels, dir), s = find(scope_labels, scope), r = find(resource_labels, res);
    return d < dir_labels.size() && s < scope_labels.size() && r < resource_labels.size() ? blocked(d, s, r) : 0;
  }
  /// Refusals seen (limit_exceeded only), whatever was refused.
  std::uint64_t refusals() const noexcept { return refusals_.load(std::memory_order_relaxed); }

  /// Memory of a connection each time it changes: `conn_memory` observes the new value (when not
  /// 0) and `previous_conn_memory` the old one (when not 0), so that their difference is the
  /// distribution of connections' memory now (go-libp2p's scheme).
  const atomic_histogram<memory_buckets.size()>& conn_memory() const noexcept { return conn_memory_; }
  const atomic_histogram<memory_buckets.size()>& previous_conn_memory() const noexcept { return previous_conn_memory_; }

 private:
  template <std::size_t N>
  static std::size_t find(const std::array<std::string_view, N>& a, std::string_view v) noexcept {
    std::size_t i = 0;
    while (i < N && a[i] != v) ++i;
    return i;
  }
  static constexpr std::size_t index(std::size_t dir, std::size_t scope, std::size_t res) noexcept {
    return (dir * scope_labels.size() + scope) * resource_labels.size() + res;
  }
  static std::size_t scope_label(std::string_view kind) noexcept {
    if (kind == "connection") return 5;
    if (kind == "service-peer") return 2;
    if (kind == "protocol-peer") return 3;
    const std::size_t i = find(scope_labels, kind);
    return i < scope_labels.size() ? i : 7;
  }
  void add(std::size_t dir, std::size_t scope, std::size_t res, std::int64_t n) noexcept {
    if (n > 0) blocked_[index(dir, scope, res)].fetch_add(static_cast<std::uint64_t>(n), std::memory_order_relaxed);
  }
  void count_refusal(const scope_event& e) noexcept {
    refusals_.fetch_add(1, std::memory_order_relaxed);
    const error& err = *e.err;
    const std::size_t scope = scope_label(err.scope.kind);
    const std::size_t dir = err.has_direction ? static_cast<std::size_t>(err.dir) : 2;
    if (e.what == scope_event::type::open_refused && e.scope.kind == "connection") {
      // go reports a refused connection as one connection in its direction and, when it asked
      // for one, one descriptor, whichever limit refused it.
      add(static_cast<std::size_t>(e.dir), scope, 0, 1);
      if (e.fd) add(2, scope, 3, 1);
      return;
    }
    switch (err.res) {
      case resource::conns: add(dir, scope, 0, err.attempted); break;
      case resource::streams: add(dir, scope, 1, err.attempted); break;
      case resource::memory: add(2, scope, 2, err.attempted); break;
      case resource::fd: add(2, scope, 3, err.attempted); break;
    }
  }
  void follow_connection(const scope_event& e) noexcept {
    using T = scope_event::type;
    std::int64_t now = 0, before = 0;
    if (e.what == T::reserved) {
      now = e.usage.memory;
      before = now - e.memory;
    } else if (e.what == T::released) {
      now = e.usage.memory;
      before = now + e.memory;
    } else if (e.what == T::ended) {
      before = e.released.memory;
    } else {
      return;
    }
    connection_memory_changed(before, now);
  }
  /// A span of a connection reserved or released: the connection's memory changed as much.
  void follow_connection_span(const scope_event& e) noexcept {
    using T = scope_event::type;
    const std::int64_t owner = e.owner_usage.memory;  // after the operation (ended: before the span's release)
    if (e.what == T::reserved) connection_memory_changed(owner - e.memory, owner);
    else if (e.what == T::released) connection_memory_changed(owner + e.memory, owner);
    else if (e.what == T::ended) connection_memory_changed(owner, owner - e.released.memory);
  }
  void connection_memory_changed(std::int64_t before, std::int64_t now) noexcept {
    if (before == now) return;
    if (before != 0) previous_conn_memory_.observe(static_cast<double>(before));
    if (now != 0) conn_memory_.observe(static_cast<double>(now));
  }

  std::array<std::atomic<std::uint64_t>, dir_labels.size() * scope_labels.size() * resource_labels.size()> blocked_{};
  std::atomic<std::uint64_t> refusals_{0};
  atomic_histogram<memory_buckets.size()> conn_memory_{memory_buckets};
  atomic_histogram<memory_buckets.size()> previous_conn_memory_{memory_buckets};
};

}  // namespace rcmgr::prometheus
