// A reference model of the libp2p resource manager: what every call must do, written as plainly
// as possible and independently of the engine. No atomics, no compile-time machinery, no
// reference counts: usage lives in ordered maps from scope name to numbers, each operation spells
// out the list of scopes it charges, and whether a peer or view scope exists is recomputed from
// scratch after every call. The differential test, the fuzzer and the invariant checks compare
// the real manager against this model.
//
// The behaviour written down here (see docs/guarantees.md):
//  - a reservation checks every scope on its path, in the order listed below, and either charges
//    all of them or none; the first scope that refuses is the one reported;
//  - memory at priority p may bring a scope to floor(limit * (p + 1) / 256); counts (streams,
//    connections) are checked per direction and in total; descriptors alone;
//  - a negative reservation is an invalid argument; a zero one succeeds unless the scope (or the
//    owner a span reserves through) ended;
//  - a release of more than the scope itself reserved releases what it reserved and is counted
//    as an over-release; a negative release changes nothing and is counted;
//  - set_peer / set_protocol / set_service move the scope's whole usage (at priority always) to
//    the scopes they bring in and out of transient; after done() they fail with scope_closed, a
//    second call fails with already_attached, set_service before set_protocol with not_attached;
//  - done() is idempotent and releases everything the scope holds from every scope it charged;
//    destroying a handle ends its scope; reservations through an ended scope fail with
//    scope_closed and releases there stop;
//  - protocols and services, once named, are kept; a peer and a protocol-peer / service-peer
//    view exist exactly while something refers to them or they hold something.
#pragma once

#include <algorithm>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "verify/gating_model.hpp"

namespace verify {

using i64 = std::int64_t;
__extension__ typedef __int128 i128;  // exact arithmetic for the limit checks (no overflow to reason about)
inline constexpr i64 no_limit = INT64_MAX;

enum class dir { in, out };
enum class res { memory, streams, conns, fd };

/// The limits of one scope, in the go-libp2p shape. no_limit = unlimited.
struct lim {
  i64 streams_in = no_limit, streams_out = no_limit, streams = no_limit;
  i64 conns_in = no_limit, conns_out = no_limit, conns = no_limit;
  i64 fd = no_limit, memory = no_limit;
};

/// The usage of one scope.
struct use {
  i64 memory = 0, streams_in = 0, streams_out = 0, conns_in = 0, conns_out = 0, fd = 0;
  bool empty() const { return memory == 0 && streams_in == 0 && streams_out == 0 && conns_in == 0 && conns_out == 0 && fd == 0; }
  friend bool operator==(const use&, const use&) = default;
  void add(const use& o) {
    memory += o.memory, streams_in += o.streams_in, streams_out += o.streams_out;
    conns_in += o.conns_in, conns_out += o.conns_out, fd += o.fd;
  }
  void sub(const use& o) {
    memory -= o.memory, streams_in -= o.streams_in, streams_out -= o.streams_out;
    conns_in -= o.conns_in, conns_out -= o.conns_out, fd -= o.fd;
  }
};

/// The scope kinds of the libp2p topology.
enum class kind { system, transient, service, protocol, peer, service_peer, protocol_peer, connection, stream, span };
inline const char* kind_name(kind k) {
  switch (k) {
    case kind::system: return "system";
    case kind::transient: return "transient";
    case kind::service: return "service";
    case kind::protocol: return "protocol";
    case kind::peer: return "peer";
    case kind::service_peer: return "service-peer";
    case kind::protocol_peer: return "protocol-peer";
    case kind::connection: return "connection";
    case kind::stream: return "stream";
    case kind::span: return "span";
  }
  return "?";
}

/// What a call returned.
struct outcome {
  enum code_t { ok, limit_exceeded, scope_closed, invalid_argument, already_attached, not_attached, manager_closed, other, rate_limited };
  code_t code = ok;
  std::string scope;  ///< the scope named in the error: "stream", "peer:P1", "protocol-peer:/a@P1"
  // for limit_exceeded only:
  res what = res::memory;
  bool has_dir = false;
  dir d = dir::in;
  bool total = false;
  i64 current = 0, attempted = 0, limit = 0;
  int prio = 255;
};

/// Where a reservation, release or span is aimed.
struct target {
  enum class type { object, shared, empty_handle, empty_ref };
  type t = type::empty_handle;
  int obj = -1;        ///< for object: the model's object id
  std::string scope;   ///< for shared: the scope name ("system", "peer:P1", ...)
  kind k = kind::span; ///< for empty handles and references: the kind they are of
  static target object(int id) { target x; x.t = type::object; x.obj = id; return x; }
  static target shared(std::string s) { target x; x.t = type::shared; x.scope = std::move(s); return x; }
  static target empty_handle(kind k) { target x; x.t = type::empty_handle; x.k = k; return x; }
  static target empty_ref(kind k) { target x; x.t = type::empty_ref; x.k = k; return x; }
};

class model {
 public:
  struct object {
    kind k = kind::connection;  ///< connection, stream or span
    dir d = dir::in;
    bool fd = false;
    std::string peer;           ///< connection: set by set_peer; stream: given at open
    std::string protocol, service;
    bool done = false;
    i64 direct = 0;             ///< bytes reserved on this scope itself
    use u;                      ///< everything charged to this scope
    target owner;               ///< spans: what the span was begun on
    // gated connections (gated_resource_manager):
    bool alt = false;                       ///< charged to the allowlisted scopes
    rcmgr_verify::gating_model::conn gate;  ///< its address and what the gate counted for it
  };

