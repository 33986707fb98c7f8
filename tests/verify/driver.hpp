// Drives a real rcmgr::resource_manager and the reference model (model.hpp) with the same calls,
// and compares after every call: the outcome (success, or the error code, the scope named and,
// for limit errors, the resource, direction, numbers and priority), the usage of every scope
// (system, transient, every live peer, protocol, service, protocol-peer and service-peer, every
// handle and every held reference), which scopes exist, the misuse counters, and the invariants
// (no scope above its limit; every scope's usage equals what its children and its own
// reservations put there). The calls come from a `source`: a seeded generator for the
// differential test, the fuzzer's bytes for fuzz/fuzz_api.cpp.
#pragma once

#include <array>
#include <cstdint>
#include <iostream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "rcmgr/libp2p/gated_resource_manager.hpp"
#include "rcmgr/rcmgr.hpp"
#include "verify/model.hpp"

namespace verify {

namespace lp = rcmgr::libp2p;

// ---- sources of decisions ----------------------------------------------------------------------

/// splitmix64: a tiny generator whose output is the same on every platform and library, so a
/// seed replays exactly.
struct rng_source {
  std::uint64_t s;
  explicit rng_source(std::uint64_t seed) : s(seed) {}
  std::uint64_t next() {
    std::uint64_t z = (s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  std::uint64_t below(std::uint64_t n) { return n == 0 ? 0 : next() % n; }
  bool exhausted() const { return false; }
};

/// Decisions read from a byte string (the fuzzer's input): one byte per small choice, eight for
/// a large one. Once the bytes run out every choice is 0 and exhausted() is true.
struct byte_source {
  const std::uint8_t* data;
  std::size_t size;
  std::size_t pos = 0;
  std::uint64_t below(std::uint64_t n) {
    if (n <= 1) return 0;
    const int bytes = n <= 256 ? 1 : n <= 65536 ? 2 : 8;
    std::uint64_t v = 0;
    for (int i = 0; i < bytes; ++i) v = (v << 8) | (pos < size ? data[pos++] : 0u);
    return v % n;
  }
  bool exhausted() const { return pos >= size; }
};

// ---- the model's vocabulary in engine types ---------------------------------------------------

inline rcmgr::limit to_engine(const lim& l) {
  rcmgr::limit r;
  r.streams_inbound = l.streams_in, r.streams_outbound = l.streams_out, r.streams = l.streams;
  r.conns_inbound = l.conns_in, r.conns_outbound = l.conns_out, r.conns = l.conns;
  r.fd = l.fd, r.memory = l.memory;
  return r;
}
inline rcmgr::direction to_engine(dir d) { return d == dir::in ? rcmgr::direction::inbound : rcmgr::direction::outbound; }
inline use from_engine(const rcmgr::scope_stat& s) {
  use u;
  u.memory = s.memory, u.streams_in = s.streams_inbound, u.streams_out = s.streams_outbound;
  u.conns_in = s.conns_inbound, u.conns_out = s.conns_outbound, u.fd = s.fd;
  return u;
}
inline std::string show(const use& u) {
  std::ostringstream os;
  os << "{mem " << u.memory << ", streams " << u.streams_in << '/' << u.streams_out << ", conns " << u.conns_in << '/'
     << u.conns_out << ", fd " << u.fd << '}';
  return os.str();
}
inline const char* code_name(outcome::code_t c) {
  switch (c) {
    case outcome::ok: return "ok";
    case outcome::limit_exceeded: return "limit_exceeded";
    case outcome::scope_closed: return "scope_closed";
    case outcome::invalid_argument: return "invalid_argument";
    case outcome::already_attached: return "already_attached";
    case outcome::not_attached: return "not_attached";
    case outcome::manager_closed: return "manager_closed";
    case outcome::other: return "other";
    case outcome::rate_limited: return "rate_limited";
  }
  return "?";
}
inline outcome::code_t from_engine(rcmgr::errc e) {
  switch (e) {
    case rcmgr::errc::limit_exceeded: return outcome::limit_exceeded;
    case rcmgr::errc::scope_closed: return outcome::scope_closed;
    case rcmgr::errc::invalid_argument: return outcome::invalid_argument;
    case rcmgr::errc::already_attached: return outcome::already_attached;
    case rcmgr::errc::not_attached: return outcome::not_attached;
    case rcmgr::errc::manager_closed: return outcome::manager_closed;
    case rcmgr::errc::rate_limited: return outcome::rate_limited;
    default: return outcome::other;  // errors the model never expects (e.g. a storage cap)
  }
}
inline res from_engine(rcmgr::resource r) {
  switch (r) {
    case rcmgr::resource::memory: return res::memory;
    case rcmgr::resource::streams: return res::streams;
    case rcmgr::resource::conns: return res::conns;
    case rcmgr::resource::fd: return res::fd;
  }
  return res::memory;
}

/// Compares an engine error (or success, e == nullptr) with the model's outcome; "" when equal.
inline std::string compare(const rcmgr::error* e, const outcome& o) {
  std::ostringstream os;
  if (e == nullptr) {
    if (o.code == outcome::ok) return {};
    os << "engine succeeded, model says " << code_name(o.code) << " at " << o.scope;
    return os.str();
  }
  if (o.code == outcome::ok) {
    os << "engine failed (" << *e << "), model says ok";
    return os.str();
  }
  bool same = from_engine(e->code) == o.code && e->scope.str() == o.scope;
  if (same && (o.code == outcome::limit_exceeded || o.code == outcome::rate_limited)) {
    same = from_engine(e->res) == o.what && e->has_direction == o.has_dir && e->total == o.total &&
           e->current == o.current && e->attempted == o.attempted && e->limit_value == o.limit && e->prio == o.prio &&
           (!o.has_dir || e->dir == to_engine(o.d));
  }
  if (same) return {};
  os << "engine error (" << code_name(from_engine(e->code)) << ") " << *e << " [dir " << int(e->dir) << " has_dir "
     << e->has_direction << " total " << e->total << " prio " << int(e->prio) << "]; model: " << code_name(o.code)
     << " at " << o.scope;
  if (o.code == outcome::limit_exceeded || o.code == outcome::rate_limited)
    os << " res " << int(o.what) << " dir " << int(o.d) << " has_dir " << o.has_dir << " total " << o.total << " current "
       << o.current << " attempted " << o.attempted << " limit " << o.limit << " prio " << o.prio;
  return os.str();
}
inline std::string compare(const rcmgr::result<void>& r, const outcome& o) { return compare(r ? nullptr : &r.error(), o); }

/// Limits of every kind plus per-key overrides: one manager's configuration.
struct config {
  lim defaults[9];
  struct override_entry {
    kind k;
    std::string key;
    lim l;
  };
  std::vector<override_entry> overrides;
};

inline const std::array<const char*, 4> peers{"p0", "p1", "p2", "p3"};
inline const std::array<const char*, 3> protocols{"/a", "/b", "/c"};
inline const std::array<const char*, 2> services{"s0", "s1"};

/// Small limits, so that refusals are frequent; sometimes unlimited or zero (block all).
template <class Src>
lim random_limit(Src& src, i64 count, i64 memory) {
  auto pick = [&](i64 typical) -> i64 {
    switch (src.below(16)) {
      case 0: return no_limit;
      case 1: return 0;
      default: return 1 + i64(src.below(std::uint64_t(typical)));
    }
  };
  lim l;
  l.streams_in = pick(count), l.streams_out = pick(count), l.streams = pick(count + count / 2);
  l.conns_in = pick(count), l.conns_out = pick(count), l.conns = pick(count + count / 2);
  l.fd = pick(count);
  l.memory = src.below(24) == 0 ? no_limit : src.below(40) == 0 ? 0 : pick(memory);
  if (src.below(32) == 0) l.memory = INT64_MAX - i64(src.below(3));  // near the top of the range
  return l;
}

/// l with the fields of resources kind k does not account left unlimited: the one form a
/// limit_set and set_limit accept (a count there would be refused as meaningless).
inline lim canonical_for(kind k, lim l) {
  const bool counts_conns = k == kind::system || k == kind::transient || k == kind::peer || k == kind::connection;
  const bool counts_streams = k != kind::connection;
  if (!counts_conns) l.conns_in = l.conns_out = l.conns = l.fd = no_limit;
  if (!counts_streams) l.streams_in = l.streams_out = l.streams = no_limit;
  return l;
}

template <class Src>
config random_config(Src& src) {
  config c;
  const bool wide = src.below(8) == 0;  // sometimes everything is unlimited: the overflow edge
  for (int k = 0; k < 9; ++k) {
    const i64 count = k == int(kind::system) ? 10 : k >= int(kind::connection) ? 1 : 4;
    const i64 memory = k == int(kind::system) ? 4000 : k == int(kind::transient) ? 1500 : 1000;
    c.defaults[k] = wide ? lim{} : canonical_for(kind(k), random_limit(src, count, memory));
  }
  const int n = int(src.below(4));
  for (int i = 0; i < n; ++i) {
    config::override_entry e;
    switch (src.below(5)) {
      case 0: e.k = kind::peer, e.key = peers[src.below(peers.size())]; break;
      case 1: e.k = kind::protocol, e.key = protocols[src.below(protocols.size())]; break;
      case 2: e.k = kind::service, e.key = services[src.below(services.size())]; break;
      case 3: e.k = kind::protocol_peer, e.key = protocols[src.below(protocols.size())]; break;
      default: e.k = kind::service_peer, e.key = services[src.below(services.size())]; break;
    }
    e.l = canonical_for(e.k, random_limit(src, 4, 1000));
    c.overrides.push_back(e);
  }
  return c;
}

// ---- connection gating (the gated manager's sequences) ------------------------------------------

/// The gate of a gated sequence: small subnet and network limits, rate limits on a clock the
/// sequence steps, an allowlist, and the allowlisted scopes' limits.
struct gating_config {
  rcmgr::gating_options options;
  lim al_system, al_transient;
};
struct test_clock {
  std::int64_t ns = 0;
  static std::int64_t now(void* u) noexcept { return static_cast<test_clock*>(u)->ns; }
};
/// Endpoints of gated opens: subnets shared by several addresses, an allowlisted network, an
/// address allowlisted for one peer only, a network with its own count, loopback, IPv6 /56s of
/// one /48, an IPv4-mapped address, and endpoints without an address (no gating).
inline const std::array<const char*, 18> gated_endpoints{
    "/ip4/10.2.0.1/tcp/2",        "/ip4/10.2.0.2/tcp/1",
    "/ip4/10.1.0.1/tcp/1",        "/ip4/10.1.7.2/tcp/1",          "/ip4/10.2.0.1/tcp/1",     "/ip4/10.3.0.1/tcp/1",
    "/ip4/10.3.0.2/udp/1/quic-v1", "/ip4/192.0.2.1/tcp/1",        "/ip4/192.0.2.2/tcp/1",    "/ip4/192.0.3.1/tcp/1",
    "/ip4/127.0.0.1/tcp/1",       "/ip6/2001:db8:1::1/tcp/1",     "/ip6/2001:db8:2::1/tcp/1", "/ip6/2001:db8:2:100::1/tcp/1",
    "/ip6/::ffff:192.0.2.1/tcp/1", "/dns4/example.com/tcp/443",   "",                        "/ip6/::1/tcp/1"};
/// Allowlist entries added and removed during a sequence (p0 and p1 are driver peers).
inline const std::array<const char*, 4> allow_entries{"/ip4/192.0.2.0/ipcidr/24", "/ip4/10.3.0.1/p2p/p1",
                                                      "/ip6/2001:db8:2::/ipcidr/48", "/ip4/10.1.0.0/ipcidr/16"};

template <class Src>
gating_config random_gating(Src& src, test_clock* clock) {
  gating_config g;
  auto& o = g.options;
  auto small = [&](i64 most) { return i64(1 + src.below(std::uint64_t(most))); };
  o.ipv4_subnet_conns = {{32, small(3)}, {24, small(4)}};
  o.ipv6_subnet_conns = {{56, small(3)}, {48, small(4)}};
  o.network_conns.push_back({rcmgr::parse_allowlist_entry("/ip4/10.3.0.0/ipcidr/16")->network, small(3)});
  o.ipv4_subnet_rates = {{32, {1.0, small(5)}}};
  o.ipv6_subnet_rates = {{56, {1.0, small(5)}}, {48, {2.0, small(6)}}};
  o.global_rate = src.below(2) ? rcmgr::rate_limit{8.0, small(12)} : rcmgr::rate_limit{};
  o.allowlist = {"/ip4/10.1.0.0/ipcidr/16", "/ip4/10.2.0.0/ipcidr/24/p2p/p0", "/ip6/2001:db8:1::/ipcidr/48"};
  o.now_ns = &test_clock::now;
  o.clock_user = clock;
  g.al_system = canonical_for(kind::system, random_limit(src, 4, 4000));
  g.al_transient = canonical_for(kind::transient, random_limit(src, 3, 1500));
  return g;
}

/// Calls f(kind, std::type_identity<EngineKind>) for every kind of the libp2p topology.
template <class F>
void for_each_kind(F&& f) {
  f(kind::system, std::type_identity<lp::system_scope>{});
  f(kind::transient, std::type_identity<lp::transient_scope>{});
  f(kind::service, std::type_identity<lp::service_scope>{});
  f(kind::protocol, std::type_identity<lp::protocol_scope>{});
  f(kind::peer, std::type_identity<lp::peer_scope>{});
  f(kind::service_peer, std::type_identity<lp::service_peer_scope>{});
  f(kind::protocol_peer, std::type_identity<lp::protocol_peer_scope>{});
  f(kind::connection, std::type_identity<lp::connection_scope>{});
  f(kind::stream, std::type_identity<lp::stream_scope>{});
}
template <class F>
void with_kind(kind k, F&& f) {
  for_each_kind([&](kind x, auto t) {
    if (x == k) f(t);
  });
}

inline lp::limits engine_limits(const config& c) {
  lp::limits ls;
  for_each_kind([&](kind k, auto t) {
    using K = typename decltype(t)::type;
    ls.template set<K>(to_engine(c.defaults[int(k)]));
  });
  for (const auto& o : c.overrides) {
    switch (o.k) {
      case kind::peer: ls.set<lp::peer_scope>(rcmgr::peer_id(o.key), to_engine(o.l)); break;
      case kind::protocol: ls.set<lp::protocol_scope>(o.key, to_engine(o.l)); break;
      case kind::service: ls.set<lp::service_scope>(o.key, to_engine(o.l)); break;
      case kind::protocol_peer: ls.set<lp::protocol_peer_scope>(o.key, to_engine(o.l)); break;
      case kind::service_peer: ls.set<lp::service_peer_scope>(o.key, to_engine(o.l)); break;
      default: break;
    }
  }
  return ls;
}
inline void apply(model& m, const config& c) {
  for (int k = 0; k < 9; ++k) m.defaults[k] = c.defaults[k], m.overrides[k].clear();
  for (const auto& o : c.overrides) m.overrides[int(o.k)][o.key] = o.l;
}

// ---- type-erased spans and references (spans of spans have a type per depth) -----------------

inline constexpr int max_span_depth = 3;

struct any_span {
  virtual ~any_span() = default;
  virtual rcmgr::result<void> reserve(i64 n, std::uint8_t prio) = 0;
  virtual void release(i64 n) = 0;
  virtual rcmgr::scope_stat stat() const = 0;
  virtual void done() = 0;
  virtual bool is_done() const = 0;
  virtual bool empty() const = 0;
  virtual int depth() const = 0;
  /// Begins a span on this one; nullptr and `e` set on failure.
  virtual std::unique_ptr<any_span> begin(rcmgr::error& e) = 0;
  /// Moves the handle into a new box, leaving this one empty.
  virtual std::unique_ptr<any_span> take() = 0;
  /// Move-assigns `from`'s handle (of the same type) into this one.
  virtual bool assign_from(any_span& from) = 0;
};

template <class H, int Depth>
struct span_box final : any_span {
  H h;
  explicit span_box(H&& x) : h(std::move(x)) {}
  rcmgr::result<void> reserve(i64 n, std::uint8_t prio) override { return h.reserve_memory(n, prio); }
  void release(i64 n) override { h.release_memory(n); }
  rcmgr::scope_stat stat() const override { return h.stat(); }
  void done() override { h.done(); }
  bool is_done() const override { return h.is_done(); }
  bool empty() const override { return !h; }
  int depth() const override { return Depth; }
  std::unique_ptr<any_span> begin(rcmgr::error& e) override {
    if constexpr (Depth < max_span_depth) {
      auto r = h.begin_span();
      if (!r) {
        e = r.error();
        return nullptr;
      }
      using C = std::remove_cvref_t<decltype(*r)>;
      return std::make_unique<span_box<C, Depth + 1>>(std::move(*r));
    } else {
      e = rcmgr::error{};
      return nullptr;
    }
  }
  std::unique_ptr<any_span> take() override { return std::make_unique<span_box>(std::move(h)); }
  bool assign_from(any_span& from) override {
    auto* f = dynamic_cast<span_box*>(&from);
    if (f == nullptr) return false;
    h = std::move(f->h);
    return true;
  }
};
template <class H>
std::unique_ptr<any_span> box_span(H&& h) {
  return std::make_unique<span_box<std::remove_cvref_t<H>, 1>>(std::forward<H>(h));
}

struct any_ref {
  virtual ~any_ref() = default;
  virtual rcmgr::result<void> reserve(i64 n, std::uint8_t prio) = 0;
  virtual void release(i64 n) = 0;
  virtual rcmgr::scope_stat stat() const = 0;
  virtual std::unique_ptr<any_span> begin(rcmgr::error& e) = 0;
  virtual bool empty() const = 0;
  virtual std::string name() const = 0;
};
template <class R>
struct ref_box final : any_ref {
  R r;
  explicit ref_box(const R& x) : r(x) {}
  rcmgr::result<void> reserve(i64 n, std::uint8_t prio) override { return r.reserve_memory(n, prio); }
  void release(i64 n) override { r.release_memory(n); }
  rcmgr::scope_stat stat() const override { return r.stat(); }
  std::unique_ptr<any_span> begin(rcmgr::error& e) override {
    auto s = r.begin_span();
    if (!s) {
      e = s.error();
      return nullptr;
    }
    return box_span(std::move(*s));
  }
  bool empty() const override { return !r; }
  std::string name() const override { return r.id().str(); }
};
template <class R>
std::unique_ptr<any_ref> box_ref(const R& r) {
  return std::make_unique<ref_box<R>>(r);
}

// ---- the driver ---------------------------------------------------------------------------------

/// What a reservation, release or span is aimed at.
struct aim {
  enum class cat { conn, stream, span, ref } c = cat::conn;
  int slot = 0;
};

/// Gated: drive rcmgr::gated_resource_manager (connections opened from endpoints, through the
/// gate and the allowlisted scopes) instead of rcmgr::resource_manager.
template <class Policy, class Storage = rcmgr::hashed_storage, bool Gated = false>
class driver {
 public:
  using mgr_t = std::conditional_t<Gated, rcmgr::gated_resource_manager<Policy, Storage>, rcmgr::resource_manager<Policy, Storage>>;
  using conn_t = typename mgr_t::connection;
  using stream_t = typename mgr_t::stream;
  static constexpr int n_conns = 4, n_streams = 4, n_spans = 6, n_refs = 4;

  explicit driver(const config& c)
    requires(!Gated)
      : mgr_(engine_limits(c)) {
    init(c);
  }
  driver(const config& c, const gating_config& g)
    requires Gated
      : gcfg_(with_clock(g, &clock_)), mgr_(limits_for(c), gcfg_.options) {
    init(c);
    m_.enable_gating(gcfg_.options, gcfg_.al_system, gcfg_.al_transient);
    if (!mgr_.gating().ok()) fail("the gate refused its allowlist");
  }

  // ---- statistics ----
  std::uint64_t steps = 0;       ///< calls made (each compared)
  std::uint64_t refusals = 0;    ///< calls refused by a limit
  std::uint64_t state_errors = 0;
  bool verbose = false;          ///< print every call and the system and transient usage after it
  /// Gated sequences: how often each gating rule decided a call (the tests require each > 0).
  struct gate_coverage {
    std::uint64_t rate = 0, subnet = 0, allowlisted_opens = 0, moved_out = 0, gated_opens = 0;
  } gate_cov;
  const std::string& failure() const { return fail_; }
  mgr_t& manager() { return mgr_; }
  const model& reference() const { return m_; }

  /// Runs `count` random calls from `src` (fewer if it runs dry), then ends everything and
  /// checks that nothing is left. Returns "" or the first disagreement.
  template <class Src>
  std::string run(Src& src, int count) {
    check_all();
    for (int i = 0; i < count && fail_.empty() && !src.exhausted(); ++i) step(src);
    if (fail_.empty()) quiesce();
    return fail_;
  }

  /// The last calls made, oldest first (for failure reports).
  std::string recent() const {
    std::ostringstream os;
    for (std::size_t i = trace_.size() > 40 ? trace_.size() - 40 : 0; i < trace_.size(); ++i) os << "  " << trace_[i] << '\n';
    return os.str();
  }

  // ---- one random call ----
  template <class Src>
  void step(Src& src) {
    if constexpr (Gated) {
      if (src.below(10) == 0) return gated_step(src);
    }
    switch (src.below(40)) {
      case 0: case 1: case 2: {
        const int ep = Gated ? int(src.below(gated_endpoints.size())) : -1;
        op_open_conn(int(src.below(n_conns)), src.below(2) ? dir::in : dir::out, src.below(3) != 0, ep);
        break;
      }
      case 3: case 4:
        op_set_peer(int(src.below(n_conns)), peers[src.below(peers.size())]);
        break;
      case 5: case 6: case 7:
        op_open_stream(int(src.below(n_streams)), peers[src.below(peers.size())], src.below(2) ? dir::in : dir::out);
        break;
      case 8: case 9: case 10:
        op_set_protocol(int(src.below(n_streams)), protocols[src.below(protocols.size())]);
        break;
      case 11: case 12:
        op_set_service(int(src.below(n_streams)), services[src.below(services.size())]);
        break;
      case 13: case 14: case 15: case 16: case 17: case 18:
        op_reserve(pick_aim(src), size(src), prio(src));
        break;
      case 19: case 20: case 21: case 22: {
        aim a = pick_aim(src);
        op_release(a, release_size(src, a));
        break;
      }
      case 23: case 24:
        op_span(pick_aim(src), int(src.below(n_spans)));
        break;
      case 25: case 26: case 27: {
        const int c = int(src.below(3));
        op_done(c == 0 ? aim::cat::conn : c == 1 ? aim::cat::stream : aim::cat::span,
                int(src.below(c == 2 ? n_spans : n_conns)));
        break;
      }
      case 28: {
        const int c = int(src.below(3));
        const int n = c == 2 ? n_spans : n_conns;
        op_move(c == 0 ? aim::cat::conn : c == 1 ? aim::cat::stream : aim::cat::span, int(src.below(n)), int(src.below(n)));
        break;
      }
      case 29: {
        const int c = int(src.below(3));
        op_destroy(c == 0 ? aim::cat::conn : c == 1 ? aim::cat::stream : aim::cat::span, int(src.below(c == 2 ? n_spans : n_conns)));
        break;
      }
      case 30: case 31:
        if (src.below(2)) op_hold_parent(aim::cat::conn, int(src.below(n_conns)), src.below(2) ? kind::peer : kind::transient, int(src.below(n_refs)));
        else op_hold_parent(aim::cat::stream, int(src.below(n_streams)), stream_parent_kinds[src.below(6)], int(src.below(n_refs)));
        break;
      case 32: {
        const int w = int(src.below(5));
        op_hold_view(w, view_key(src, w), int(src.below(n_refs)));
        break;
      }
      case 33:
        op_drop(int(src.below(n_refs)));
        break;
      case 34: case 35: case 36: {
        const int w = int(src.below(5));
        const std::string key = view_key(src, w);
        switch (src.below(3)) {
          case 0: op_view_reserve(w, key, size(src), prio(src)); break;
          case 1: op_view_release(w, key, view_release_size(src, w, key)); break;
          default: op_view_span(w, key, int(src.below(n_spans))); break;
        }
        break;
      }
      case 37: case 38: {
        kind k = kind(src.below(9));
        const lim l = canonical_for(k, random_limit(src, k == kind::system ? 10 : k >= kind::connection ? 1 : 4, k == kind::system ? 4000 : 1000));
        std::string key;
        if (src.below(2)) {
          if (k == kind::peer) key = peers[src.below(peers.size())];
          if (k == kind::protocol || k == kind::protocol_peer) key = protocols[src.below(protocols.size())];
          if (k == kind::service || k == kind::service_peer) key = services[src.below(services.size())];
        }
        op_set_limit(k, key, l);
        break;
      }
      default:
        if (src.below(64) == 0) op_close();
        else if (src.below(16) == 0) op_set_limits(random_config(src));
        else op_check_parents(int(src.below(n_streams)));
        break;
    }
  }

  // ---- calls, each made on both sides and compared ----

  /// ep: an index into gated_endpoints (gated sequences), or -1.
  void op_open_conn(int slot, dir d, bool fd, int ep = -1) {
    const std::string_view text = ep >= 0 ? std::string_view(gated_endpoints[std::size_t(ep)]) : std::string_view{};
    note("open_connection slot " + std::to_string(slot) + (d == dir::in ? " in" : " out") + (fd ? " fd" : "") +
         (ep >= 0 ? " from '" + std::string(text) + "'" : std::string{}));
    auto r = [&] {
      if constexpr (Gated) return mgr_.open_connection(to_engine(d), fd, text);
      else return mgr_.open_connection(to_engine(d), fd);
    }();
    std::optional<rcmgr::ip_address> ip;
    if (!text.empty()) ip = rcmgr::parse_multiaddr(text)->ip;
    outcome o;
    const int id = m_.open_connection(d, fd, o, ip);
    if (ip) {
      ++gate_cov.gated_opens;
      gate_cov.rate += o.code == outcome::rate_limited;
      gate_cov.subnet += o.code == outcome::limit_exceeded && o.scope.rfind("subnet:", 0) == 0;
      gate_cov.allowlisted_opens += id >= 0 && m_.objects[std::size_t(id)].alt;
    }
    if (!expect(compare(r ? nullptr : &r.error(), o), o)) return;
    if (r) {
      end_model(conn_id_[slot]);
      conns_[slot] = std::move(*r);
      conn_id_[slot] = id;
    }
    after();
  }
  void op_set_peer(int slot, const std::string& p) {
    note("set_peer slot " + std::to_string(slot) + " " + p);
    auto r = conns_[slot].set_peer(rcmgr::peer_id(p));
    const int id = conn_id_[slot];
    const bool was_alt = id >= 0 && m_.objects[std::size_t(id)].alt;
    const outcome o = m_.set_peer(obj(id, kind::connection), p);
    gate_cov.moved_out += was_alt && !m_.objects[std::size_t(id)].alt;
    expect(compare(r, o), o);
    after();
  }

  // ---- gated sequences only: the clock and the allowlist ----
  template <class Src>
  void gated_step(Src& src) {
    if (src.below(3) != 0) {
      const i64 ms = i64(src.below(3000));
      note("clock +" + std::to_string(ms) + " ms");
      clock_.ns += ms * 1'000'000;
      m_.gate.now = clock_.ns;
      after();
      return;
    }
    const std::string e = allow_entries[src.below(allow_entries.size())];
    const auto entry = *rcmgr::parse_allowlist_entry(e);
    if (src.below(2)) {
      note("allowlist add " + e);
      if (auto r = mgr_.allowlist().add(e); !r) fail("allowlist add refused " + e);
      m_.gate.allow.push_back(entry);
    } else {
      note("allowlist remove " + e);
      auto r = mgr_.allowlist().remove(e);
      auto& a = m_.gate.allow;
      auto it = std::find(a.rbegin(), a.rend(), entry);
      const bool had = it != a.rend();
      if (had) a.erase(std::next(it).base());
      if (!r || *r != had) fail("allowlist remove " + e + ": engine and model disagree on whether it was there");
    }
    m_.gate.build_networks();
    after();
  }
  void op_open_stream(int slot, const std::string& p, dir d) {
    note("open_stream slot " + std::to_string(slot) + " " + p + (d == dir::in ? " in" : " out"));
    auto r = mgr_.open_stream(rcmgr::peer_id(p), to_engine(d));
    outcome o;
    const int id = m_.open_stream(p, d, o);
    if (!expect(compare(r ? nullptr : &r.error(), o), o)) return;
    if (r) {
      end_model(stream_id_[slot]);
      streams_[slot] = std::move(*r);
      stream_id_[slot] = id;
    }
    after();
  }
  void op_set_protocol(int slot, const std::string& x) {
    note("set_protocol slot " + std::to_string(slot) + " " + x);
    auto r = streams_[slot].set_protocol(x);
    const outcome o = m_.set_protocol(obj(stream_id_[slot], kind::stream), x);
    expect(compare(r, o), o);
    after();
  }
  void op_set_service(int slot, const std::string& s) {
    note("set_service slot " + std::to_string(slot) + " " + s);
    auto r = streams_[slot].set_service(s);
    const outcome o = m_.set_service(obj(stream_id_[slot], kind::stream), s);
    expect(compare(r, o), o);
    after();
  }

  void op_reserve(aim a, i64 n, int prio) {
    if (!usable(a)) return;
    note("reserve " + describe(a) + " " + std::to_string(n) + " prio " + std::to_string(prio));
    auto r = reserve_on(a, n, std::uint8_t(prio));
    const outcome o = m_.reserve(model_target(a), n, prio);
    expect(compare(r, o), o);
    after();
  }
  void op_release(aim a, i64 n) {
    if (!usable(a)) return;
    note("release " + describe(a) + " " + std::to_string(n));
    release_on(a, n);
    m_.release(model_target(a), n);
    after();
  }
  void op_span(aim a, int into) {
    if (!usable(a)) return;
    if (a.c == aim::cat::span && spans_[a.slot]->depth() >= max_span_depth) return;
    note("begin_span " + describe(a) + " into span slot " + std::to_string(into));
    rcmgr::error e;
    std::unique_ptr<any_span> s = begin_on(a, e);
    outcome o;
    const int id = m_.begin_span(model_target(a), o);
    if (!expect(compare(s ? nullptr : &e, o), o)) return;
    if (s) put_span(into, std::move(s), id);
    after();
  }
  void op_done(aim::cat c, int slot) {
    note(std::string("done ") + describe({c, slot}));
    switch (c) {
      case aim::cat::conn: conns_[slot].done(); end_model(conn_id_[slot]); break;
      case aim::cat::stream: streams_[slot].done(); end_model(stream_id_[slot]); break;
      case aim::cat::span:
        if (!spans_[slot]) return;
        spans_[slot]->done();
        end_model(span_id_[slot]);
        break;
      case aim::cat::ref: break;
    }
    after();
  }
  void op_move(aim::cat c, int from, int to) {
    note(std::string("move ") + describe({c, from}) + " -> slot " + std::to_string(to));
    switch (c) {
      case aim::cat::conn: move_slot(conns_, conn_id_, from, to); break;
      case aim::cat::stream: move_slot(streams_, stream_id_, from, to); break;
      case aim::cat::span:
        if (!spans_[from]) return;
        if (from == to) break;
        if (spans_[to] && spans_[to]->assign_from(*spans_[from])) {  // move-assign: ends what `to` held
          end_model(span_id_[to]);
          span_id_[to] = std::exchange(span_id_[from], -1);
        } else {  // move-construct into a fresh box; what `to` held is destroyed, so it ends
          auto moved = spans_[from]->take();
          put_span(to, std::move(moved), std::exchange(span_id_[from], -1));
        }
        break;
      case aim::cat::ref: break;
    }
    after();
  }
  void op_destroy(aim::cat c, int slot) {
    note(std::string("destroy ") + describe({c, slot}));
    switch (c) {
      case aim::cat::conn: {
        std::optional<conn_t> tmp(std::move(conns_[slot]));
        tmp.reset();  // the destructor ends the connection
        conns_[slot] = conn_t{};
        end_model(std::exchange(conn_id_[slot], -1));
        break;
      }
      case aim::cat::stream: {
        std::optional<stream_t> tmp(std::move(streams_[slot]));
        tmp.reset();
        streams_[slot] = stream_t{};
        end_model(std::exchange(stream_id_[slot], -1));
        break;
      }
      case aim::cat::span:
        spans_[slot].reset();
        end_model(std::exchange(span_id_[slot], -1));
        break;
      case aim::cat::ref: break;
    }
    after();
  }

  /// Takes a reference to a parent of a connection or stream and keeps it in a ref slot.
  void op_hold_parent(aim::cat c, int slot, kind k, int into) {
    note(std::string("hold parent ") + kind_name(k) + " of " + describe({c, slot}) + " into ref slot " + std::to_string(into));
    const int id = c == aim::cat::conn ? conn_id_[slot] : stream_id_[slot];
    const std::string want = id >= 0 ? m_.parent(id, k) : std::string{};
    std::unique_ptr<any_ref> r;
    with_kind(k, [&](auto t) {
      using P = typename decltype(t)::type;
      if constexpr (std::is_same_v<P, lp::peer_scope> || std::is_same_v<P, lp::transient_scope>) {
        if (c == aim::cat::conn) r = box_ref(conns_[slot].template parent<P>());
        else r = box_ref(streams_[slot].template parent<P>());
      } else if constexpr (std::is_same_v<P, lp::protocol_scope> || std::is_same_v<P, lp::service_scope> ||
                           std::is_same_v<P, lp::protocol_peer_scope> || std::is_same_v<P, lp::service_peer_scope>) {
        if (c == aim::cat::stream) r = box_ref(streams_[slot].template parent<P>());
      }
    });
    if (!r) return;
    if (r->empty() != want.empty() || (!want.empty() && r->name() != want)) {
      fail("parent<" + std::string(kind_name(k)) + ">(): engine " + (r->empty() ? std::string("(none)") : r->name()) +
           ", model " + (want.empty() ? std::string("(none)") : want));
      return;
    }
    put_ref(into, std::move(r), want, k);
    after();
  }
  /// The typed parent accessors of the libp2p handles agree with parent<P>().
  void op_check_parents(int slot) {
    note("check parents of stream slot " + std::to_string(slot));
    const int id = stream_id_[slot];
    auto name = [](const auto& r) { return r ? r.id().str() : std::string{}; };
    const auto& s = streams_[slot];
    const std::string got[3] = {name(s.peer_scope()), name(s.protocol_scope()), name(s.service_scope())};
    const kind ks[3] = {kind::peer, kind::protocol, kind::service};
    for (int i = 0; i < 3; ++i) {
      const std::string want = id >= 0 ? m_.parent(id, ks[i]) : std::string{};
      if (got[i] != want) return fail(std::string("stream ") + kind_name(ks[i]) + "_scope(): engine '" + got[i] + "', model '" + want + "'");
    }
    const int cid = conn_id_[slot];
    const std::string cp = name(conns_[slot].peer_scope());
    const std::string cw = cid >= 0 ? m_.parent(cid, kind::peer) : std::string{};
    if (cp != cw) return fail("connection peer_scope(): engine '" + cp + "', model '" + cw + "'");
    after();
  }
  /// view_*(key, f) with f copying the reference out.
  void op_hold_view(int which, const std::string& key, int into) {
    note("hold view " + view_name(which, key) + " into ref slot " + std::to_string(into));
    std::unique_ptr<any_ref> r;
    with_view(which, key, [&](auto& ref) { r = box_ref(ref); });
    m_.touch(view_name(which, key));
    m_.hold(view_name(which, key));  // the copy taken out of the call
    m_.untouch(view_name(which, key));
    put_ref_held(into, std::move(r), view_name(which, key));
    after();
  }
  void op_drop(int slot) {
    if (!refs_[slot]) return;
    note("drop ref slot " + std::to_string(slot));
    refs_[slot].reset();
    if (!ref_name_[slot].empty()) m_.drop(ref_name_[slot]);
    ref_name_[slot].clear();
    after();
  }
  void op_view_reserve(int which, const std::string& key, i64 n, int prio) {
    const std::string name = view_name(which, key);
    note("view " + name + " reserve " + std::to_string(n) + " prio " + std::to_string(prio));
    std::optional<rcmgr::result<void>> r;
    with_view(which, key, [&](auto& ref) { r.emplace(ref.reserve_memory(n, std::uint8_t(prio))); });
    m_.touch(name);
    const outcome o = m_.reserve(target::shared(name), n, prio);
    m_.untouch(name);
    expect(compare(*r, o), o);
    after();
  }
  void op_view_release(int which, const std::string& key, i64 n) {
    const std::string name = view_name(which, key);
    note("view " + name + " release " + std::to_string(n));
    with_view(which, key, [&](auto& ref) { ref.release_memory(n); });
    m_.touch(name);
    m_.release(target::shared(name), n);
    m_.untouch(name);
    after();
  }
  void op_view_span(int which, const std::string& key, int into) {
    const std::string name = view_name(which, key);
    note("view " + name + " begin_span into span slot " + std::to_string(into));
    rcmgr::error e;
    std::unique_ptr<any_span> s;
    with_view(which, key, [&](auto& ref) {
      auto r = ref.begin_span();
      if (r) s = box_span(std::move(*r));
      else e = r.error();
    });
    m_.touch(name);
    outcome o;
    const int id = m_.begin_span(target::shared(name), o);
    const bool ok = expect(compare(s ? nullptr : &e, o), o);
    if (ok && s) put_span(into, std::move(s), id);
    m_.untouch(name);
    after();
  }

  void op_set_limit(kind k, const std::string& key, const lim& l) {
    note(std::string("set_limit ") + kind_name(k) + (key.empty() ? "" : " key " + key) + " mem " + std::to_string(l.memory));
    with_kind(k, [&](auto t) {
      using K = engine_kind<typename decltype(t)::type>;
      auto check = [&](const auto& r) {
        if (!r) fail(std::string("set_limit refused valid limits: ") + r.error().message());
      };
      if (key.empty()) {
        check(mgr_.template set_limit<K>(to_engine(l)));
      } else if constexpr (std::is_same_v<K, lp::peer_scope>) {
        check(mgr_.template set_limit<K>(rcmgr::peer_id(key), to_engine(l)));
      } else if constexpr (std::is_same_v<K, lp::protocol_scope> || std::is_same_v<K, lp::service_scope> ||
                           std::is_same_v<K, lp::protocol_peer_scope> || std::is_same_v<K, lp::service_peer_scope>) {
        check(mgr_.template set_limit<K>(key, to_engine(l)));
      }
    });
    if (key.empty() || k == kind::peer || k == kind::protocol || k == kind::service || k == kind::protocol_peer ||
        k == kind::service_peer) {
      if (key.empty()) m_.set_limit(k, l);
      else m_.set_limit(k, key, l);
      widen(ever_[int(k)], l);
      limits_changed_ = true;
    }
    // the default in force reads back
    if (key.empty()) {
      with_kind(k, [&](auto t) {
        using K = engine_kind<typename decltype(t)::type>;
        if (!(mgr_.template get_limit<K>() == to_engine(l))) fail(std::string("get_limit<") + kind_name(k) + "> does not read back");
      });
    }
    after();
  }
  void op_set_limits(const config& c) {
    note("set_limits (all)");
    if (auto r = mgr_.set_limits(limits_for(c)); !r) fail("set_limits refused valid limits: " + r.error().message());
    apply(m_, c);
    for (int k = 0; k < 9; ++k) widen(ever_[k], c.defaults[k]);
    for (const auto& o : c.overrides) widen(ever_[int(o.k)], o.l);
    limits_changed_ = true;
    after();
  }
  void op_close() {
    note("close manager");
    mgr_.close();
    m_.close();
    if (!mgr_.closed()) fail("closed() is false after close()");
    after();
  }

  /// Ends everything and checks that nothing is left: every counter zero, no peer or view
  /// scope alive (except views still holding memory nothing can reach on a closed manager).
  void quiesce() {
    note("-- quiesce --");
    config open;  // everything unlimited, so the clean-up calls below cannot be refused
    op_set_limits(open);
    // memory reserved directly on views, released through a stream that reaches them
    for (int i = 0; i < n_streams && fail_.empty(); ++i) {
      for (kind k : {kind::protocol_peer, kind::service_peer}) {
        const int id = stream_id_[i];
        if (id < 0) continue;
        const std::string v = m_.parent(id, k);
        if (v.empty() || m_.shared_direct[v] == 0) continue;
        op_hold_parent(aim::cat::stream, i, k, 0);
        op_release({aim::cat::ref, 0}, m_.shared_direct[v]);
        op_drop(0);
      }
    }
    for (int i = 0; i < n_refs && fail_.empty(); ++i) {
      if (refs_[i] && !ref_name_[i].empty()) {
        const i64 d = m_.shared_direct.count(ref_name_[i]) ? m_.shared_direct[ref_name_[i]] : 0;
        if (d > 0) op_release({aim::cat::ref, i}, d);
      }
      op_drop(i);
    }
    for (int i = 0; i < n_spans && fail_.empty(); ++i) op_done(aim::cat::span, i);
    for (int i = 0; i < n_streams && fail_.empty(); ++i) op_done(aim::cat::stream, i);
    for (int i = 0; i < n_conns && fail_.empty(); ++i) op_done(aim::cat::conn, i);
    for (int i = 0; i < n_spans && fail_.empty(); ++i) op_destroy(aim::cat::span, i);
    for (int i = 0; i < n_streams && fail_.empty(); ++i) op_destroy(aim::cat::stream, i);
    for (int i = 0; i < n_conns && fail_.empty(); ++i) op_destroy(aim::cat::conn, i);
    // direct memory on the keyed and singleton scopes
    std::vector<std::pair<std::string, i64>> left;
    for (auto& [s, d] : m_.shared_direct)
      if (d > 0) left.emplace_back(s, d);
    for (auto& [s, d] : left) {
      if (!fail_.empty()) break;
      const kind k = model::kind_of(s);
      const std::string key = model::limit_key(s);
      if (k == kind::protocol_peer || k == kind::service_peer) {
        if (m_.closed) continue;  // unreachable: checked below
        const std::string p = s.substr(s.find('@') + 1);
        op_open_stream(0, p, dir::in);
        if (k == kind::protocol_peer) {
          op_set_protocol(0, key);
        } else {
          op_set_protocol(0, protocols[0]);
          op_set_service(0, key);
        }
        op_hold_parent(aim::cat::stream, 0, k, 0);
        op_release({aim::cat::ref, 0}, d);
        op_drop(0);
        op_destroy(aim::cat::stream, 0);
      } else {
        const int w = k == kind::system ? 0 : k == kind::transient ? 1 : k == kind::peer ? 2 : k == kind::protocol ? 3 : 4;
        op_view_release(w, key, d);
      }
    }
    if (!fail_.empty()) return;
    // what may legitimately remain: views (and their peers) holding memory on a closed manager
    std::set<std::string> allowed;
    for (auto& [s, d] : m_.shared_direct)
      if (d > 0) allowed.insert(s), allowed.insert(model::peer_name(s.substr(s.find('@') + 1)));
    auto zero = [&](const std::string& what, const rcmgr::scope_stat& st) {
      if (!st.empty() && !allowed.count(what)) fail("after every scope ended, " + what + " still holds " + show(from_engine(st)));
    };
    zero("system", mgr_.template stat<lp::system_scope>());
    zero("transient", mgr_.template stat<lp::transient_scope>());
    if constexpr (Gated) {
      zero(model::al_system_name, mgr_.template stat<lp::allowlisted_system_scope>());
      zero(model::al_transient_name, mgr_.template stat<lp::allowlisted_transient_scope>());
      for (const auto& [k, n] : m_.gate.subnet_counts)
        if (n != 0) fail("the model still counts connections in a subnet after every connection ended");
      check_gate();
    }
    for (auto& [k, st] : mgr_.list_protocols()) zero(model::protocol_name(k), st);
    for (auto& [k, st] : mgr_.list_services()) zero(model::service_name(k), st);
    for (auto& [k, st] : mgr_.list_peers())
      if (!allowed.count(model::peer_name(std::string(k.str())))) fail("peer " + std::string(k.str()) + " outlived everything that referred to it");
    for (auto& [k, st] : mgr_.template list<lp::protocol_peer_scope>())
      if (!allowed.count(model::protocol_peer_name(k.first, std::string(k.second.str())))) fail("a protocol-peer scope outlived its streams");
    for (auto& [k, st] : mgr_.template list<lp::service_peer_scope>())
      if (!allowed.count(model::service_peer_name(k.first, std::string(k.second.str())))) fail("a service-peer scope outlived its streams");
    if (allowed.empty() && (mgr_.template live_count<lp::peer_scope>() != 0 || mgr_.template live_count<lp::protocol_peer_scope>() != 0 ||
                            mgr_.template live_count<lp::service_peer_scope>() != 0))
      fail("live_count of peer / protocol-peer / service-peer is not zero after everything ended");
  }

 private:
  /// The engine's kind for a model kind: the gated manager's connections are gated_connection_scope.
  template <class K>
  using engine_kind = std::conditional_t<Gated && std::is_same_v<K, lp::connection_scope>, lp::gated_connection_scope, K>;
  void init(const config& c) {
    apply(m_, c);
    for (int k = 0; k < 9; ++k) ever_[k] = c.defaults[k];
    for (const auto& o : c.overrides) widen(ever_[int(o.k)], o.l);
    mgr_.on_misuse(&driver::count_misuse, this);
  }
  static gating_config with_clock(gating_config g, test_clock* c) {
    g.options.now_ns = &test_clock::now;
    g.options.clock_user = c;
    return g;
  }
  auto limits_for(const config& c) const {
    if constexpr (Gated) return lp::make_gated_limits(engine_limits(c), to_engine(gcfg_.al_system), to_engine(gcfg_.al_transient));
    else return engine_limits(c);
  }

  static inline const kind stream_parent_kinds[6] = {kind::peer, kind::transient, kind::protocol, kind::service,
                                                      kind::protocol_peer, kind::service_peer};

  static void count_misuse(const rcmgr::misuse_event& ev, void* self) {
    auto* d = static_cast<driver*>(self);
    ++d->misuse_events_;
    if (ev.available < 0 || (ev.kind == rcmgr::misuse_event::what::over_release && ev.available >= ev.requested))
      d->fail("misuse event with impossible numbers");
  }

  static void widen(lim& a, const lim& b) {
    a.streams_in = std::max(a.streams_in, b.streams_in), a.streams_out = std::max(a.streams_out, b.streams_out);
    a.streams = std::max(a.streams, b.streams), a.conns_in = std::max(a.conns_in, b.conns_in);
    a.conns_out = std::max(a.conns_out, b.conns_out), a.conns = std::max(a.conns, b.conns);
    a.fd = std::max(a.fd, b.fd), a.memory = std::max(a.memory, b.memory);
  }

  template <class Src>
  static i64 size(Src& src) {
    switch (src.below(20)) {
      case 0: return 0;
      case 1: return -1 - i64(src.below(100));
      case 2: return src.below(2) ? INT64_MIN : -i64(src.below(1u << 20));
      case 3: {
        const i64 big[] = {INT64_MAX, INT64_MAX - 1, i64(1) << 62, i64(1) << 40, INT64_MAX / 2 + 1};
        return big[src.below(5)];
      }
      case 4: case 5: case 6: return i64(src.below(1200));
      default: return 1 + i64(src.below(150));
    }
  }
  template <class Src>
  static int prio(Src& src) {
    const int p[] = {0, 1, 50, rcmgr::priority::low, rcmgr::priority::medium, rcmgr::priority::high, rcmgr::priority::always, 254};
    return src.below(4) == 0 ? int(src.below(256)) : p[src.below(8)];
  }
  template <class Src>
  i64 release_size(Src& src, aim a) {
    const target t = model_target(a);
    i64 held = 0;
    if (t.t == target::type::object) held = m_.objects[std::size_t(t.obj)].direct;
    if (t.t == target::type::shared) held = m_.shared_direct.count(t.scope) ? m_.shared_direct[t.scope] : 0;
    return release_amount(src, held);
  }
  template <class Src>
  i64 view_release_size(Src& src, int which, const std::string& key) {
    const std::string n = view_name(which, key);
    return release_amount(src, m_.shared_direct.count(n) ? m_.shared_direct[n] : 0);
  }
  template <class Src>
  static i64 release_amount(Src& src, i64 held) {
    switch (src.below(10)) {
      case 0: return held + 1 + i64(src.below(100));  // more than was reserved here
      case 1: return size(src);                       // anything, negative and huge included
      case 2: return held;
      default: return i64(src.below(std::uint64_t(held) + 1));
    }
  }
  template <class Src>
  std::string view_key(Src& src, int which) {
    switch (which) {
      case 2: return peers[src.below(peers.size())];
      case 3: return protocols[src.below(protocols.size())];
      case 4: return services[src.below(services.size())];
      default: return {};
    }
  }
  static std::string view_name(int which, const std::string& key) {
    switch (which) {
      case 0: return "system";
      case 1: return "transient";
      case 2: return model::peer_name(key);
      case 3: return model::protocol_name(key);
      default: return model::service_name(key);
    }
  }
  template <class F>
  void with_view(int which, const std::string& key, F&& f) {
    switch (which) {
      case 0: mgr_.view_system(f); break;
      case 1: mgr_.view_transient(f); break;
      case 2: mgr_.view_peer(rcmgr::peer_id(key), f); break;
      case 3: mgr_.view_protocol(key, f); break;
      default: mgr_.view_service(key, f); break;
    }
  }

  template <class Src>
  aim pick_aim(Src& src) {
    switch (src.below(8)) {
      case 0: case 1: return {aim::cat::conn, int(src.below(n_conns))};
      case 2: case 3: case 4: return {aim::cat::stream, int(src.below(n_streams))};
      case 5: case 6: return {aim::cat::span, int(src.below(n_spans))};
      default: return {aim::cat::ref, int(src.below(n_refs))};
    }
  }
  bool usable(aim a) const {
    if (a.c == aim::cat::span) return spans_[a.slot] != nullptr;
    if (a.c == aim::cat::ref) return refs_[a.slot] != nullptr;
    return true;
  }
  std::string describe(aim a) const {
    const char* c[] = {"connection", "stream", "span", "ref"};
    std::string s = std::string(c[int(a.c)]) + " slot " + std::to_string(a.slot);
    if (a.c == aim::cat::ref && refs_[a.slot]) s += " (" + (ref_name_[a.slot].empty() ? std::string("empty") : ref_name_[a.slot]) + ")";
    return s;
  }
  static target obj(int id, kind k) { return id >= 0 ? target::object(id) : target::empty_handle(k); }
  target model_target(aim a) const {
    switch (a.c) {
      case aim::cat::conn: return obj(conn_id_[a.slot], kind::connection);
      case aim::cat::stream: return obj(stream_id_[a.slot], kind::stream);
      case aim::cat::span: return obj(span_id_[a.slot], kind::span);
      case aim::cat::ref:
        return ref_name_[a.slot].empty() ? target::empty_ref(ref_kind_[a.slot]) : target::shared(ref_name_[a.slot]);
    }
    return {};
  }
  rcmgr::result<void> reserve_on(aim a, i64 n, std::uint8_t p) {
    switch (a.c) {
      case aim::cat::conn: return conns_[a.slot].reserve_memory(n, p);
      case aim::cat::stream: return streams_[a.slot].reserve_memory(n, p);
      case aim::cat::span: return spans_[a.slot]->reserve(n, p);
      case aim::cat::ref: return refs_[a.slot]->reserve(n, p);
    }
    return {};
  }
  void release_on(aim a, i64 n) {
    switch (a.c) {
      case aim::cat::conn: conns_[a.slot].release_memory(n); break;
      case aim::cat::stream: streams_[a.slot].release_memory(n); break;
      case aim::cat::span: spans_[a.slot]->release(n); break;
      case aim::cat::ref: refs_[a.slot]->release(n); break;
    }
  }
  std::unique_ptr<any_span> begin_on(aim a, rcmgr::error& e) {
    auto wrap = [&](auto&& r) -> std::unique_ptr<any_span> {
      if (!r) {
        e = r.error();
        return nullptr;
      }
      return box_span(std::move(*r));
    };
    switch (a.c) {
      case aim::cat::conn: return wrap(conns_[a.slot].begin_span());
      case aim::cat::stream: return wrap(streams_[a.slot].begin_span());
      case aim::cat::span: return spans_[a.slot]->begin(e);
      case aim::cat::ref: return refs_[a.slot]->begin(e);
    }
    return nullptr;
  }

  /// The model side of a handle going away: it ends (if it was open).
  void end_model(int id) {
    if (id >= 0) m_.done(id);
  }
  void put_span(int slot, std::unique_ptr<any_span> s, int id) {
    spans_[slot] = std::move(s);  // destroys what was there: it ends
    end_model(std::exchange(span_id_[slot], id));
  }
  void put_ref(int slot, std::unique_ptr<any_ref> r, const std::string& name, kind k) {
    refs_[slot] = std::move(r);
    if (!ref_name_[slot].empty()) m_.drop(ref_name_[slot]);
    ref_name_[slot] = name;
    ref_kind_[slot] = k;
    if (!name.empty()) m_.hold(name);
  }
  void put_ref_held(int slot, std::unique_ptr<any_ref> r, const std::string& name) {
    // the model already counts a hold on `name` (taken while the view ran)
    refs_[slot] = std::move(r);
    if (!ref_name_[slot].empty()) m_.drop(ref_name_[slot]);
    ref_name_[slot] = name;
    ref_kind_[slot] = model::kind_of(name);
  }
  template <class H, std::size_t N>
  void move_slot(std::array<H, N>& hs, std::array<int, N>& ids, int from, int to) {
    if (from == to) return;
    hs[std::size_t(to)] = std::move(hs[std::size_t(from)]);  // ends what `to` held
    end_model(ids[std::size_t(to)]);
    ids[std::size_t(to)] = std::exchange(ids[std::size_t(from)], -1);
  }

  void note(std::string s) {
    ++steps;
    trace_.push_back(std::to_string(steps) + ": " + std::move(s));
    if (trace_.size() > 200) trace_.erase(trace_.begin(), trace_.begin() + 100);
  }
  void fail(const std::string& why) {
    if (fail_.empty()) fail_ = "step " + std::to_string(steps) + ": " + why;
  }
  bool expect(const std::string& mismatch, const outcome& o) {
    if (o.code == outcome::limit_exceeded) ++refusals;
    else if (o.code != outcome::ok) ++state_errors;
    if (!mismatch.empty()) fail(mismatch);
    return mismatch.empty();
  }

  void after() {
    if (fail_.empty()) check_all();
    if (verbose) {
      std::cerr << trace_.back() << "\n    system " << show(from_engine(mgr_.template stat<lp::system_scope>())) << " transient "
                << show(from_engine(mgr_.template stat<lp::transient_scope>())) << "\n    model  " << show(m_.shared.at("system"))
                << " transient " << show(m_.shared.at("transient")) << '\n';
    }
  }

  /// Every comparison and invariant, after every call.
  void check_all() {
    auto same = [&](const std::string& what, const rcmgr::scope_stat& got, const use& want) {
      const use g = from_engine(got);
      if (!(g == want)) fail(what + ": engine " + show(g) + ", model " + show(want));
      check_limit(what, g);
    };
    auto model_use = [&](const std::string& s) {
      auto it = m_.shared.find(s);
      return it == m_.shared.end() ? use{} : it->second;
    };
    same("system", mgr_.template stat<lp::system_scope>(), model_use("system"));
    same("transient", mgr_.template stat<lp::transient_scope>(), model_use("transient"));
    // every keyed and view scope: the same set, with the same usage
    std::map<std::string, use> got;
    for (auto& [k, st] : mgr_.list_peers()) got[model::peer_name(std::string(k.str()))] = from_engine(st);
    for (auto& [k, st] : mgr_.list_protocols()) got[model::protocol_name(k)] = from_engine(st);
    for (auto& [k, st] : mgr_.list_services()) got[model::service_name(k)] = from_engine(st);
    for (auto& [k, st] : mgr_.template list<lp::protocol_peer_scope>())
      got[model::protocol_peer_name(k.first, std::string(k.second.str()))] = from_engine(st);
    for (auto& [k, st] : mgr_.template list<lp::service_peer_scope>())
      got[model::service_peer_name(k.first, std::string(k.second.str()))] = from_engine(st);
    std::map<std::string, use> want;
    for (auto& [s, u] : m_.shared)
      if (s != "system" && s != "transient" && !model::allowlisted_scope(s)) want[s] = u;
    if constexpr (Gated) {
      same(model::al_system_name, mgr_.template stat<lp::allowlisted_system_scope>(), model_use(model::al_system_name));
      same(model::al_transient_name, mgr_.template stat<lp::allowlisted_transient_scope>(), model_use(model::al_transient_name));
      check_gate();
      for (int i = 0; i < n_conns; ++i) {
        const int id = conn_id_[i];
        const bool want_alt = id >= 0 && !m_.objects[std::size_t(id)].done && m_.objects[std::size_t(id)].alt;
        if (conns_[i] && !conns_[i].is_done() && conns_[i].in_alternative() != want_alt)
          fail("connection slot " + std::to_string(i) + ": in_alternative() " + std::to_string(!want_alt) + ", model " + std::to_string(want_alt));
      }
    }
    if (got.size() != want.size() || !std::equal(got.begin(), got.end(), want.begin(), [](auto& a, auto& b) { return a.first == b.first; })) {
      std::string g, w;
      for (auto& kv : got) g += kv.first + " ";
      for (auto& kv : want) w += kv.first + " ";
      fail("live scopes differ: engine [ " + g + "], model [ " + w + "]");
      return;
    }
    for (auto& [s, u] : got) same(s, to_stat(u), want[s]);
    const std::size_t peers_live = std::size_t(std::count_if(want.begin(), want.end(), [](auto& kv) { return model::kind_of(kv.first) == kind::peer; }));
    if (mgr_.template live_count<lp::peer_scope>() != peers_live) fail("live_count<peer_scope> disagrees with list_peers()");
    // every handle and held reference
    for (int i = 0; i < n_conns; ++i) handle_same("connection slot " + std::to_string(i), conns_[i].stat(), conns_[i].is_done(), conn_id_[i]);
    for (int i = 0; i < n_streams; ++i) handle_same("stream slot " + std::to_string(i), streams_[i].stat(), streams_[i].is_done(), stream_id_[i]);
    for (int i = 0; i < n_spans; ++i)
      if (spans_[i]) handle_same("span slot " + std::to_string(i), spans_[i]->stat(), spans_[i]->is_done(), span_id_[i]);
    for (int i = 0; i < n_refs; ++i)
      if (refs_[i]) {
        if (refs_[i]->empty() != ref_name_[i].empty()) fail("ref slot " + std::to_string(i) + ": emptiness differs");
        const use want_ref = ref_name_[i].empty() ? use{} : model_use(ref_name_[i]);
        if (!(from_engine(refs_[i]->stat()) == want_ref))
          fail("ref slot " + std::to_string(i) + ": engine " + show(from_engine(refs_[i]->stat())) + ", model " + show(want_ref));
      }
    // misuse counters
    const auto mu = mgr_.misuse();
    if (i64(mu.over_releases) != m_.over_releases || mu.over_released_bytes != m_.over_released_bytes ||
        i64(mu.negative_releases) != m_.negative_releases)
      fail("misuse counters: engine " + std::to_string(mu.over_releases) + "/" + std::to_string(mu.over_released_bytes) + "/" +
           std::to_string(mu.negative_releases) + ", model " + std::to_string(m_.over_releases) + "/" +
           std::to_string(m_.over_released_bytes) + "/" + std::to_string(m_.negative_releases));
    if (i64(misuse_events_) != m_.over_releases + m_.negative_releases) fail("misuse handler calls differ from the misuse counters");
    // the model's own books balance: usage equals what is charged from below plus direct bytes
    if (auto s = m_.ledger_mismatch(); !s.empty()) fail("ledger does not balance at " + s);
  }
  /// The gate's counts: every subnet and network the model counts in.
  void check_gate() {
    if constexpr (Gated) {
      for (const auto& [k, n] : m_.gate.subnet_counts) {
        const auto& [v6, len, text] = k;
        auto a = rcmgr::parse_multiaddr(std::string(v6 ? "/ip6/" : "/ip4/") + text);
        const rcmgr::ip_prefix p{*a->ip, len};
        bool network = false;  // conns_in() answers for the network when a prefix is both
        for (const auto& n : m_.gate.net_limits) network |= n.network == p;
        if (network) continue;
        const i64 got = mgr_.gating().conns_in(p);
        if (got != n) fail("subnet " + text + "/" + std::to_string(len) + ": engine counts " + std::to_string(got) + ", model " + std::to_string(n));
      }
      for (const auto& n : m_.gate.net_limits) {
        const i64 got = mgr_.gating().conns_in(n.network), want = m_.gate.net_counts[n.network.str()];
        if (got != want) fail("network " + n.network.str() + ": engine counts " + std::to_string(got) + ", model " + std::to_string(want));
      }
    }
  }
  static rcmgr::scope_stat to_stat(const use& u) {
    rcmgr::scope_stat s;
    s.memory = u.memory, s.streams_inbound = u.streams_in, s.streams_outbound = u.streams_out;
    s.conns_inbound = u.conns_in, s.conns_outbound = u.conns_out, s.fd = u.fd;
    return s;
  }
  void handle_same(const std::string& what, const rcmgr::scope_stat& st, bool is_done, int id) {
    const use want = id >= 0 ? m_.usage_of_object(id) : use{};
    const bool want_done = id < 0 || m_.objects[std::size_t(id)].done;
    if (!(from_engine(st) == want)) fail(what + ": engine " + show(from_engine(st)) + ", model " + show(want));
    if (is_done != want_done) fail(what + ": is_done() " + std::to_string(is_done) + ", model " + std::to_string(want_done));
    if (id >= 0) {
      const auto& o = m_.objects[std::size_t(id)];
      if (o.k != kind::span) check_limit_exact(what, from_engine(st), m_.defaults[int(o.k)], ever_[int(o.k)]);
    }
  }
  /// No scope is ever above its limit: the one in force if limits never changed, else the
  /// largest ever set for its kind (usage may stay above a lowered limit).
  void check_limit(const std::string& scope, const use& u) {
    const bool view_or_keyed = scope.find(':') != std::string::npos;
    const kind k = model::kind_of(scope);
    const lim l = model::allowlisted_scope(scope) ? m_.limit_of_shared(scope)
                  : limits_changed_            ? ever_[int(k)]
                                               : (view_or_keyed ? m_.limit_of_shared(scope) : m_.defaults[int(k)]);
    if (!within(u, l)) fail(scope + " is above its limit: " + show(u));
  }
  void check_limit_exact(const std::string& what, const use& u, const lim& now, const lim& ever) {
    if (!within(u, limits_changed_ ? ever : now)) fail(what + " is above its limit: " + show(u));
  }
  static bool within(const use& u, const lim& l) {
    auto cap = [](i64 x) { return std::min<i64>(x, 0xffffffff); };
    return u.memory <= l.memory && u.streams_in <= cap(l.streams_in) && u.streams_out <= cap(l.streams_out) &&
           u.streams_in + u.streams_out <= l.streams && u.conns_in <= cap(l.conns_in) && u.conns_out <= cap(l.conns_out) &&
           u.conns_in + u.conns_out <= l.conns && u.fd <= l.fd && u.memory >= 0 && u.streams_in >= 0 &&
           u.streams_out >= 0 && u.conns_in >= 0 && u.conns_out >= 0 && u.fd >= 0;
  }

  test_clock clock_;
  gating_config gcfg_;
  mgr_t mgr_;
  model m_;
  lim ever_[9];
  bool limits_changed_ = false;
  std::array<conn_t, n_conns> conns_{};
  std::array<int, n_conns> conn_id_{-1, -1, -1, -1};
  std::array<stream_t, n_streams> streams_{};
  std::array<int, n_streams> stream_id_{-1, -1, -1, -1};
  std::array<std::unique_ptr<any_span>, n_spans> spans_{};
  std::array<int, n_spans> span_id_{-1, -1, -1, -1, -1, -1};
  std::array<std::unique_ptr<any_ref>, n_refs> refs_{};
  std::array<std::string, n_refs> ref_name_{};
  std::array<kind, n_refs> ref_kind_{};
  std::uint64_t misuse_events_ = 0;
  std::vector<std::string> trace_;
  std::string fail_;
};

}  // namespace verify
