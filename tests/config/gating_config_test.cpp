// Gating files (rcmgr/config/gating.hpp): the documented format, the defaults it keeps, and
// errors that name the path of the first problem.
#include <catch2/catch.hpp>

#include <string>

#include "rcmgr/config/gating.hpp"

using rcmgr::config::parse_gating;

namespace {
std::string err(std::string_view text) {
  auto r = parse_gating(text);
  REQUIRE_FALSE(r);
  return r.error().str();
}
}  // namespace

TEST_CASE("an empty gating file keeps go's defaults") {
  auto r = parse_gating("{}");
  REQUIRE(r);
  REQUIRE(r->ipv4_subnet_conns.size() == 1);
  CHECK(r->ipv4_subnet_conns[0].prefix_len == 32);
  CHECK(r->ipv4_subnet_conns[0].conns == 8);
  REQUIRE(r->ipv6_subnet_conns.size() == 2);
  CHECK(r->ipv6_subnet_conns[1].conns == 64);
  CHECK(r->ipv4_subnet_rates[0].limit == rcmgr::rate_limit{0.2, 16});
  CHECK(r->ipv6_subnet_rates[1].limit == rcmgr::rate_limit{0.5, 80});
  CHECK(r->network_conns.size() == 2);
  CHECK_FALSE(r->global_rate.limited());
}

TEST_CASE("the documented example reads") {
  auto r = parse_gating(R"({
    "Allowlist": ["/ip4/192.0.2.0/ipcidr/24", "/ip6/2001:db8::7/p2p/12D3KooWBoot"],
    "ConnLimitPerSubnet": {"IPv4": [{"PrefixLength": 32, "ConnCount": 8}],
                           "IPv6": [{"PrefixLength": 56, "ConnCount": 8}, {"PrefixLength": 48, "ConnCount": 64}]},
    "NetworkPrefixLimits": [{"Network": "/ip4/127.0.0.0/ipcidr/8", "ConnCount": "unlimited"}],
    "ConnRateLimitPerSubnet": {"IPv4": [{"PrefixLength": 24, "RPS": 0.5, "Burst": 32}]},
    "NetworkPrefixRateLimits": [{"Network": "/ip6/::1", "RPS": 0, "Burst": 0}],
    "GlobalRateLimit": {"RPS": 100, "Burst": 200},
    "MaxTrackedSubnets": 8192
  })");
  REQUIRE(r);
  CHECK(r->allowlist.size() == 2);
  CHECK(r->network_conns.size() == 1);
  CHECK(r->network_conns[0].conns == rcmgr::gating_options::unlimited);
  REQUIRE(r->ipv4_subnet_rates.size() == 1);
  CHECK(r->ipv4_subnet_rates[0].prefix_len == 24);
  CHECK(r->ipv6_subnet_rates.size() == 2);  // not given: kept
  CHECK(r->global_rate == rcmgr::rate_limit{100, 200});
  CHECK(r->max_tracked_subnets == 8192);
  rcmgr::gated_resource_manager<> m(rcmgr::libp2p::default_gated_limits(), *r);
  CHECK(m.gating().ok());
  CHECK(m.allowlist().list().size() == 2);
}

TEST_CASE("an empty list removes those limits") {
  auto r = parse_gating(R"({"ConnLimitPerSubnet": {"IPv6": []}, "NetworkPrefixLimits": []})");
  REQUIRE(r);
  CHECK(r->ipv6_subnet_conns.empty());
  CHECK(r->ipv4_subnet_conns.size() == 1);
  CHECK(r->network_conns.empty());
}

TEST_CASE("gating files are read strictly, errors name the path") {
  CHECK(err(R"({"Allowlist": ["/ip4/1.2.3.4/ipcidr/40"]})").rfind("Allowlist[0]: not an allowlist entry", 0) == 0);
  CHECK(err(R"({"Allowlist": [7]})") == "Allowlist[0]: expected a multiaddr string");
  CHECK(err(R"({"Alowlist": []})").rfind("Alowlist: unknown key; expected one of Allowlist, ", 0) == 0);
  CHECK(err(R"({"ConnLimitPerSubnet": {"IPv4": [{"PrefixLength": 33, "ConnCount": 1}]}})") ==
        "ConnLimitPerSubnet.IPv4[0].PrefixLength: expected an integer from 0 to 32");
  CHECK(err(R"({"ConnLimitPerSubnet": {"IPv4": [{"PrefixLength": 24, "ConnCount": -1}]}})") ==
        R"(ConnLimitPerSubnet.IPv4[0].ConnCount: expected an integer from 0 to 9223372036854775806 or "unlimited")");
  CHECK(err(R"({"ConnLimitPerSubnet": {"IPv5": []}})").rfind("ConnLimitPerSubnet.IPv5: unknown key", 0) == 0);
  CHECK(err(R"({"ConnRateLimitPerSubnet": {"IPv6": [{"PrefixLength": 48, "RPS": "fast", "Burst": 1}]}})") ==
        "ConnRateLimitPerSubnet.IPv6[0].RPS: expected a number of connections per second from 0 (no limit) to 1e12");
  CHECK(err(R"({"GlobalRateLimit": {"RPS": 1}})") == "GlobalRateLimit: expected both RPS and Burst");
  CHECK(err(R"({"NetworkPrefixLimits": [{"Network": "/ip4/1.2.3.4/p2p/12D3KooWX", "ConnCount": 1}]})") ==
        R"(NetworkPrefixLimits[0].Network: expected a multiaddr network without a peer, e.g. "/ip4/10.0.0.0/ipcidr/8")");
  CHECK(err(R"({"MaxTrackedSubnets": 2})") == "MaxTrackedSubnets: expected at least 16");
  // the tables are allocated up front: a file cannot ask for gigabytes of them
  CHECK(err(R"({"MaxTrackedSubnets": 16777216})") == "MaxTrackedSubnets: expected an integer from 0 to 1048576");
  // a key's control characters are escaped in the message (it may be shown on a terminal)
  CHECK(err(R"({"\u001b[2J\nforged": 1})").rfind(R"(\x1b[2J\x0aforged: unknown key)", 0) == 0);
  CHECK(err(R"({"GlobalRateLimit": {"RPS": 1e400, "Burst": 1}})") != "");
  CHECK(err(R"({"GlobalRateLimit": {"RPS": -0.5, "Burst": 1}})") != "");
  CHECK(err(R"({"GlobalRateLimit": {"RPS": 1, "Burst": 2}, "GlobalRateLimit": {"RPS": 1, "Burst": 2}})").find("duplicate key") !=
        std::string::npos);
  auto syntax = parse_gating("{\n  \"Allowlist\": [,]\n}");
  REQUIRE_FALSE(syntax);
  CHECK(syntax.error().line == 2);
}

TEST_CASE("a limit file's allowlisted scopes become the gated manager's limits") {
  auto c = rcmgr::config::parse_limits(R"({"AllowlistedSystem": {"Conns": 10, "ConnsInbound": 10}})");
  REQUIRE(c);
  auto g = rcmgr::config::gated_limits(*c);
  CHECK(g.get<rcmgr::libp2p::allowlisted_system_scope>().conns == 10);
  CHECK(g.get<rcmgr::libp2p::allowlisted_transient_scope>() == c->limits.get<rcmgr::libp2p::transient_scope>());
}