  // ---- limits ----
  lim defaults[9];  ///< by kind, system .. stream (spans are unlimited)
  std::map<std::string, lim> overrides[9];  ///< by kind; views by their first component's key
  void set_limit(kind k, const lim& l) { defaults[int(k)] = l; }
  void set_limit(kind k, const std::string& key, const lim& l) { overrides[int(k)][key] = l; }

  // ---- state ----
  std::map<std::string, use> shared;       ///< usage of every shared scope that exists
  std::map<std::string, i64> shared_direct;  ///< bytes reserved directly on shared scopes
  std::set<std::string> named;             ///< protocols and services ever named (kept forever)
  std::multiset<std::string> held;         ///< references the caller holds to shared scopes
  std::vector<object> objects;             ///< every connection, stream and span ever opened
  bool closed = false;
  i64 over_releases = 0, over_released_bytes = 0, negative_releases = 0;

  model() {
    shared["system"];
    shared["transient"];
  }

  // ---- connection gating (the model of rcmgr::gated_resource_manager) ----
  // A gated connection with an address goes through the gate first (rate limits, subnet and
  // network counts: gating_model.hpp); nothing is charged when it refuses. When transient or
  // system refuses an allowlisted address, the gate's counts are released and the connection is
  // charged to allowlisted-transient and allowlisted-system instead; at set_peer it moves back
  // to the regular scopes (or is refused) unless an entry allows that peer from its address.
  bool gated = false;
  rcmgr_verify::gating_model gate;
  lim al_system, al_transient;
  static constexpr const char* al_system_name = "allowlisted-system";
  static constexpr const char* al_transient_name = "allowlisted-transient";
  void enable_gating(const rcmgr::gating_options& o, const lim& al_sys, const lim& al_tr) {
    gated = true;
    al_system = al_sys, al_transient = al_tr;
    shared[al_system_name];
    shared[al_transient_name];
    gate.opt = o;
    gate.al_system.conns = al_sys.conns;
    for (const auto& e : o.allowlist) gate.allow.push_back(*rcmgr::parse_allowlist_entry(e));
    gate.build_networks();
  }
  static bool allowlisted_scope(const std::string& s) { return s == al_system_name || s == al_transient_name; }

