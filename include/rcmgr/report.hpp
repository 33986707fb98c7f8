// The usage report: every scope with usage (or every scope, on request), its usage against its
// limit per resource with the percentage, the scopes at or above a threshold highlighted, and
// the top peers by each resource -- as text for a terminal or JSON for tools. Also
// high_water_observer, which remembers the most each scope ever held.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdio>
#include <map>
#include <mutex>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "rcmgr/detail/printable.hpp"
#include "rcmgr/libp2p/resource_manager.hpp"
#include "rcmgr/observer.hpp"
#include "rcmgr/print.hpp"

namespace rcmgr {

/// Remembers, per scope (by name), the most of each resource it ever held (each field
/// separately). Install with observed_by<high_water_observer> (alone or with others); it reads
/// the path of every reservation, so it costs more than a counter: use it while diagnosing.
class high_water_observer {
 public:
  /// Most scopes remembered by name; the marks of scopes seen after that are merged under
  /// "other scopes" (the most any one of them held).
  static constexpr std::size_t max_marks = 4096;

  static constexpr bool wants(scope_event::type t, std::string_view) noexcept {
    return t == scope_event::type::opened || t == scope_event::type::reserved || t == scope_event::type::attached;
  }
  void on_event(const scope_event& e) {
    using T = scope_event::type;
    if (e.err != nullptr || (e.what != T::opened && e.what != T::reserved && e.what != T::attached)) return;
    std::lock_guard lk(mu_);
    e.path.for_each([&](const scope_name& n, const scope_stat& u, const void* object) {
      std::string key = object != nullptr ? std::string(n.kind) : n.str();
      auto it = marks_.find(key);
      if (it == marks_.end()) {
        // Peer ids cost a remote nothing to make up: past the bound, new scopes share one mark.
        if (marks_.size() >= max_marks) key = "other scopes";
        it = marks_.try_emplace(std::move(key)).first;
      }
      auto& m = it->second;
      m.memory = std::max(m.memory, u.memory);
      m.streams_inbound = std::max(m.streams_inbound, u.streams_inbound);
      m.streams_outbound = std::max(m.streams_outbound, u.streams_outbound);
      m.conns_inbound = std::max(m.conns_inbound, u.conns_inbound);
      m.conns_outbound = std::max(m.conns_outbound, u.conns_outbound);
      m.fd = std::max(m.fd, u.fd);
    });
  }
  /// The marks by scope name ("system", "peer:12D3..."; connections, streams and spans are
  /// merged under their kind: the most any one of them held).
  std::map<std::string, scope_stat> marks() const {
    std::lock_guard lk(mu_);
    return marks_;
  }
  /// The marks of one scope (zero if never seen).
  scope_stat mark(std::string_view name) const {
    std::lock_guard lk(mu_);
    auto it = marks_.find(std::string(name));
    return it == marks_.end() ? scope_stat{} : it->second;
  }

 private:
  mutable std::mutex mu_;
  std::map<std::string, scope_stat> marks_;
};

/// What make_usage_report includes.
struct report_options {
  bool all = false;          ///< every live scope, idle ones too (default: those with usage)
  double threshold = 0.8;    ///< highlight scopes using at least this fraction of any limit
  std::size_t top = 5;       ///< peers listed per resource
  bool color = false;        ///< text: ANSI bold red for highlighted scopes
  /// Per-key limits in force (the limit set the manager was given); without it each kind's
  /// default limit is shown, which is wrong for keys with their own limit.
  const libp2p::limits* limits = nullptr;
  const high_water_observer* high_water = nullptr;  ///< adds each scope's peak usage
};

/// One scope in the report.
struct scope_report {
  std::string name;       ///< "system", "peer:12D3...", "protocol-peer:/x@12D3..."
  scope_stat usage;
  limit lim;
  bool has_peak = false;
  scope_stat peak;        ///< with report_options::high_water
  /// Fraction of the limit used, per resource (the highest of the directional and total ones;
  /// 0 when unlimited; 1 or more at or over the limit).
  double memory = 0, streams = 0, conns = 0, fd = 0;
  double highest() const noexcept { return std::max({memory, streams, conns, fd}); }
};

/// The report: scopes (system, transient, services, protocols, peers, then views) and top peers.
struct usage_report {
  double threshold = 0.8;
  bool color = false;
  std::vector<scope_report> scopes;
  struct ranked {
    std::string peer;
    std::int64_t value = 0;
  };
  /// Top peers by memory, streams, conns and fd (in that order), largest first; zeros left out.
  std::array<std::vector<ranked>, 4> top;
  static constexpr std::array<std::string_view, 4> top_names{"memory", "streams", "conns", "fd"};

