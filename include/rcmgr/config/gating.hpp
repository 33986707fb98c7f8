// Gating files: the allowlist, the per-subnet connection limits and the connection rate limits
// (rcmgr/gating.hpp) as JSON, next to a go-libp2p limit file. go configures these in code
// (options of its resource manager), not in its limit JSON; this small format mirrors its option
// names. Part of the optional rcmgr::config target, read with the same strict reader as limit
// files (rcmgr/config/json.hpp): unknown keys, duplicate keys, wrong types, null, negative or
// out-of-range numbers are errors naming their path, and nothing is changed until the whole file
// has been read.
//
//   {
//     "Allowlist": ["/ip4/192.0.2.0/ipcidr/24", "/ip6/2001:db8::7/p2p/12D3KooW..."],
//     "ConnLimitPerSubnet": {"IPv4": [{"PrefixLength": 32, "ConnCount": 8}],
//                            "IPv6": [{"PrefixLength": 56, "ConnCount": 8}, {"PrefixLength": 48, "ConnCount": 64}]},
//     "NetworkPrefixLimits": [{"Network": "/ip4/127.0.0.0/ipcidr/8", "ConnCount": "unlimited"}],
//     "ConnRateLimitPerSubnet": {"IPv4": [{"PrefixLength": 32, "RPS": 0.2, "Burst": 16}]},
//     "NetworkPrefixRateLimits": [{"Network": "/ip6/::1", "RPS": 0, "Burst": 0}],
//     "GlobalRateLimit": {"RPS": 100, "Burst": 200},
//     "MaxTrackedSubnets": 4096
//   }
//
// Every key is optional: a key left out keeps the base's value (go's defaults unless another
// base is given); a key given replaces that whole list (an empty list removes those limits, as
// an empty slice does in go). ConnCount is a non-negative integer or "unlimited"; RPS is a
// non-negative number of connections per second (0: no rate limit), Burst a non-negative integer.
#pragma once

#include <cerrno>
#include <cmath>
#include <cstring>
#include <initializer_list>
#include <optional>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "rcmgr/allowlist.hpp"
#include "rcmgr/config/json.hpp"
#include "rcmgr/gating.hpp"
#include "rcmgr/libp2p/gated_resource_manager.hpp"

