// A sanity report for a libp2p limit set: limits that can never take effect, that refuse what
// every node needs, or that look like a slip. Scopes and resources are named as in go-libp2p's
// limit files ("PeerDefault", "Protocol[\"/ipfs/id/1.0.0\"]", "StreamsInbound") so a finding
// points at the line to change.
//
// Severities:
//   error    the set refuses something every node needs: every connection, every stream, every
//            connection that uses a descriptor, or any memory for a stream or connection;
//   warning  a limit that cannot take effect (a child above its parent, a direction above its
//            total, an override above the system) or that looks suspicious (inbound above
//            outbound on the system; one peer allowed all of the system's connections);
//   info     deliberate-looking blocks (a per-key override of 0) and ignored input.
#pragma once

#include <algorithm>
#include <cstdint>
#include <ostream>
#include <sstream>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "rcmgr/libp2p/default_limits.hpp"
#include "rcmgr/libp2p/topology.hpp"
#include "rcmgr/limit_set.hpp"
#include "rcmgr/limits.hpp"
#include "rcmgr/resources.hpp"

namespace rcmgr::libp2p {

// ---- names shared with the limit-file reader/writer ---------------------------------------------

/// One field of a limit, named as in go-libp2p's limit files.
struct limit_field {
  std::string_view name;             ///< "StreamsInbound", ...
  resource res;                      ///< the resource it limits
  std::int64_t limit::*member;       ///< where it lives in rcmgr::limit
  bool directional;                  ///< an inbound or outbound limit (not a total)
};

/// The eight fields, in go-libp2p's order.
inline constexpr limit_field limit_fields[] = {
    {"Streams", resource::streams, &limit::streams, false},
    {"StreamsInbound", resource::streams, &limit::streams_inbound, true},
    {"StreamsOutbound", resource::streams, &limit::streams_outbound, true},
    {"Conns", resource::conns, &limit::conns, false},
    {"ConnsInbound", resource::conns, &limit::conns_inbound, true},
    {"ConnsOutbound", resource::conns, &limit::conns_outbound, true},
    {"FD", resource::fd, &limit::fd, false},
    {"Memory", resource::memory, &limit::memory, false},
};

/// How a kind appears in a limit file: its default entry and its per-key map (empty for kinds
/// without per-key limits).
template <class K>
struct file_names;
template <> struct file_names<system_scope> { static constexpr std::string_view single = "System", map = ""; };
template <> struct file_names<transient_scope> { static constexpr std::string_view single = "Transient", map = ""; };
template <> struct file_names<service_scope> { static constexpr std::string_view single = "ServiceDefault", map = "Service"; };
template <> struct file_names<service_peer_scope> { static constexpr std::string_view single = "ServicePeerDefault", map = "ServicePeer"; };
template <> struct file_names<protocol_scope> { static constexpr std::string_view single = "ProtocolDefault", map = "Protocol"; };
template <> struct file_names<protocol_peer_scope> { static constexpr std::string_view single = "ProtocolPeerDefault", map = "ProtocolPeer"; };
template <> struct file_names<peer_scope> { static constexpr std::string_view single = "PeerDefault", map = "Peer"; };
template <> struct file_names<connection_scope> { static constexpr std::string_view single = "Conn", map = ""; };
template <> struct file_names<stream_scope> { static constexpr std::string_view single = "Stream", map = ""; };

/// Appends `.key` to a path, or `["key"]` when the key is not a plain word (protocol ids hold
/// slashes and dots): Peer.12D3KooW..., Protocol["/ipfs/id/1.0.0"].
inline void append_path_key(std::string& path, std::string_view key) {
  const bool plain = !key.empty() && std::all_of(key.begin(), key.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
  });
  if (plain) {
    if (!path.empty()) path += '.';
    path += key;
    return;
  }
  path += "[\"";
  for (char c : key) {
    if (c == '"' || c == '\\') path += '\\';
    path += c;
  }
  path += "\"]";
}