  bool above(const scope_report& s) const noexcept { return s.highest() >= threshold; }
};

namespace detail {
inline double fraction(std::int64_t used, std::int64_t lim) noexcept {
  if (lim == unlimited) return 0;
  if (lim == 0) return used > 0 ? 1.0 : 0;
  return static_cast<double>(used) / static_cast<double>(lim);
}
inline scope_report make_scope_report(std::string name, const scope_stat& u, const limit& l) {
  scope_report r;
  r.name = std::move(name);
  r.usage = u;
  r.lim = l;
  r.memory = fraction(u.memory, l.memory);
  r.streams = std::max({fraction(u.streams_inbound, l.streams_inbound), fraction(u.streams_outbound, l.streams_outbound),
                        fraction(u.streams(), l.streams)});
  r.conns = std::max({fraction(u.conns_inbound, l.conns_inbound), fraction(u.conns_outbound, l.conns_outbound),
                      fraction(u.conns(), l.conns)});
  r.fd = fraction(u.fd, l.fd);
  return r;
}
template <class L>
limit as_limit(const L& l) {
  return {l.stream_limit(direction::inbound), l.stream_limit(direction::outbound), l.stream_total_limit(),
          l.conn_limit(direction::inbound),   l.conn_limit(direction::outbound),   l.conn_total_limit(),
          l.fd_limit(),                       l.memory_limit()};
}
template <class K>
std::string key_string(const K& k) {
  if constexpr (std::is_convertible_v<const K&, std::string_view>) return std::string(std::string_view(k));
  else return to_string(k);
}
}  // namespace detail

/// Reads every scope of a libp2p resource manager into a report (a consistent view per scope,
/// not across scopes: the manager keeps running).
template <class... Policies>
usage_report make_usage_report(resource_manager<Policies...>& mgr, const report_options& opt = {}) {
  namespace lp = libp2p;
  usage_report rep;
  rep.threshold = opt.threshold;
  rep.color = opt.color;
  auto add = [&](std::string name, const scope_stat& u, const limit& l) {
    if (!opt.all && u.empty()) return;
    auto r = detail::make_scope_report(std::move(name), u, l);
    if (opt.high_water != nullptr) {
      r.has_peak = true;
      r.peak = opt.high_water->mark(r.name);
    }
    rep.scopes.push_back(std::move(r));
  };
  auto lim = [&]<class K>(std::type_identity<K>, const auto&... key) -> limit {
    if (opt.limits != nullptr) {
      if constexpr (sizeof...(key) == 0) return detail::as_limit(opt.limits->template get<K>());
      else return detail::as_limit(opt.limits->template get<K>(key...));
    }
    return detail::as_limit(mgr.template get_limit<K>());
  };
  add("system", mgr.template stat<lp::system_scope>(), lim(std::type_identity<lp::system_scope>{}));
  add("transient", mgr.template stat<lp::transient_scope>(), lim(std::type_identity<lp::transient_scope>{}));
  for (const auto& [k, u] : mgr.list_services()) add("service:" + detail::key_string(k), u, lim(std::type_identity<lp::service_scope>{}, k));
  for (const auto& [k, u] : mgr.list_protocols()) add("protocol:" + detail::key_string(k), u, lim(std::type_identity<lp::protocol_scope>{}, k));
  const auto peers = mgr.list_peers();
  for (const auto& [k, u] : peers) add("peer:" + detail::key_string(k), u, lim(std::type_identity<lp::peer_scope>{}, k));
  for (const auto& [k, u] : mgr.template list<lp::service_peer_scope>())
    add("service-peer:" + detail::key_string(k.first) + "@" + detail::key_string(k.second), u,
        lim(std::type_identity<lp::service_peer_scope>{}, k.first));
  for (const auto& [k, u] : mgr.template list<lp::protocol_peer_scope>())
    add("protocol-peer:" + detail::key_string(k.first) + "@" + detail::key_string(k.second), u,
        lim(std::type_identity<lp::protocol_peer_scope>{}, k.first));

  const auto by = [](const scope_stat& u, std::size_t r) {
    return r == 0 ? u.memory : r == 1 ? u.streams() : r == 2 ? u.conns() : u.fd;
  };
  for (std::size_t r = 0; r < 4; ++r) {
    auto& t = rep.top[r];
    for (const auto& [k, u] : peers)
      if (by(u, r) > 0) t.push_back({detail::key_string(k), by(u, r)});
    std::sort(t.begin(), t.end(), [](const auto& a, const auto& b) { return a.value != b.value ? a.value > b.value : a.peer < b.peer; });
    if (t.size() > opt.top) t.resize(opt.top);
  }
  return rep;
}

namespace detail {
inline std::string percent(double f) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%.1f%%", f * 100);
  return buf;
}
inline void usage_of(std::ostream& os, std::int64_t used, std::int64_t lim, bool bytes) {
  os << (bytes ? format_bytes(used) : std::to_string(used)) << " of ";
  if (lim == unlimited) os << "unlimited";
  else os << (bytes ? format_bytes(lim) : std::to_string(lim)) << " (" << percent(fraction(used, lim)) << ')';
}
/// A JSON string. A byte that is not part of well-formed UTF-8 (keys may hold any bytes) is
/// written as the character of the same value (\u00XX), so the document stays valid JSON;
/// control characters (C0, DEL, C1) are escaped too, so a viewer's terminal sees none.
inline void json_string(std::ostream& os, std::string_view s) {
  os << '"';
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    const auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') os << '\\' << c;
    else if (u >= 0x80 && utf8_sequence(s, i) != 0) {
      const std::size_t n = utf8_sequence(s, i);
      if (u == 0xc2 && static_cast<unsigned char>(s[i + 1]) < 0xa0) {  // a C1 control, escaped
        char buf[8];
        std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(static_cast<unsigned char>(s[i + 1])));
        os << buf;
      } else {
        os.write(s.data() + i, static_cast<std::streamsize>(n));
      }
      i += n - 1;
    } else if (u < 0x20 || u >= 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(u));
      os << buf;
    } else os << c;
  }
  os << '"';
}
inline void json_value(std::ostream& os, std::int64_t v) {
  if (v == unlimited) os << "\"unlimited\"";
  else os << v;
}
}  // namespace detail

