// Connection gating: what a node checks about a connection's remote address before charging it
// anywhere, as go-libp2p's resource manager does.
//   - connection rate limits: token buckets per subnet (IPv4 /32: 0.2/s, burst 16; IPv6 /56:
//     0.2/s, burst 16; IPv6 /48: 0.5/s, burst 80), network prefixes with their own bucket
//     (loopback: unlimited), and an optional global bucket;
//   - concurrent connections per subnet (IPv4 /32: 8; IPv6 /56: 8 and /48: 64), network prefixes
//     with their own count (loopback: unlimited; allowlisted networks: the allowlisted system
//     scope's connection limit), the most specific prefix first;
//   - the allowlist (rcmgr/allowlist.hpp), whose connections may use the allowlisted system and
//     transient scopes when the regular ones are full;
//   - verify_source_address(ip): whether a QUIC listener should make the client prove its
//     address before the handshake (true once the address's subnet has used half its
//     connection limit's worth of unverified handshakes, refilled at one per 10 s).
// rcmgr::gated_resource_manager (rcmgr/libp2p/gated_resource_manager.hpp) puts it in front of
// the libp2p topology; the pieces here can gate any topology.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <limits>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>
#if defined(__linux__)
#include <time.h>
#endif

#include "rcmgr/allowlist.hpp"
#include "rcmgr/detail/subnet_table.hpp"
#include "rcmgr/errors.hpp"
#include "rcmgr/multiaddr.hpp"
#include "rcmgr/resources.hpp"
#include "rcmgr/result.hpp"