/// "1024", "unlimited", "blockAll"; memory in readable units: "4 GiB", "64 MiB", "100 B", and
/// for a size that is not a whole number of its unit, "1.5 MiB (1572865 B)".
inline std::string limit_value_text(std::int64_t v, resource r) {
  if (v == unlimited) return "unlimited";
  if (v == 0) return "blockAll";
  if (r != resource::memory) return std::to_string(v);
  struct unit {
    std::int64_t size;
    const char* name;
  };
  for (const unit u : {unit{std::int64_t{1} << 30, " GiB"}, unit{std::int64_t{1} << 20, " MiB"}, unit{1024, " KiB"}}) {
    if (v < u.size) continue;
    if (v % u.size == 0) return std::to_string(v / u.size) + u.name;
    // one decimal, rounded down, then the exact value
    const std::int64_t tenths = v / (u.size / 10 > 0 ? u.size / 10 : 1);
    return std::to_string(tenths / 10) + '.' + std::to_string(tenths % 10) + u.name + " (" + std::to_string(v) + " B)";
  }
  return std::to_string(v) + " B";
}

// ---- the report ---------------------------------------------------------------------------------

enum class severity : std::uint8_t { info, warning, error };

constexpr std::string_view to_string(severity s) noexcept {
  switch (s) {
    case severity::info: return "info";
    case severity::warning: return "warning";
    case severity::error: return "error";
  }
  return "?";
}

/// Which check produced a finding.
enum class check : std::uint8_t {
  child_above_parent,      ///< a child's limit above a scope it is charged to: the parent refuses first
  peer_takes_system,       ///< one peer may hold as many connections as the whole system
  refuses_every_unit,      ///< refuses every connection, stream or descriptor (or inbound ones)
  no_memory_per_unit,      ///< a stream or connection can never reserve memory
  direction_above_total,   ///< an inbound or outbound limit above the total
  inbound_above_outbound,  ///< system: more inbound than outbound allowed
  override_above_system,   ///< a per-key limit above the system's
  override_blocks,         ///< a per-key limit of 0: that service, protocol or peer is blocked
  ignored_setting,         ///< accepted but has no effect (Allowlisted*)
};

/// One finding: where, which resource, and why it matters, in one line.
struct finding {
  severity level = severity::warning;
  check what = check::child_above_parent;
  std::string scope;     ///< as in a limit file: "PeerDefault", "Protocol[\"/x\"]"
  std::string resource;  ///< field name: "StreamsInbound", "Memory", ... (empty: the whole scope)
  std::string explanation;
};

inline std::ostream& operator<<(std::ostream& os, const finding& f) {
  os << to_string(f.level) << ": " << f.scope;
  if (!f.resource.empty()) os << '.' << f.resource;
  return os << ": " << f.explanation;
}

/// Prints one finding per line; "no findings" for an empty report.
inline void print_report(std::ostream& os, const std::vector<finding>& report) {
  if (report.empty()) {
    os << "no findings\n";
    return;
  }
  for (const auto& f : report) os << f << '\n';
}
inline std::string to_string(const std::vector<finding>& report) {
  std::ostringstream os;
  print_report(os, report);
  return std::move(os).str();
}

/// True when any finding has severity `s` or worse.
inline bool has_findings(const std::vector<finding>& report, severity s) {
  return std::any_of(report.begin(), report.end(), [s](const finding& f) { return f.level >= s; });
}

