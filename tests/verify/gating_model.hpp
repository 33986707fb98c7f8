// A reference model of connection gating, written the plain way (ordered maps, one function per
// rule of docs/gating.md, no capacity, no sharding, no hashing) for the differential test to
// compare rcmgr::gated_resource_manager with. It knows the connection scopes that gating
// touches: transient, system, their allowlisted twins, and peers (connections only).
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "rcmgr/gating.hpp"
#include "rcmgr/limits.hpp"
#include "rcmgr/multiaddr.hpp"

namespace rcmgr_verify {

struct gating_model {
  struct bucket {
    double tokens = 0;
    std::int64_t stamp = 0;
  };
  struct conns {
    std::int64_t in = 0, out = 0;
    std::int64_t total() const { return in + out; }
    std::int64_t& of(rcmgr::direction d) { return d == rcmgr::direction::inbound ? in : out; }
  };
  struct conn {
    rcmgr::ip_address ip;
    rcmgr::direction dir;
    bool has_ip = false;
    bool subnets = false;                  // counted in the subnet levels
    std::optional<rcmgr::ip_prefix> net;   // counted in this network prefix
    bool alt = false;                      // in the allowlisted scopes
    std::optional<std::string> peer;
  };
  enum class outcome { ok, invalid, rate, subnet, scope };
  /// What a gate refusal names: "rate", "rate:<prefix>" or "subnet:<prefix>", and its numbers
  /// (whole tokens left and the burst, or connections counted and the limit).
  struct refusal {
    std::string scope;
    std::int64_t current = 0, limit = 0;
  };

  rcmgr::gating_options opt;
  rcmgr::limit transient, system, al_transient, al_system, peer_limit;
  std::int64_t now = 0;

  std::vector<rcmgr::network_conn_limit> net_limits;  // most specific first
  std::map<std::string, std::int64_t> net_counts;     // by prefix text
  std::map<std::tuple<bool, int, std::string>, std::int64_t> subnet_counts;
  std::map<std::tuple<bool, int, std::string>, bucket> buckets;
  std::map<std::string, bucket> net_buckets;
  std::optional<bucket> global;
  std::vector<rcmgr::allowlist_entry> allow;
  conns c_transient, c_system, c_al_transient, c_al_system;
  std::map<std::string, conns> c_peer;

  void build_networks() {
    net_limits = opt.network_conns;
    for (const auto& e : allow) {
      if (!e.peer.str().empty()) continue;
      bool known = false;
      for (const auto& n : net_limits) known |= n.network == e.network;
      if (!known) net_limits.push_back({e.network, al_system.conns});
    }
    std::stable_sort(net_limits.begin(), net_limits.end(), [](const auto& a, const auto& b) { return a.network.len > b.network.len; });
  }

  static double refill(const bucket& b, const rcmgr::rate_limit& r, std::int64_t t) {
    const double elapsed = t > b.stamp ? double(t - b.stamp) * 1e-9 : 0.0;
    const double v = b.tokens + elapsed * r.per_second;
    return v < double(r.burst) ? v : double(r.burst);
  }
  static bool take(bucket& b, const rcmgr::rate_limit& r, std::int64_t t) {
    b.tokens = refill(b, r, t);
    b.stamp = t;  // a clock that went back refills nothing, then refills from there (go's x/time/rate)
    if (b.tokens < 1.0) return false;
    b.tokens -= 1.0;
    return true;
  }