namespace rcmgr::config {

namespace detail {

inline std::optional<error> check_keys(const json& obj, const std::string& path, std::initializer_list<std::string_view> allowed) {
  if (!obj.is_object()) return at(path, "expected an object");
  for (auto it = obj.begin(); it != obj.end(); ++it) {
    bool ok = false;
    for (auto a : allowed) ok |= it.key() == a;
    if (!ok) {
      std::string m = "unknown key; expected one of";
      bool first = true;
      for (auto a : allowed) (m += first ? " " : ", ") += a, first = false;
      return at(path.empty() ? it.key() : path + "." + it.key(), m);
    }
  }
  return std::nullopt;
}
inline std::optional<error> read_count(const json& v, const std::string& path, std::int64_t max, bool unlimited_ok,
                                       std::int64_t& out) {
  if (unlimited_ok && v.is_string() && v.get_ref<const std::string&>() == "unlimited") {
    out = gating_options::unlimited;
    return std::nullopt;
  }
  if (v.is_number_unsigned() && v.get<std::uint64_t>() <= std::uint64_t(max)) {
    out = std::int64_t(v.get<std::uint64_t>());
    return std::nullopt;
  }
  return at(path, std::string("expected an integer from 0 to ") + std::to_string(max) + (unlimited_ok ? R"( or "unlimited")" : ""));
}
inline std::optional<error> read_rate(const json& obj, const std::string& path, rate_limit& out) {
  if (auto e = check_keys(obj, path, {"RPS", "Burst"})) return e;
  if (!obj.contains("RPS") || !obj.contains("Burst")) return at(path, "expected both RPS and Burst");
  const json& rps = obj.at("RPS");
  if (!rps.is_number() || !std::isfinite(rps.get<double>()) || rps.get<double>() < 0 || rps.get<double>() > 1e12)
    return at(path + ".RPS", "expected a number of connections per second from 0 (no limit) to 1e12");
  out.per_second = rps.get<double>();
  return read_count(obj.at("Burst"), path + ".Burst", std::int64_t{1} << 40, false, out.burst);
}
inline std::optional<error> read_network(const json& v, const std::string& path, ip_prefix& out) {
  if (!v.is_string()) return at(path, "expected a multiaddr network, e.g. \"/ip4/10.0.0.0/ipcidr/8\"");
  auto e = parse_allowlist_entry(v.get_ref<const std::string&>());
  if (!e || !e->peer.str().empty())
    return at(path, "expected a multiaddr network without a peer, e.g. \"/ip4/10.0.0.0/ipcidr/8\"");
  out = e->network;
  return std::nullopt;
}
template <class F>
std::optional<error> read_array(const json& v, const std::string& path, std::size_t max_items, F&& each) {
  if (!v.is_array()) return at(path, "expected an array");
  if (v.size() > max_items) return at(path, "too many entries (at most " + std::to_string(max_items) + ")");
  for (std::size_t i = 0; i < v.size(); ++i)
    if (auto e = each(v[i], path + "[" + std::to_string(i) + "]")) return e;
  return std::nullopt;
}

}  // namespace detail

/// Most entries in one list of a gating file (the allowlist included): generous for operators,
/// small enough that a hostile file cannot make reading expensive.
inline constexpr std::size_t max_gating_entries = 4096;
/// Most MaxTrackedSubnets a gating file may ask for.
inline constexpr std::int64_t max_tracked_subnets_in_file = std::int64_t{1} << 20;

/// Reads a gating document over `base`. All or nothing: an error names the path of the first
/// problem.
inline result<gating_options> read_gating(const nlohmann::json& doc, const gating_options& base = {}) {
  using namespace detail;
  gating_options o = base;
  if (auto e = check_keys(doc, "", {"Allowlist", "ConnLimitPerSubnet", "NetworkPrefixLimits", "ConnRateLimitPerSubnet",
                                    "NetworkPrefixRateLimits", "GlobalRateLimit", "MaxTrackedSubnets"}))
    return *e;
  if (doc.contains("Allowlist")) {
    o.allowlist.clear();
    if (auto e = read_array(doc.at("Allowlist"), "Allowlist", max_gating_entries, [&](const json& v, const std::string& p) -> std::optional<error> {
          if (!v.is_string()) return at(p, "expected a multiaddr string");
          auto r = parse_allowlist_entry(v.get_ref<const std::string&>());
          if (!r) return at(p, "not an allowlist entry (/ip4/<addr>[/ipcidr/<bits>][/p2p/<peer id>]): " + r.error().message());
          o.allowlist.push_back(v.get<std::string>());
          return std::nullopt;
        }))
      return *e;
  }
  auto per_subnet = [&](const char* key, auto& v4, auto& v6, auto&& item) -> std::optional<error> {
    if (!doc.contains(key)) return std::nullopt;
    const json& obj = doc.at(key);
    if (auto e = check_keys(obj, key, {"IPv4", "IPv6"})) return e;
    for (const char* fam : {"IPv4", "IPv6"}) {
      if (!obj.contains(fam)) continue;
      auto& list = std::string_view(fam) == "IPv4" ? v4 : v6;
      const int bits = std::string_view(fam) == "IPv4" ? 32 : 128;
      list.clear();
      if (auto e = read_array(obj.at(fam), std::string(key) + "." + fam, 64, [&](const json& v, const std::string& p) {
            return item(v, p, bits, list);
          }))
        return e;
    }
    return std::nullopt;
  };
  auto prefix_len = [](const json& v, const std::string& p, int bits, int& out) -> std::optional<error> {
    if (!v.contains("PrefixLength")) return at(p, "expected PrefixLength");
    std::int64_t n = 0;
    if (auto e = read_count(v.at("PrefixLength"), p + ".PrefixLength", bits, false, n)) return e;
    out = int(n);
    return std::nullopt;
  };
  if (auto e = per_subnet("ConnLimitPerSubnet", o.ipv4_subnet_conns, o.ipv6_subnet_conns,
                          [&](const json& v, const std::string& p, int bits, std::vector<subnet_conn_limit>& list) -> std::optional<error> {
                            if (auto k = check_keys(v, p, {"PrefixLength", "ConnCount"})) return k;
                            subnet_conn_limit l;
                            if (auto k = prefix_len(v, p, bits, l.prefix_len)) return k;
                            if (!v.contains("ConnCount")) return at(p, "expected ConnCount");
                            if (auto k = read_count(v.at("ConnCount"), p + ".ConnCount", gating_options::unlimited - 1, true, l.conns)) return k;
                            list.push_back(l);
                            return std::nullopt;
                          }))
    return *e;
  if (auto e = per_subnet("ConnRateLimitPerSubnet", o.ipv4_subnet_rates, o.ipv6_subnet_rates,
                          [&](const json& v, const std::string& p, int bits, std::vector<subnet_rate_limit>& list) -> std::optional<error> {
                            if (auto k = check_keys(v, p, {"PrefixLength", "RPS", "Burst"})) return k;
                            subnet_rate_limit l;
                            if (auto k = prefix_len(v, p, bits, l.prefix_len)) return k;
                            json r = json::object();
                            if (v.contains("RPS")) r["RPS"] = v.at("RPS");
                            if (v.contains("Burst")) r["Burst"] = v.at("Burst");
                            if (auto k = read_rate(r, p, l.limit)) return k;
                            list.push_back(l);
                            return std::nullopt;
                          }))
    return *e;
  if (doc.contains("NetworkPrefixLimits")) {
    o.network_conns.clear();
    if (auto e = read_array(doc.at("NetworkPrefixLimits"), "NetworkPrefixLimits", max_gating_entries,
                            [&](const json& v, const std::string& p) -> std::optional<error> {
                              if (auto k = check_keys(v, p, {"Network", "ConnCount"})) return k;
                              network_conn_limit l;
                              if (!v.contains("Network") || !v.contains("ConnCount")) return at(p, "expected Network and ConnCount");
                              if (auto k = read_network(v.at("Network"), p + ".Network", l.network)) return k;
                              if (auto k = read_count(v.at("ConnCount"), p + ".ConnCount", gating_options::unlimited - 1, true, l.conns)) return k;
                              o.network_conns.push_back(l);
                              return std::nullopt;
                            }))
      return *e;
  }
  if (doc.contains("NetworkPrefixRateLimits")) {
    o.network_rates.clear();
    if (auto e = read_array(doc.at("NetworkPrefixRateLimits"), "NetworkPrefixRateLimits", max_gating_entries,
                            [&](const json& v, const std::string& p) -> std::optional<error> {
                              if (auto k = check_keys(v, p, {"Network", "RPS", "Burst"})) return k;
                              network_rate_limit l;
                              if (!v.contains("Network")) return at(p, "expected Network");
                              if (auto k = read_network(v.at("Network"), p + ".Network", l.network)) return k;
                              json r = json::object();
                              if (v.contains("RPS")) r["RPS"] = v.at("RPS");
                              if (v.contains("Burst")) r["Burst"] = v.at("Burst");
                              if (auto k = read_rate(r, p, l.limit)) return k;
                              o.network_rates.push_back(l);
                              return std::nullopt;
                            }))
      return *e;
  }
  if (doc.contains("GlobalRateLimit"))
    if (auto e = read_rate(doc.at("GlobalRateLimit"), "GlobalRateLimit", o.global_rate)) return *e;
  if (doc.contains("MaxTrackedSubnets")) {
    std::int64_t n = 0;
    // The tables are allocated up front, about 400 bytes per entry (gating_options): 2^20
    // entries are some 400 MiB already; a file must not be able to ask for gigabytes.
    if (auto e = read_count(doc.at("MaxTrackedSubnets"), "MaxTrackedSubnets", max_tracked_subnets_in_file, false, n)) return *e;
    if (n < 16) return at("MaxTrackedSubnets", "expected at least 16");
    o.max_tracked_subnets = std::size_t(n);
  }
  return o;
}

/// Parses and reads gating-file text; a syntax error reports its line and column, a duplicate
/// key its path (the limit-file reader's rules).
inline result<gating_options> parse_gating(std::string_view text, const gating_options& base = {}) {
  nlohmann::json doc;
  detail::strict_sax sax(doc);
  if (!nlohmann::json::sax_parse(text.begin(), text.end(), &sax)) {
    // The limit-file reader turns the same parser state into its error; reuse it.
    auto r = parse_limits(text);
    if (!r) return r.error();
    return detail::at("", "syntax error");
  }
  return read_gating(doc, base);
}

/// Reads a gating file. Errors carry the file name in `source`.
inline result<gating_options> load_gating(const std::filesystem::path& file, const gating_options& base = {}) {
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    error e;
    e.source = file.string();
    e.message = std::string("cannot open: ") + std::strerror(errno);
    return e;
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  auto r = parse_gating(std::move(ss).str(), base);
  if (!r) {
    error e = r.error();
    e.source = file.string();
    return e;
  }
  return r;
}

/// The limits of a gated manager from a limit file: its AllowlistedSystem and
/// AllowlistedTransient (go's defaults for them, the System and Transient limits, when absent).
inline libp2p::gated_limits gated_limits(const limit_config& c) {
  return libp2p::make_gated_limits(c.limits, c.allowlisted_system.value_or(c.limits.get<libp2p::system_scope>()),
                                   c.allowlisted_transient.value_or(c.limits.get<libp2p::transient_scope>()));
}

}  // namespace rcmgr::config