  // ---- names ----
  static std::string peer_name(const std::string& p) { return "peer:" + p; }
  static std::string protocol_name(const std::string& x) { return "protocol:" + x; }
  static std::string service_name(const std::string& s) { return "service:" + s; }
  static std::string protocol_peer_name(const std::string& x, const std::string& p) { return "protocol-peer:" + x + "@" + p; }
  static std::string service_peer_name(const std::string& s, const std::string& p) { return "service-peer:" + s + "@" + p; }

  static kind kind_of(const std::string& scope) {
    auto prefix = scope.substr(0, scope.find(':'));
    for (kind k : {kind::system, kind::transient, kind::service, kind::protocol, kind::peer, kind::service_peer, kind::protocol_peer})
      if (prefix == kind_name(k)) return k;
    return kind::system;
  }
  /// The key of a keyed scope, or the first component's key of a view (what overrides use).
  static std::string limit_key(const std::string& scope) {
    auto c = scope.find(':');
    if (c == std::string::npos) return {};
    auto key = scope.substr(c + 1);
    auto at = key.find('@');
    return at == std::string::npos ? key : key.substr(0, at);
  }

  lim limit_of_shared(const std::string& scope) const {
    if (scope == al_system_name) return al_system;
    if (scope == al_transient_name) return al_transient;
    kind k = kind_of(scope);
    auto& ov = overrides[int(k)];
    if (auto it = ov.find(limit_key(scope)); it != ov.end()) return it->second;
    return defaults[int(k)];
  }

  // ---- the scopes a per-object scope charges besides itself, in the order they are checked ----
  // Narrowest first: the views, then the keyed and transient scopes, system last.
  std::vector<std::string> parents_of(const object& o) const {
    if (o.k == kind::connection) {
      if (o.alt) return {o.peer.empty() ? std::string(al_transient_name) : peer_name(o.peer), al_system_name};
      if (o.peer.empty()) return {"transient", "system"};
      return {peer_name(o.peer), "system"};
    }
    // a stream
    if (o.protocol.empty()) return {"transient", peer_name(o.peer), "system"};
    if (o.service.empty())
      return {protocol_peer_name(o.protocol, o.peer), protocol_name(o.protocol), peer_name(o.peer), "system"};
    return {service_peer_name(o.service, o.peer), protocol_peer_name(o.protocol, o.peer), service_name(o.service),
            protocol_name(o.protocol), peer_name(o.peer), "system"};
  }
  static std::vector<std::string> parents_of_shared(const std::string& scope) {
    if (scope == al_transient_name) return {al_system_name};
    if (scope == al_system_name) return {};
    switch (kind_of(scope)) {
      case kind::transient:
      case kind::service:
      case kind::protocol:
      case kind::peer: return {"system"};
      default: return {};  // system; views have no parents of their own
    }
  }

  /// One step of a charge path: an object or a shared scope.
  struct hop {
    int obj = -1;
    std::string scope;
  };
  /// Every scope a reservation on t touches, in order: t, the owners of a span up to the first
  /// connection or stream (or shared scope), then that scope's parents.
  std::vector<hop> path(const target& t) const {
    std::vector<hop> p;
    target cur = t;
    while (cur.t == target::type::object) {
      const object& o = objects[std::size_t(cur.obj)];
      p.push_back({cur.obj, {}});
      if (o.k != kind::span) {
        for (auto& s : parents_of(o)) p.push_back({-1, s});
        return p;
      }
      cur = o.owner;
    }
    p.push_back({-1, cur.scope});
    for (auto& s : parents_of_shared(cur.scope)) p.push_back({-1, s});
    return p;
  }

  std::string name_of(const hop& h) const { return h.obj >= 0 ? kind_name(objects[std::size_t(h.obj)].k) : h.scope; }
  use& usage(const hop& h) { return h.obj >= 0 ? objects[std::size_t(h.obj)].u : shared[h.scope]; }
  const use& usage_of(const hop& h) const {
    static const use zero;
    if (h.obj >= 0) return objects[std::size_t(h.obj)].u;
    auto it = shared.find(h.scope);
    return it == shared.end() ? zero : it->second;
  }
  lim limit_of(const hop& h) const {
    if (h.obj < 0) return limit_of_shared(h.scope);
    const object& o = objects[std::size_t(h.obj)];
    if (o.k == kind::span) return lim{};
    return defaults[int(o.k)];
  }