  struct level {
    int len;
    std::int64_t conns;
    rcmgr::rate_limit rate;
  };
  std::vector<level> levels(bool v6) const {
    std::vector<level> out;
    auto at = [&](int len) -> level& {
      for (auto& l : out)
        if (l.len == len) return l;
      out.push_back({len, -1, {}});
      return out.back();
    };
    for (const auto& c : v6 ? opt.ipv6_subnet_conns : opt.ipv4_subnet_conns) at(c.prefix_len).conns = c.conns;
    for (const auto& r : v6 ? opt.ipv6_subnet_rates : opt.ipv4_subnet_rates) at(r.prefix_len).rate = r.limit;
    std::stable_sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.len > b.len; });
    return out;
  }
  static std::tuple<bool, int, std::string> key(const rcmgr::ip_address& ip, int len) { return {ip.v6, len, ip.masked(len).str()}; }

  bool allowed(const rcmgr::ip_address& ip) const {
    for (const auto& e : allow)
      if (e.network.contains(ip)) return true;
    return false;
  }
  bool allowed(const rcmgr::ip_address& ip, const std::string& p) const {
    for (const auto& e : allow)
      if (e.network.contains(ip) && (e.peer.str().empty() || e.peer.str() == p)) return true;
    return false;
  }

  void uncount_subnets(const rcmgr::ip_address& ip, std::size_t upto) {
    auto lv = levels(ip.v6);
    for (std::size_t i = 0; i < upto && i < lv.size(); ++i)
      if (lv[i].conns >= 0) {
        auto& n = subnet_counts[key(ip, lv[i].len)];
        if (n > 0) --n;
      }
  }
  void release(conn& c) {
    if (c.subnets) uncount_subnets(c.ip, 99);
    if (c.net) --net_counts[c.net->str()];
    c.subnets = false;
    c.net.reset();
  }

  /// The gate's admission (docs/gating.md, steps 2 and 3).
  outcome admit(conn& c, refusal* why = nullptr) {
    const rcmgr::ip_address& ip = c.ip;
    auto refused = [&](outcome o, std::string scope, double current, std::int64_t limit) {
      if (why != nullptr) *why = {std::move(scope), std::int64_t(current), limit};
      return o;
    };
    bool in_rate_net = false;
    std::vector<rcmgr::network_rate_limit> rn = opt.network_rates;
    std::stable_sort(rn.begin(), rn.end(), [](const auto& a, const auto& b) { return a.network.len > b.network.len; });
    for (const auto& n : rn) {
      if (!n.network.contains(ip)) continue;
      in_rate_net = true;
      if (n.limit.limited()) {
        auto [it, fresh] = net_buckets.try_emplace(n.network.str());
        if (fresh) it->second = {double(n.limit.burst), now};
        if (!take(it->second, n.limit, now)) return refused(outcome::rate, "rate:" + n.network.str(), it->second.tokens, n.limit.burst);
      }
    }
    const rcmgr::network_conn_limit* cn = nullptr;
    for (const auto& n : net_limits)
      if (n.network.contains(ip)) {
        cn = &n;
        break;
      }
    if (!in_rate_net || cn == nullptr) {
      auto lv = levels(ip.v6);
      for (std::size_t i = 0; i < lv.size(); ++i) {
        const bool cnt = cn == nullptr && lv[i].conns >= 0, rt = !in_rate_net && lv[i].rate.limited();
        if (!cnt && !rt) continue;
        const auto k = key(ip, lv[i].len);
        auto [it, fresh] = buckets.try_emplace(k);
        if (fresh) it->second = {double(lv[i].rate.burst), now};
        const std::string subnet = rcmgr::ip_prefix{ip.masked(lv[i].len), lv[i].len}.str();
        if (rt && !take(it->second, lv[i].rate, now)) {
          if (cn == nullptr) uncount_subnets(ip, i);
          return refused(outcome::rate, "rate:" + subnet, it->second.tokens, lv[i].rate.burst);
        }
        if (cnt) {
          auto& n = subnet_counts[k];
          if (n + 1 > lv[i].conns) {
            uncount_subnets(ip, i);
            return refused(outcome::subnet, "subnet:" + subnet, double(n), lv[i].conns);
          }
          ++n;
        }
      }
      c.subnets = cn == nullptr;
    }
    if (!in_rate_net && opt.global_rate.limited()) {
      if (!global) global = bucket{double(opt.global_rate.burst), now};
      if (!take(*global, opt.global_rate, now)) {
        release(c);
        return refused(outcome::rate, "rate", global->tokens, opt.global_rate.burst);
      }
    }
    if (cn != nullptr) {
      auto& n = net_counts[cn->network.str()];
      if (n + 1 > cn->conns) {
        release(c);
        return refused(outcome::subnet, "subnet:" + cn->network.str(), double(n), cn->conns);
      }
      ++n;
      c.net = cn->network;
    }
    return outcome::ok;
  }

  static bool fits(const conns& c, const rcmgr::limit& l, rcmgr::direction d) {
    const std::int64_t dir_used = d == rcmgr::direction::inbound ? c.in : c.out;
    return dir_used + 1 <= l.conn_limit(d) && c.total() + 1 <= l.conns;
  }

  outcome open(conn& c) {
    if (c.has_ip) {
      c.ip = c.ip.unmapped();
      if (auto o = admit(c); o != outcome::ok) return o;
    }
    // the regular scopes (connection limit 1 is always met for a new connection)
    if (fits(c_transient, transient, c.dir) && fits(c_system, system, c.dir)) {
      ++c_transient.of(c.dir);
      ++c_system.of(c.dir);
      return outcome::ok;
    }
    if (c.has_ip && allowed(c.ip)) {
      release(c);
      if (fits(c_al_transient, al_transient, c.dir) && fits(c_al_system, al_system, c.dir)) {
        ++c_al_transient.of(c.dir);
        ++c_al_system.of(c.dir);
        c.alt = true;
        return outcome::ok;
      }
    }
    release(c);
    return outcome::scope;
  }

  outcome set_peer(conn& c, const std::string& p) {
    if (c.peer) return outcome::invalid;  // already attached
    if (c.alt && !(c.has_ip && allowed(c.ip, p))) {
      if (!(fits(c_transient, transient, c.dir) && fits(c_system, system, c.dir))) return outcome::scope;
      ++c_transient.of(c.dir);
      ++c_system.of(c.dir);
      --c_al_transient.of(c.dir);
      --c_al_system.of(c.dir);
      c.alt = false;
    }
    auto& pc = c_peer[p];
    if (!fits(pc, peer_limit, c.dir)) return outcome::scope;
    ++pc.of(c.dir);
    --(c.alt ? c_al_transient : c_transient).of(c.dir);
    c.peer = p;
    return outcome::ok;
  }

  void done(conn& c) {
    release(c);
    if (c.peer) --c_peer[*c.peer].of(c.dir);
    else --(c.alt ? c_al_transient : c_transient).of(c.dir);
    --(c.alt ? c_al_system : c_system).of(c.dir);
  }
};

}  // namespace rcmgr_verify