namespace detail::sanity {

template <class K>
constexpr bool accounts(resource r) noexcept {
  return rcmgr::detail::kind_traits<K>::accounted.contains(r);
}

/// child <= parent for every field both account.
template <class C, class P>
void child_vs_parent(const limits& ls, std::vector<finding>& out, std::string_view why) {
  const limit& c = ls.get<C>();
  const limit& p = ls.get<P>();
  for (const auto& f : limit_fields) {
    if (!accounts<C>(f.res) || !accounts<P>(f.res)) continue;
    // one peer against the system's connections has its own, stricter check below
    if constexpr (std::is_same_v<C, peer_scope> && std::is_same_v<P, system_scope>)
      if (f.res == resource::conns) continue;
    const std::int64_t cv = c.*f.member, pv = p.*f.member;
    if (cv > pv) {
      out.push_back({severity::warning, check::child_above_parent, std::string(file_names<C>::single),
                     std::string(f.name),
                     "is " + limit_value_text(cv, f.res) + ", above " + std::string(file_names<P>::single) + "." +
                         std::string(f.name) + " (" + limit_value_text(pv, f.res) + "): " + std::string(why) +
                         ", so " + std::string(file_names<P>::single) + " refuses first"});
    }
  }
}

inline void directions(const std::string& scope, const limit& l, bool streams, bool conns, std::vector<finding>& out) {
  auto one = [&](std::string_view dir_name, std::int64_t d, std::string_view total_name, std::int64_t t, resource r) {
    if (d > t)
      out.push_back({severity::warning, check::direction_above_total, scope, std::string(dir_name),
                     "is " + limit_value_text(d, r) + ", above " + std::string(total_name) + " (" +
                         limit_value_text(t, r) + "): the total refuses first, so this can never be reached"});
  };
  if (streams) {
    one("StreamsInbound", l.streams_inbound, "Streams", l.streams, resource::streams);
    one("StreamsOutbound", l.streams_outbound, "Streams", l.streams, resource::streams);
  }
  if (conns) {
    one("ConnsInbound", l.conns_inbound, "Conns", l.conns, resource::conns);
    one("ConnsOutbound", l.conns_outbound, "Conns", l.conns, resource::conns);
  }
}

template <class K>
void directions_of(const limits& ls, std::vector<finding>& out) {
  const bool s = accounts<K>(resource::streams), c = accounts<K>(resource::conns);
  directions(std::string(file_names<K>::single), ls.get<K>(), s, c, out);
  if constexpr (!file_names<K>::map.empty()) {
    for (const auto& [key, l] : ls.overrides<K>()) {
      std::string scope(file_names<K>::map);
      append_path_key(scope, std::string_view(key));
      directions(scope, l, s, c, out);
    }
  }
}

/// Sorted keys, so reports are deterministic.
template <class K>
std::vector<std::pair<std::string, const limit*>> sorted_overrides(const limits& ls) {
  std::vector<std::pair<std::string, const limit*>> v;
  for (const auto& [key, l] : ls.overrides<K>()) v.emplace_back(std::string(std::string_view(key)), &l);
  std::sort(v.begin(), v.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  return v;
}

template <class K>
void overrides_of(const limits& ls, std::vector<finding>& out) {
  const limit& sys = ls.get<system_scope>();
  for (const auto& [key, lp] : sorted_overrides<K>(ls)) {
    std::string scope(file_names<K>::map);
    append_path_key(scope, key);
    const limit& l = *lp;
    for (const auto& f : limit_fields) {
      if (!accounts<K>(f.res)) continue;
      const std::int64_t v = l.*f.member, s = sys.*f.member;
      if (v > s)
        out.push_back({severity::warning, check::override_above_system, scope, std::string(f.name),
                       "is " + limit_value_text(v, f.res) + ", above System." + std::string(f.name) + " (" +
                           limit_value_text(s, f.res) + "): the system refuses first"});
    }
    const bool stream_block = accounts<K>(resource::streams) && l.streams == 0;
    const bool conn_block = accounts<K>(resource::conns) && l.conns == 0;
    if (stream_block || conn_block)
      out.push_back({severity::info, check::override_blocks, scope, stream_block ? "Streams" : "Conns",
                     std::string("blocks every ") +
                         (stream_block && conn_block ? "connection and stream" : stream_block ? "stream" : "connection") +
                         " of this " + std::string(rcmgr::detail::kind_traits<K>::name)});
  }
}

inline void need(std::vector<finding>& out, severity sev, check c, std::string scope, std::string_view field,
                 std::string text) {
  out.push_back({sev, c, std::move(scope), std::string(field), std::move(text)});
}

}  // namespace detail::sanity

/// Checks a limit set; see the top of this header for what each severity means.
inline std::vector<finding> sanity_report(const limits& ls) {
  namespace ds = detail::sanity;
  std::vector<finding> out;
  const limit& sys = ls.get<system_scope>();
  const limit& tr = ls.get<transient_scope>();
  const limit& peer = ls.get<peer_scope>();
  const limit& conn = ls.get<connection_scope>();
  const limit& str = ls.get<stream_scope>();

  // 1. What every connection and stream passes through must admit one of them.
  struct unit_scope {
    const char* scope;
    const limit* l;
    const char* role;
  };
  const unit_scope conn_path[] = {{"System", &sys, "every connection is charged to the system"},
                                  {"Transient", &tr, "every connection starts in the transient scope"},
                                  {"PeerDefault", &peer, "every connection joins its peer's scope"},
                                  {"Conn", &conn, "this is each connection's own limit"}};
  auto unit_checks = [&](const unit_scope& u, const char* unit, std::int64_t total, std::int64_t in, std::int64_t out_,
                         std::string_view total_name, std::string_view in_name, std::string_view out_name) {
    if (total == 0) {
      ds::need(out, severity::error, check::refuses_every_unit, u.scope, total_name,
               std::string("is 0: refuses every ") + unit + " (" + u.role + ")");
      return;
    }
    // One direction at 0 may be deliberate (a node that only dials, or only listens).
    if (in == 0)
      ds::need(out, severity::warning, check::refuses_every_unit, u.scope, in_name,
               std::string("is 0: refuses every inbound ") + unit + " (" + u.role + "); intended only for a node that never accepts one");
    if (out_ == 0)
      ds::need(out, severity::warning, check::refuses_every_unit, u.scope, out_name,
               std::string("is 0: refuses every outbound ") + unit + " (" + u.role + "); intended only for a node that never opens one");
  };
  for (const auto& u : conn_path)
    unit_checks(u, "connection", u.l->conns, u.l->conns_inbound, u.l->conns_outbound, "Conns", "ConnsInbound", "ConnsOutbound");
  const unit_scope stream_path[] = {{"System", &sys, "every stream is charged to the system"},
                                    {"Transient", &tr, "every stream starts in the transient scope"},
                                    {"PeerDefault", &peer, "every stream is charged to its peer"},
                                    {"Stream", &str, "this is each stream's own limit"}};
  for (const auto& u : stream_path)
    unit_checks(u, "stream", u.l->streams, u.l->streams_inbound, u.l->streams_outbound, "Streams", "StreamsInbound",
                "StreamsOutbound");
  // Descriptors: a connection that uses one (TCP) needs one at every step.
  if (conn.fd != 0) {
    for (const auto& u : {unit_scope{"System", &sys, "every connection is charged to the system"},
                          unit_scope{"Transient", &tr, "every connection starts in the transient scope"},
                          unit_scope{"PeerDefault", &peer, "every connection joins its peer's scope"}})
      if (u.l->fd == 0)
        ds::need(out, severity::error, check::refuses_every_unit, u.scope, "FD",
                 std::string("is 0 while Conn.FD is ") + limit_value_text(conn.fd, resource::fd) +
                     ": refuses every connection that uses a file descriptor (" + u.role + ")");
  } else if (sys.fd != 0) {
    ds::need(out, severity::error, check::refuses_every_unit, "Conn", "FD",
             "is 0 while System.FD is " + limit_value_text(sys.fd, resource::fd) +
                 ": refuses every connection that uses a file descriptor (TCP)");
  }
  // Memory: a stream or connection that may open but never reserve is useless (muxers reserve
  // their windows as soon as they start).
  if (str.streams != 0 && str.memory == 0)
    ds::need(out, severity::error, check::no_memory_per_unit, "Stream", "Memory",
             "is 0 while streams are allowed: no stream can reserve any memory");
  if (conn.conns != 0 && conn.memory == 0)
    ds::need(out, severity::error, check::no_memory_per_unit, "Conn", "Memory",
             "is 0 while connections are allowed: no connection can reserve any memory");
  for (const auto& u : {unit_scope{"System", &sys, "everything is charged to the system"},
                        unit_scope{"PeerDefault", &peer, "every stream and connection is charged to its peer"}})
    if (u.l->memory == 0)
      ds::need(out, severity::error, check::no_memory_per_unit, u.scope, "Memory",
               std::string("is 0: no stream or connection can reserve any memory (") + u.role + ")");
  if (tr.memory == 0)
    ds::need(out, severity::warning, check::no_memory_per_unit, "Transient", "Memory",
             "is 0: nothing can reserve memory before its peer or protocol is known (handshakes usually do)");
  // Defaults of protocols and services: 0 blocks every one without an override.
  for (const auto& [scope, l] : {std::pair{"ServiceDefault", &ls.get<service_scope>()},
                                 std::pair{"ServicePeerDefault", &ls.get<service_peer_scope>()},
                                 std::pair{"ProtocolDefault", &ls.get<protocol_scope>()},
                                 std::pair{"ProtocolPeerDefault", &ls.get<protocol_peer_scope>()}})
    if (l->streams == 0)
      ds::need(out, severity::warning, check::refuses_every_unit, scope, "Streams",
               "is 0: every one without its own limit is blocked (intended only if you allow-list by override)");

  // 2. Children above the scopes they are charged to.
  ds::child_vs_parent<transient_scope, system_scope>(ls, out, "transient usage is charged to the system");
  ds::child_vs_parent<service_scope, system_scope>(ls, out, "a service is charged to the system");
  ds::child_vs_parent<protocol_scope, system_scope>(ls, out, "a protocol is charged to the system");
  ds::child_vs_parent<peer_scope, system_scope>(ls, out, "a peer is charged to the system");
  ds::child_vs_parent<service_peer_scope, service_scope>(ls, out, "a service's peer is part of the service");
  ds::child_vs_parent<service_peer_scope, peer_scope>(ls, out, "a service's peer is part of the peer");
  ds::child_vs_parent<protocol_peer_scope, protocol_scope>(ls, out, "a protocol's peer is part of the protocol");
  ds::child_vs_parent<protocol_peer_scope, peer_scope>(ls, out, "a protocol's peer is part of the peer");
  ds::child_vs_parent<connection_scope, transient_scope>(ls, out, "a connection starts in the transient scope");
  ds::child_vs_parent<connection_scope, peer_scope>(ls, out, "a connection is charged to its peer");
  ds::child_vs_parent<stream_scope, transient_scope>(ls, out, "a stream starts in the transient scope");
  ds::child_vs_parent<stream_scope, peer_scope>(ls, out, "a stream is charged to its peer");
  ds::child_vs_parent<stream_scope, protocol_peer_scope>(ls, out, "a stream is charged to its protocol's peer");
  ds::child_vs_parent<stream_scope, service_peer_scope>(ls, out, "a stream is charged to its service's peer");

  // 3. One peer against the whole system's connections.
  for (const auto& f : limit_fields) {
    if (f.res != resource::conns || sys.*f.member == unlimited) continue;
    const std::int64_t p = peer.*f.member, s = sys.*f.member;
    if (p >= s && s > 0)
      ds::need(out, severity::warning, check::peer_takes_system, "PeerDefault", f.name,
               "is " + limit_value_text(p, f.res) + ", not below System." + std::string(f.name) + " (" +
                   limit_value_text(s, f.res) + "): a single peer may hold every connection the system allows");
  }

  // 4. Directions against totals, everywhere.
  ds::directions_of<system_scope>(ls, out);
  ds::directions_of<transient_scope>(ls, out);
  ds::directions_of<service_scope>(ls, out);
  ds::directions_of<service_peer_scope>(ls, out);
  ds::directions_of<protocol_scope>(ls, out);
  ds::directions_of<protocol_peer_scope>(ls, out);
  ds::directions_of<peer_scope>(ls, out);
  ds::directions_of<connection_scope>(ls, out);
  ds::directions_of<stream_scope>(ls, out);

  // 5. The system admitting more inbound than outbound: inbound is what remote parties choose.
  if (sys.conns_inbound > sys.conns_outbound)
    ds::need(out, severity::warning, check::inbound_above_outbound, "System", "ConnsInbound",
             "is " + limit_value_text(sys.conns_inbound, resource::conns) + ", above ConnsOutbound (" +
                 limit_value_text(sys.conns_outbound, resource::conns) +
                 "): remote parties choose inbound connections; usually inbound is the smaller");
  if (sys.streams_inbound > sys.streams_outbound)
    ds::need(out, severity::warning, check::inbound_above_outbound, "System", "StreamsInbound",
             "is " + limit_value_text(sys.streams_inbound, resource::streams) + ", above StreamsOutbound (" +
                 limit_value_text(sys.streams_outbound, resource::streams) +
                 "): remote parties choose inbound streams; usually inbound is the smaller");

  // 6. Per-key overrides above the system, and overrides that block.
  ds::overrides_of<service_scope>(ls, out);
  ds::overrides_of<service_peer_scope>(ls, out);
  ds::overrides_of<protocol_scope>(ls, out);
  ds::overrides_of<protocol_peer_scope>(ls, out);
  ds::overrides_of<peer_scope>(ls, out);
  // Errors first, then warnings, then notes; in check order within each.
  std::stable_sort(out.begin(), out.end(), [](const finding& a, const finding& b) { return a.level > b.level; });
  return out;
}

}  // namespace rcmgr::libp2p