namespace rcmgr {

/// At most `conns` concurrent connections from each subnet of `prefix_len` bits.
struct subnet_conn_limit {
  int prefix_len = 32;
  std::int64_t conns = 8;
};
/// At most `conns` concurrent connections from the whole of `network` (all its subnets share
/// the count). std::numeric_limits<std::int64_t>::max() is unlimited.
struct network_conn_limit {
  ip_prefix network;
  std::int64_t conns = 0;
};
/// A token bucket for each subnet of `prefix_len` bits.
struct subnet_rate_limit {
  int prefix_len = 32;
  rate_limit limit{};
};
/// One token bucket for the whole of `network`. A limit of 0 per second is unlimited.
struct network_rate_limit {
  ip_prefix network;
  rate_limit limit{};
};

namespace detail {
inline ip_prefix prefix_of(const char* text) noexcept {
  auto r = parse_multiaddr(text);
  ip_prefix p;
  if (r && r->ip) {
    p.len = r->cidr ? *r->cidr : r->ip->bits();
    p.addr = r->ip->masked(p.len);
  }
  return p;
}
/// A monotonic clock in nanoseconds. On Linux the coarse clock (a few ms of resolution, a few ns
/// to read): buckets refill at tenths of a token per second, so milliseconds are plenty.
inline std::int64_t steady_now_ns(void*) noexcept {
#if defined(__linux__) && defined(CLOCK_MONOTONIC_COARSE)
  timespec ts;
  if (clock_gettime(CLOCK_MONOTONIC_COARSE, &ts) == 0) return std::int64_t(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
#endif
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

/// A spin lock for the gate's tiny critical sections (a probe and a few additions, never an
/// allocation or a call out): cheaper than a futex-based mutex when uncontended.
class spin_lock {
 public:
  void lock() noexcept {
    while (flag_.exchange(true, std::memory_order_acquire))
      while (flag_.load(std::memory_order_relaxed)) std::this_thread::yield();
  }
  void unlock() noexcept { flag_.store(false, std::memory_order_release); }

 private:
  std::atomic<bool> flag_{false};
};
}  // namespace detail

/// Everything gating is configured by; the defaults are go-libp2p's.
struct gating_options {
  static constexpr std::int64_t unlimited = std::numeric_limits<std::int64_t>::max();
  /// go's defaultMaxConcurrentConns: a node dials a peer on at most 8 addresses at once.
  static constexpr std::int64_t max_concurrent_conns = 8;

  std::vector<subnet_conn_limit> ipv4_subnet_conns{{32, max_concurrent_conns}};
  std::vector<subnet_conn_limit> ipv6_subnet_conns{{56, max_concurrent_conns}, {48, 8 * max_concurrent_conns}};
  /// Networks counted as a whole instead of per subnet; the most specific match wins.
  std::vector<network_conn_limit> network_conns{{detail::prefix_of("/ip4/127.0.0.0/ipcidr/8"), unlimited},
                                                {detail::prefix_of("/ip6/::1"), unlimited}};

  std::vector<subnet_rate_limit> ipv4_subnet_rates{{32, {0.2, 2 * max_concurrent_conns}}};
  std::vector<subnet_rate_limit> ipv6_subnet_rates{{56, {0.2, 2 * max_concurrent_conns}},
                                                   {48, {0.5, 10 * max_concurrent_conns}}};
  /// Networks with their own bucket (every matching one must allow); an address inside one is
  /// exempt from the subnet buckets and the global one. Loopback: unlimited.
  std::vector<network_rate_limit> network_rates{{detail::prefix_of("/ip4/127.0.0.0/ipcidr/8"), {}},
                                                {detail::prefix_of("/ip6/::1"), {}}};
  /// One bucket shared by every address outside network_rates (0 per second: none).
  rate_limit global_rate{};

  /// Allowlist entries (multiaddr text) present from the start; more can be added at run time.
  std::vector<std::string> allowlist;

  /// Most (subnet, prefix length) entries tracked at once, for connection counts and buckets
  /// together. Allocated when the gate is built: about 400 bytes of memory each (two tables, the
  /// second for verify_source_address, each with a scratch copy for rebuilds, kept at most 3/4
  /// full, shards rounded up to a power of two). When it is full of live connections, new addresses are
  /// refused (errc::too_many_scopes); idle entries make room first.
  std::size_t max_tracked_subnets = 4096;

  /// The clock for token buckets, in nanoseconds (default: steady_clock). Tests inject one.
  std::int64_t (*now_ns)(void* user) = detail::steady_now_ns;
  void* clock_user = nullptr;
};

/// What a connection holds in the gate, released when it ends.
struct gate_ticket {
  ip_address ip;                                ///< the remote address (IPv4-mapped IPv6 unmapped)
  std::atomic<std::int64_t>* network = nullptr; ///< the network prefix counter it is counted in
  detail::subnet_ref subnets{};                 ///< where the per-subnet table counted it (count 0: not)
};

/// The gate: rate limits, connection counts per subnet and network, the allowlist, and source
/// address verification. Mutex guards the subnet table's shards and the network buckets.
template <class Mutex = std::mutex>
class gate {
 public:
  /// `allowlisted_conns`: the allowlisted system scope's total connection limit, the count an
  /// allowlisted network is held to (go-libp2p feeds its allowlist into its connection limiter).
  explicit gate(const gating_options& o = {}, std::int64_t allowlisted_conns = gating_options::unlimited)
      : opt_(o),
        allowlisted_conns_(allowlisted_conns),
        table_(levels(o.ipv4_subnet_conns, o.ipv4_subnet_rates), levels(o.ipv6_subnet_conns, o.ipv6_subnet_rates),
               o.max_tracked_subnets),
        verify_(verify_levels(o.ipv4_subnet_conns), verify_levels(o.ipv6_subnet_conns), o.max_tracked_subnets) {
    std::vector<allowlist_entry> entries;  // added in one change: one snapshot, not one per entry
    entries.reserve(o.allowlist.size());
    for (const auto& e : o.allowlist) {
      auto r = parse_allowlist_entry(e);
      if (!r && !bad_entry_) first_error_ = r.error();
      if (!r) bad_entry_ = true;
      else entries.push_back(*r);
    }
    if (!entries.empty()) allow_.add(std::span<const allowlist_entry>(entries));
    for (const auto& n : o.network_rates) {
      rate_nets_.push_back(std::make_unique<rate_net>());
      rate_nets_.back()->p = n;
    }
    std::stable_sort(rate_nets_.begin(), rate_nets_.end(),
                     [](const auto& a, const auto& b) { return a->p.network.len > b->p.network.len; });
    refresh_networks();
    // The verification limiter's networks are the connection limiter's as they are now (go
    // builds it once, after the allowlist was fed in): half the count as burst, 1 per 10 s.
    for (const auto* c : nets_.load()->list) {
      verify_nets_.push_back(std::make_unique<rate_net>());
      verify_nets_.back()->p = {c->network, {verify_rate, c->limit / 2}};
    }
  }
  gate(const gate&) = delete;
  gate& operator=(const gate&) = delete;

  /// False if an entry of options.allowlist did not parse; first_error() says which.
  bool ok() const noexcept { return !bad_entry_; }
  const error& first_error() const noexcept { return first_error_; }

  rcmgr::allowlist& allowlist() noexcept { return allow_; }
  const rcmgr::allowlist& allowlist() const noexcept { return allow_; }
  const gating_options& options() const noexcept { return opt_; }
  std::int64_t now() const noexcept {
    // the default clock called directly (inlined), an injected one through its pointer
    return opt_.now_ns == &detail::steady_now_ns ? detail::steady_now_ns(nullptr) : opt_.now_ns(opt_.clock_user);
  }

  /// Admits a connection from ip in direction dir: the rate limits first, then the connection
  /// counts (go's order). On success `t` says what to release when the connection ends.
  result<void> admit(const ip_address& raw, direction dir, gate_ticket& t) noexcept {
    // The ticket's address is the one gated; built in place (a temporary copy of the address
    // was reloaded whole right after its bytes were stored, stalling the store buffer).
    t.network = nullptr;
    t.subnets.count = 0;
    t.ip = raw;
    if (raw.v6) t.ip = raw.unmapped();
    const ip_address& ip = t.ip;
    // The address's keys, hashed once; this also starts loading its subnet entry, usually not in
    // cache, so the miss overlaps the clock read and the network checks below.
    const auto probe = table_.plan(ip);
    const std::int64_t now_ns = now();
    // The network list follows the allowlist; rebuilding it allocates, so it comes first: on
    // failure nothing is taken or counted yet (this function is noexcept).
    if (allow_.version() != nets_version_.load(std::memory_order_acquire)) {
#if defined(__cpp_exceptions)
      try {
        refresh_networks();
      } catch (...) {
        error e;
        e.code = errc::out_of_memory;
        e.res = resource::conns;
        e.dir = dir;
        e.has_direction = true;
        e.scope = scope_name("gate");
        e.detail = "rebuilding the network prefix list after an allowlist change";
        return e;
      }
#else
      refresh_networks();
#endif
    }
    // rate: network buckets (most specific first; every match must allow) exempt the subnets
    bool in_rate_net = false;
    for (const auto& n : rate_nets_) {
      if (!n->p.network.contains(ip)) continue;
      in_rate_net = true;
      if (n->p.limit.limited()) {
        std::lock_guard lk(n->mu);
        if (!n->started) n->bucket.start_full(n->p.limit, now_ns), n->started = true;
        if (!n->bucket.take(n->p.limit, now_ns)) return rate_error(n->p.network, n->p.limit, n->bucket, dir);
      }
    }
    // connections: the most specific network prefix, else the subnets
    const net_snapshot* ns = nets_.load(std::memory_order_acquire);
    conn_net* cn = nullptr;
    for (auto* c : ns->list)
      if (c->network.contains(ip)) {
        cn = c;
        break;
      }
    if (!in_rate_net || cn == nullptr) {
      detail::gate_refusal why;
      if (!table_.admit(probe, cn == nullptr, !in_rate_net, now_ns, why, t.subnets)) return refusal_error(why, dir);
    }
    if (!in_rate_net && opt_.global_rate.limited()) {
      std::lock_guard lk(global_mu_);
      if (!global_started_) global_.start_full(opt_.global_rate, now_ns), global_started_ = true;
      if (!global_.take(opt_.global_rate, now_ns)) {
        release(t);
        return rate_error({}, opt_.global_rate, global_, dir, true);
      }
    }
    if (cn != nullptr) {
      std::int64_t cur = cn->count.load(std::memory_order_relaxed);
      do {
        if (cur + 1 > cn->limit) {
          release(t);
          detail::gate_refusal why{detail::gate_refusal::what::conns, cn->network, cur, cn->limit};
          return refusal_error(why, dir);
        }
      } while (!cn->count.compare_exchange_weak(cur, cur + 1, std::memory_order_relaxed));
      t.network = &cn->count;
    }
    return {};
  }

  /// Releases what admit() counted. Idempotent on the ticket.
  void release(gate_ticket& t) noexcept {
    table_.release(t.ip, t.subnets);  // nothing when it was not counted there
    if (t.network != nullptr) t.network->fetch_sub(1, std::memory_order_relaxed);
    t.network = nullptr;
  }

  /// go's VerifySourceAddress: true when a handshake from ip should first prove the address
  /// (a QUIC Retry). Every call takes a token from the address's subnets' verification buckets
  /// (burst: half the subnet's connection limit, refilled at one per 10 s).
  bool verify_source_address(const ip_address& raw) noexcept {
    const ip_address ip = raw.unmapped();
    const std::int64_t now_ns = now();
    bool in_net = false;
    for (const auto& n : verify_nets_) {
      if (!n->p.network.contains(ip)) continue;
      in_net = true;
      std::lock_guard lk(n->mu);
      if (!n->started) n->bucket.start_full(n->p.limit, now_ns), n->started = true;
      if (!n->bucket.take(n->p.limit, now_ns)) return true;
    }
    if (in_net) return false;
    detail::gate_refusal why;
    detail::subnet_ref counted;  // rate only: nothing is counted
    return !verify_.admit(verify_.plan(ip), false, true, now_ns, why, counted);
  }

  /// Connections counted now for a subnet (at one of the configured prefix lengths) or network.
  /// A network is looked up in the allowlist as it is now (an allowlisted network added since
  /// the last connection is a network from now on, with its own count).
  std::int64_t conns_in(const ip_prefix& p) const noexcept {
    if (allow_.version() != nets_version_.load(std::memory_order_acquire)) {
#if defined(__cpp_exceptions)
      try {
        refresh_networks();
      } catch (...) {  // out of memory: answer from the network list in force
      }
#else
      refresh_networks();
#endif
    }
    for (const auto* c : nets_.load(std::memory_order_acquire)->list)
      if (c->network == p) return c->count.load(std::memory_order_relaxed);
    return table_.conns_of(p);
  }
  /// The network prefix connection limits in force, most specific first.
  std::vector<network_conn_limit> network_conn_limits() const {
    if (allow_.version() != nets_version_.load(std::memory_order_acquire)) refresh_networks();
    std::vector<network_conn_limit> out;
    for (const auto* c : nets_.load(std::memory_order_acquire)->list) out.push_back({c->network, c->limit});
    return out;
  }
  /// Entries in the subnet table now, and its capacity.
  std::size_t tracked_subnets() const noexcept { return table_.tracked(); }
  std::size_t subnet_capacity() const noexcept { return table_.capacity(); }
  /// Drops the state of idle subnets (no live connection, bucket full again). Runs by itself
  /// when a shard of the table fills up; call it from a timer to keep the table small.
  void sweep() noexcept {
    table_.sweep(now());
    verify_.sweep(now());
  }

 private:
  /// go: one token per 2 * handshake duration (5 s): 0.1 per second.
  static constexpr double verify_rate = 0.1;

  struct conn_net {
    ip_prefix network;
    std::int64_t limit = 0;
    std::atomic<std::int64_t> count{0};
  };
  struct net_snapshot {
    std::vector<conn_net*> list;  ///< most specific first
  };
  struct rate_net {
    network_rate_limit p;
    Mutex mu;
    detail::token_bucket bucket;
    bool started = false;
  };

  static std::vector<detail::subnet_level> levels(const std::vector<subnet_conn_limit>& c,
                                                  const std::vector<subnet_rate_limit>& r) {
    std::vector<detail::subnet_level> out;
    auto at = [&](int len) -> detail::subnet_level& {
      for (auto& l : out)
        if (l.len == len) return l;
      out.push_back({len, -1, {}});
      return out.back();
    };
    for (const auto& x : c) at(x.prefix_len).conns = x.conns;
    for (const auto& x : r) at(x.prefix_len).rate = x.limit;
    std::stable_sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.len > b.len; });
    return out;
  }
  static std::vector<detail::subnet_level> verify_levels(const std::vector<subnet_conn_limit>& c) {
    std::vector<detail::subnet_level> out;
    for (const auto& x : c) out.push_back({x.prefix_len, -1, {verify_rate, x.conns / 2}});
    std::stable_sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.len > b.len; });
    return out;
  }

  /// Rebuilds the network prefix list: the configured ones, then each peerless allowlist network
  /// not configured explicitly, held to the allowlisted system scope's connection limit.
  void refresh_networks() const {
    std::lock_guard lk(nets_mu_);
    const std::uint64_t v = allow_.version();
    if (nets_.load(std::memory_order_relaxed) != nullptr && v == nets_version_.load(std::memory_order_relaxed)) return;
    auto snap = std::make_unique<net_snapshot>();
    auto counter = [&](const ip_prefix& p, std::int64_t limit) {
      for (auto& c : all_nets_)
        if (c->network == p && c->limit == limit) return c.get();
      all_nets_.push_back(std::make_unique<conn_net>());
      all_nets_.back()->network = p;
      all_nets_.back()->limit = limit;
      return all_nets_.back().get();
    };
    for (const auto& n : opt_.network_conns) snap->list.push_back(counter(n.network, n.conns));
    const auto allowed_now = allow_.current();
    for (const auto& p : allowed_now.networks) {
      bool known = false;
      for (const auto& n : opt_.network_conns) known |= n.network == p;
      for (const auto* c : snap->list) known |= c->network == p;
      if (!known) snap->list.push_back(counter(p, allowlisted_conns_));
    }
    std::stable_sort(snap->list.begin(), snap->list.end(), [](const auto* a, const auto* b) { return a->network.len > b->network.len; });
    // Kept before it is published: if keeping it threw after publishing, readers would be left
    // with a freed snapshot.
    snapshots_.push_back(std::move(snap));
    nets_.store(snapshots_.back().get(), std::memory_order_release);
    nets_version_.store(v, std::memory_order_release);
  }

  static error rate_error(const ip_prefix& p, const rate_limit& l, const detail::token_bucket& b, direction dir,
                          bool global = false) noexcept {
    error e;
    e.code = errc::rate_limited;
    e.res = resource::conns;
    e.dir = dir;
    e.has_direction = true;
    e.attempted = 1;
    e.current = std::int64_t(b.tokens);
    e.limit_value = l.burst;
    char buf[scope_name::key_capacity + 8];  // 44 would do; this size keeps -Warray-bounds from guessing
    e.scope = global ? scope_name("rate") : scope_name("rate", std::string_view(buf, p.write(buf)));
    e.detail = global ? "the global connection bucket is empty" : "the network's connection bucket is empty";
    return e;
  }
  static error refusal_error(const detail::gate_refusal& why, direction dir) noexcept {
    error e;
    char buf[scope_name::key_capacity + 8];  // 44 would do; this size keeps -Warray-bounds from guessing
    const std::string_view subnet(buf, why.subnet.write(buf));
    e.dir = dir;
    e.has_direction = true;
    e.res = resource::conns;
    e.attempted = 1;
    e.current = why.current;
    e.limit_value = why.limit;
    switch (why.kind) {
      case detail::gate_refusal::what::conns:
        e.code = errc::limit_exceeded;
        e.scope = scope_name("subnet", subnet);
        break;
      case detail::gate_refusal::what::rate:
        e.code = errc::rate_limited;
        e.scope = scope_name("rate", subnet);
        e.detail = "the subnet's connection bucket is empty";
        break;
      default:
        e.code = errc::too_many_scopes;
        e.scope = scope_name("subnet", subnet);
        e.detail = "every tracked subnet has live connections (gating_options::max_tracked_subnets)";
        break;
    }
    return e;
  }

  gating_options opt_;
  std::int64_t allowlisted_conns_;
  rcmgr::allowlist allow_;
  detail::subnet_table<Mutex> table_;
  detail::subnet_table<Mutex> verify_;
  std::vector<std::unique_ptr<rate_net>> rate_nets_;
  std::vector<std::unique_ptr<rate_net>> verify_nets_;
  Mutex global_mu_;
  detail::token_bucket global_;
  bool global_started_ = false;
  // The network list follows the allowlist; queries refresh it too, hence mutable.
  mutable std::mutex nets_mu_;
  mutable std::atomic<const net_snapshot*> nets_{nullptr};
  mutable std::atomic<std::uint64_t> nets_version_{0};
  mutable std::vector<std::unique_ptr<net_snapshot>> snapshots_;  ///< every published one (readers may hold any)
  mutable std::vector<std::unique_ptr<conn_net>> all_nets_;       ///< counters outlive the snapshots naming them
  bool bad_entry_ = false;
  error first_error_{};
};

}  // namespace rcmgr