  /// floor(l * (prio + 1) / 256), or no_limit.
  static i64 threshold(i64 l, int prio) {
    if (l == no_limit) return no_limit;
    return i64((i128(l) * (prio + 1)) / 256);
  }

  /// Would adding `a` at priority `prio` fit in scope h? Fills `why` when not. Memory first, then
  /// streams, connections, descriptors; per direction before total.
  bool fits(const hop& h, const use& a, int prio, outcome& why) const {
    if (h.obj >= 0 && objects[std::size_t(h.obj)].k == kind::span) return true;  // bounded by its owner's check
    const use& u = usage_of(h);
    const lim l = limit_of(h);
    why = outcome{};
    why.code = outcome::limit_exceeded;
    why.scope = name_of(h);
    if (a.memory != 0 && i128(u.memory) + a.memory > threshold(l.memory, prio)) {
      why.what = res::memory, why.current = u.memory, why.attempted = a.memory, why.limit = l.memory, why.prio = prio;
      return false;
    }
    auto counts = [&](res r, i64 cin, i64 cout, i64 ain, i64 aout, i64 lin, i64 lout, i64 ltot) {
      if (ain == 0 && aout == 0) return true;
      why.what = r, why.has_dir = true;
      lin = std::min<i64>(lin, 0xffffffff), lout = std::min<i64>(lout, 0xffffffff);  // counters hold 32 bits per direction
      if (ain > 0 && cin + ain > lin) {
        why.d = dir::in, why.current = cin, why.attempted = ain, why.limit = lin;
        return false;
      }
      if (aout > 0 && cout + aout > lout) {
        why.d = dir::out, why.current = cout, why.attempted = aout, why.limit = lout;
        return false;
      }
      if (cin + ain + cout + aout > ltot) {
        why.total = true, why.d = ain > 0 ? dir::in : dir::out;
        why.current = cin + cout, why.attempted = ain + aout, why.limit = ltot;
        return false;
      }
      return true;
    };
    if (!counts(res::streams, u.streams_in, u.streams_out, a.streams_in, a.streams_out, l.streams_in, l.streams_out, l.streams))
      return false;
    if (!counts(res::conns, u.conns_in, u.conns_out, a.conns_in, a.conns_out, l.conns_in, l.conns_out, l.conns)) return false;
    if (a.fd != 0 && u.fd + a.fd > l.fd) {
      why.what = res::fd, why.has_dir = false, why.current = u.fd, why.attempted = a.fd, why.limit = l.fd;
      return false;
    }
    return true;
  }

  /// Charges `a` to every hop, or to none. Ended connections, streams and spans on the path
  /// refuse with scope_closed before any limit is looked at.
  outcome charge(const std::vector<hop>& p, const use& a, int prio) {
    for (auto& h : p)
      if (h.obj >= 0 && objects[std::size_t(h.obj)].done) return closed_error(name_of(h));
    outcome why;
    for (auto& h : p)
      if (!fits(h, a, prio, why)) return why;
    for (auto& h : p) usage(h).add(a);
    return {};
  }
  /// Releases `a` from the hops of a path up to the first ended scope, which released
  /// everything below it when it ended.
  void uncharge(const std::vector<hop>& p, const use& a) {
    for (auto& h : p) {
      if (h.obj >= 0 && objects[std::size_t(h.obj)].done) return;
      usage(h).sub(a);
    }
  }

  static outcome error(outcome::code_t c, std::string scope) {
    outcome o;
    o.code = c;
    o.scope = std::move(scope);
    return o;
  }
  static outcome closed_error(std::string scope) { return error(outcome::scope_closed, std::move(scope)); }