/// The report as text, for example
///   ! peer:12D3KooWAbuse                                  (at or above 80% of a limit)
///       streams  in 16 of 16 (100.0%), out 0 of 16 (0.0%), total 16 of 32 (50.0%)
inline void print_text(std::ostream& os, const usage_report& rep) {
  std::size_t above = 0;
  for (const auto& s : rep.scopes) above += rep.above(s) ? 1u : 0u;
  os << "rcmgr usage: " << rep.scopes.size() << " scopes, " << above << " at or above " << detail::percent(rep.threshold)
     << " of a limit (marked !)\n";
  for (const auto& s : rep.scopes) {
    const bool hot = rep.above(s);
    os << (hot ? "! " : "  ");
    if (hot && rep.color) os << "\x1b[1;31m";
    detail::write_printable(os, s.name);  // keys are chosen by peers: no escape sequences
    if (hot && rep.color) os << "\x1b[0m";
    os << "  (highest " << detail::percent(s.highest()) << ")\n";
    const auto& u = s.usage;
    const auto& l = s.lim;
    os << "      memory   ";
    detail::usage_of(os, u.memory, l.memory, true);
    if (s.has_peak) os << ", peak " << format_bytes(s.peak.memory);
    os << "\n      streams  in ";
    detail::usage_of(os, u.streams_inbound, l.streams_inbound, false);
    os << ", out ";
    detail::usage_of(os, u.streams_outbound, l.streams_outbound, false);
    os << ", total ";
    detail::usage_of(os, u.streams(), l.streams, false);
    if (s.has_peak) os << ", peak " << s.peak.streams_inbound << " in / " << s.peak.streams_outbound << " out";
    os << "\n      conns    in ";
    detail::usage_of(os, u.conns_inbound, l.conns_inbound, false);
    os << ", out ";
    detail::usage_of(os, u.conns_outbound, l.conns_outbound, false);
    os << ", total ";
    detail::usage_of(os, u.conns(), l.conns, false);
    if (s.has_peak) os << ", peak " << s.peak.conns_inbound << " in / " << s.peak.conns_outbound << " out";
    os << "\n      fd       ";
    detail::usage_of(os, u.fd, l.fd, false);
    if (s.has_peak) os << ", peak " << s.peak.fd;
    os << '\n';
  }
  for (std::size_t r = 0; r < 4; ++r) {
    os << "top peers by " << usage_report::top_names[r] << ':';
    if (rep.top[r].empty()) os << " none";
    os << '\n';
    for (const auto& t : rep.top[r]) {
      os << "  ";
      detail::write_printable(os, t.peer);
      os << "  " << (r == 0 ? format_bytes(t.value) : std::to_string(t.value)) << '\n';
    }
  }
}