  std::string target_name(const target& t) const {
    switch (t.t) {
      case target::type::object: return kind_name(objects[std::size_t(t.obj)].k);
      case target::type::shared: return t.scope;
      default: return kind_name(t.k);
    }
  }

  // ---- the API ----

  /// open_connection; `ip`: the remote address of a gated open (none: no address, no gating).
  int open_connection(dir d, bool fd, outcome& out, const std::optional<rcmgr::ip_address>& ip = std::nullopt) {
    if (closed) return out = error(outcome::manager_closed, "connection"), -1;
    object o;
    o.k = kind::connection, o.d = d, o.fd = fd;
    if (ip) {
      o.gate.has_ip = true;
      o.gate.ip = ip->unmapped();
      o.gate.dir = d == dir::in ? rcmgr::direction::inbound : rcmgr::direction::outbound;
      rcmgr_verify::gating_model::refusal why;
      if (const auto r = gate.admit(o.gate, &why); r != rcmgr_verify::gating_model::outcome::ok) {
        out = error(r == rcmgr_verify::gating_model::outcome::rate ? outcome::rate_limited : outcome::limit_exceeded, why.scope);
        out.what = res::conns, out.has_dir = true, out.d = d, out.current = why.current, out.attempted = 1, out.limit = why.limit;
        return -1;
      }
    }
    objects.push_back(o);
    int id = int(objects.size()) - 1;
    use a;
    (d == dir::in ? a.conns_in : a.conns_out) = 1;
    a.fd = fd ? 1 : 0;
    out = charge(path(target::object(id)), a, 255);
    if (out.code != outcome::ok && gated && objects.back().gate.has_ip && gate.allowed(objects.back().gate.ip)) {
      gate.release(objects.back().gate);  // allowlisted: no longer counted in its subnet
      objects.back().alt = true;
      out = charge(path(target::object(id)), a, 255);
    }
    if (out.code != outcome::ok) {
      gate.release(objects.back().gate);
      objects.pop_back();
      return -1;
    }
    return id;
  }

  int open_stream(const std::string& peer, dir d, outcome& out) {
    if (closed) return out = error(outcome::manager_closed, "stream"), -1;
    object o;
    o.k = kind::stream, o.d = d, o.peer = peer;
    objects.push_back(o);
    int id = int(objects.size()) - 1;
    shared[peer_name(peer)];  // the peer exists at least while the stream is being opened
    use a;
    (d == dir::in ? a.streams_in : a.streams_out) = 1;
    out = charge(path(target::object(id)), a, 255);
    if (out.code != outcome::ok) objects.pop_back(), id = -1;
    collect();
    return id;
  }

  /// Moves object `id` to the state `after`: charges its usage to the scopes it gains (checked,
  /// at priority always) and releases it from the scopes it leaves.
  outcome move(int id, const object& after) {
    object& o = objects[std::size_t(id)];
    auto before_list = parents_of(o), after_list = parents_of(after);
    std::vector<hop> gained;
    for (auto& s : after_list)
      if (std::find(before_list.begin(), before_list.end(), s) == before_list.end()) gained.push_back({-1, s}), shared[s];
    outcome why;
    for (auto& h : gained)
      if (!fits(h, o.u, 255, why)) {
        collect();
        return why;
      }
    for (auto& h : gained) usage(h).add(o.u);
    for (auto& s : before_list)
      if (std::find(after_list.begin(), after_list.end(), s) == after_list.end()) shared[s].sub(o.u);
    o.peer = after.peer, o.protocol = after.protocol, o.service = after.service, o.alt = after.alt;
    collect();
    return {};
  }

  outcome set_peer(const target& t, const std::string& peer) {
    if (t.t != target::type::object) return closed_error("connection");
    object& o = objects[std::size_t(t.obj)];
    if (o.done) return closed_error("connection");
    if (!o.peer.empty()) return error(outcome::already_attached, "connection");
    if (o.alt && !gate.allowed(o.gate.ip, peer)) {  // leaves the allowlisted scopes first
      object regular = o;
      regular.alt = false;
      if (outcome r = move(t.obj, regular); r.code != outcome::ok) return r;
    }
    object after = objects[std::size_t(t.obj)];
    after.peer = peer;
    return move(t.obj, after);
  }
  outcome set_protocol(const target& t, const std::string& proto) {
    if (t.t != target::type::object) return closed_error("stream");
    object& o = objects[std::size_t(t.obj)];
    if (o.done) return closed_error("stream");
    if (!o.protocol.empty()) return error(outcome::already_attached, "stream");
    named.insert(protocol_name(proto));
    shared[protocol_name(proto)];
    object after = o;
    after.protocol = proto;
    return move(t.obj, after);
  }
  outcome set_service(const target& t, const std::string& svc) {
    if (t.t != target::type::object) return closed_error("stream");
    object& o = objects[std::size_t(t.obj)];
    if (o.done) return closed_error("stream");
    if (!o.service.empty()) return error(outcome::already_attached, "stream");
    if (o.protocol.empty()) return error(outcome::not_attached, "stream");
    named.insert(service_name(svc));
    shared[service_name(svc)];
    object after = o;
    after.service = svc;
    return move(t.obj, after);
  }

  outcome reserve(const target& t, i64 size, int prio) {
    if (t.t == target::type::empty_handle) return closed_error(kind_name(t.k));
    if (t.t == target::type::empty_ref) return error(outcome::not_attached, kind_name(t.k));
    if (size < 0) return error(outcome::invalid_argument, target_name(t));
    if (t.t == target::type::object && objects[std::size_t(t.obj)].done) return closed_error(target_name(t));
    use a;  // a zero size charges nothing but is refused like any other through an ended owner
    a.memory = size;
    outcome r = charge(path(t), a, prio);
    if (r.code == outcome::ok) direct_of(t) += size;
    return r;
  }

  void release(const target& t, i64 size) {
    if (t.t == target::type::empty_handle || t.t == target::type::empty_ref) return;
    if (size < 0) {
      ++negative_releases;
      return;
    }
    if (t.t == target::type::object && objects[std::size_t(t.obj)].done) return;
    i64& direct = direct_of(t);
    i64 take = std::min(size, direct);
    if (take < size) ++over_releases, over_released_bytes = saturating_add(over_released_bytes, size - take);
    direct -= take;
    if (take != 0) {
      use a;
      a.memory = take;
      uncharge(path(t), a);
    }
    collect();
  }

  int begin_span(const target& t, outcome& out) {
    out = {};
    if (t.t == target::type::empty_handle) return out = closed_error(kind_name(t.k)), -1;
    if (t.t == target::type::empty_ref) return out = error(outcome::not_attached, kind_name(t.k)), -1;
    if (t.t == target::type::object && objects[std::size_t(t.obj)].done) return out = closed_error(target_name(t)), -1;
    object o;
    o.k = kind::span;
    o.owner = t;
    objects.push_back(o);
    return int(objects.size()) - 1;
  }

  /// done(), or the destruction of the last handle.
  void done(int id) {
    object& o = objects[std::size_t(id)];
    if (o.done) return;
    if (o.k == kind::connection) gate.release(o.gate);
    auto p = path(target::object(id));
    const use u = o.u;
    p.erase(p.begin());
    uncharge(p, u);
    o.u = use{};
    o.direct = 0;
    o.done = true;
    collect();
  }

  void close() { closed = true; }

  void hold(const std::string& scope) { held.insert(scope); }
  void drop(const std::string& scope) {
    held.erase(held.find(scope));
    collect();
  }
  /// A view_*() call: the scope exists, and is referred to, while the call runs.
  void touch(const std::string& scope) {
    shared[scope];
    kind k = kind_of(scope);
    if (k == kind::protocol || k == kind::service) named.insert(scope);
    held.insert(scope);
  }
  void untouch(const std::string& scope) { drop(scope); }