/// The report as one JSON object: {"threshold", "scopes": [{"name", "above", "usage", "limit",
/// "fraction", "peak"?}], "top_peers": {"memory": [{"peer", "value"}], ...}}. Usage and limits
/// use go-libp2p's field names (Memory, StreamsInbound, ...; "unlimited" for no limit).
inline void print_json(std::ostream& os, const usage_report& rep) {
  auto stat = [&](const scope_stat& u) {
    os << "{\"Memory\":" << u.memory << ",\"StreamsInbound\":" << u.streams_inbound
       << ",\"StreamsOutbound\":" << u.streams_outbound << ",\"ConnsInbound\":" << u.conns_inbound
       << ",\"ConnsOutbound\":" << u.conns_outbound << ",\"FD\":" << u.fd << '}';
  };
  os << "{\"threshold\":" << rep.threshold << ",\"scopes\":[";
  for (std::size_t i = 0; i < rep.scopes.size(); ++i) {
    const auto& s = rep.scopes[i];
    const auto& l = s.lim;
    os << (i ? "," : "") << "{\"name\":";
    detail::json_string(os, s.name);
    os << ",\"above\":" << (rep.above(s) ? "true" : "false") << ",\"usage\":";
    stat(s.usage);
    os << ",\"limit\":{\"Memory\":";
    detail::json_value(os, l.memory);
    os << ",\"Streams\":";
    detail::json_value(os, l.streams);
    os << ",\"StreamsInbound\":";
    detail::json_value(os, l.streams_inbound);
    os << ",\"StreamsOutbound\":";
    detail::json_value(os, l.streams_outbound);
    os << ",\"Conns\":";
    detail::json_value(os, l.conns);
    os << ",\"ConnsInbound\":";
    detail::json_value(os, l.conns_inbound);
    os << ",\"ConnsOutbound\":";
    detail::json_value(os, l.conns_outbound);
    os << ",\"FD\":";
    detail::json_value(os, l.fd);
    os << "},\"fraction\":{\"memory\":" << s.memory << ",\"streams\":" << s.streams << ",\"conns\":" << s.conns
       << ",\"fd\":" << s.fd << '}';
    if (s.has_peak) {
      os << ",\"peak\":";
      stat(s.peak);
    }
    os << '}';
  }
  os << "],\"top_peers\":{";
  for (std::size_t r = 0; r < 4; ++r) {
    os << (r ? "," : "") << '"' << usage_report::top_names[r] << "\":[";
    for (std::size_t i = 0; i < rep.top[r].size(); ++i) {
      os << (i ? "," : "") << "{\"peer\":";
      detail::json_string(os, rep.top[r][i].peer);
      os << ",\"value\":" << rep.top[r][i].value << '}';
    }
    os << ']';
  }
  os << "}}";
}

}  // namespace rcmgr