  /// The parent of kind k a connection or stream is charged to now ("" when there is none).
  std::string parent(int id, kind k) const {
    const object& o = objects[std::size_t(id)];
    if (o.done) return {};
    for (auto& s : parents_of(o))
      if (kind_of(s) == k) return s;
    return {};
  }

  // ---- what exists ----

  /// Drops the peers and views nothing refers to and that hold nothing. Protocols, services,
  /// system and transient stay.
  void collect() {
    std::map<std::string, int> refs;
    for (auto& s : held) ++refs[s];
    for (std::size_t i = 0; i < objects.size(); ++i) {
      const object& o = objects[i];
      if (o.done) continue;
      if (o.k == kind::span) {
        if (o.owner.t == target::type::shared) ++refs[o.owner.scope];
        continue;
      }
      for (auto& s : parents_of(o)) ++refs[s];
    }
    // views first: a live view refers to its peer
    for (auto it = shared.begin(); it != shared.end();) {
      kind k = kind_of(it->first);
      bool view = k == kind::protocol_peer || k == kind::service_peer;
      if (view && refs[it->first] == 0 && it->second.empty() && shared_direct[it->first] == 0) {
        shared_direct.erase(it->first);
        it = shared.erase(it);
      } else {
        if (view) ++refs[peer_name(it->first.substr(it->first.find('@') + 1))];
        ++it;
      }
    }
    for (auto it = shared.begin(); it != shared.end();) {
      if (kind_of(it->first) == kind::peer && refs[it->first] == 0 && it->second.empty() && shared_direct[it->first] == 0) {
        shared_direct.erase(it->first);
        it = shared.erase(it);
      } else {
        ++it;
      }
    }
  }

  bool exists(const std::string& scope) const { return shared.count(scope) != 0; }
  use usage_of_object(int id) const { return objects[std::size_t(id)].u; }

  // ---- invariants ----

  /// Recomputes every scope's usage from scratch: what each live scope holds by itself (its
  /// direct bytes, its own stream or connection and descriptor) summed over every scope whose
  /// path reaches it. Returns the first disagreement with the incremental bookkeeping.
  std::string ledger_mismatch() const {
    std::map<std::string, use> want_shared;
    std::vector<use> want_obj(objects.size());
    auto own = [&](const object& o) {
      use a;
      a.memory = o.direct;
      if (o.k == kind::connection) (o.d == dir::in ? a.conns_in : a.conns_out) = 1, a.fd = o.fd ? 1 : 0;
      if (o.k == kind::stream) (o.d == dir::in ? a.streams_in : a.streams_out) = 1;
      return a;
    };
    for (std::size_t i = 0; i < objects.size(); ++i) {
      if (objects[i].done) continue;
      const use a = own(objects[i]);
      for (auto& h : path(target::object(int(i)))) {
        if (h.obj >= 0 && objects[std::size_t(h.obj)].done) break;
        (h.obj >= 0 ? want_obj[std::size_t(h.obj)] : want_shared[h.scope]).add(a);
      }
    }
    for (auto& [s, bytes] : shared_direct) {
      use a;
      a.memory = bytes;
      want_shared[s].add(a);
      for (auto& p : parents_of_shared(s)) want_shared[p].add(a);
    }
    for (std::size_t i = 0; i < objects.size(); ++i)
      if (!(want_obj[i] == objects[i].u)) return "object " + std::to_string(i) + " (" + kind_name(objects[i].k) + ")";
    for (auto& [s, u] : shared) {
      auto it = want_shared.find(s);
      if (!(u == (it == want_shared.end() ? use{} : it->second))) return s;
    }
    for (auto& [s, u] : want_shared)
      if (!u.empty() && !exists(s)) return s + " (holds usage but does not exist)";
    return {};
  }

  static i64 saturating_add(i64 a, i64 b) { return a > INT64_MAX - b ? INT64_MAX : a + b; }

 private:
  i64& direct_of(const target& t) {
    if (t.t == target::type::object) return objects[std::size_t(t.obj)].direct;
    return shared_direct[t.scope];
  }
};

}  // namespace verify
