// The three worked limit sets of docs/limits.md (tests/config/data/*.json): each loads, passes
// the sanity report, round-trips, and admits what the guide says it admits, measured by opening
// connections and streams on a real manager until it refuses.
#include <catch2/catch.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "rcmgr/config/json.hpp"
#include "rcmgr/rcmgr.hpp"

using namespace rcmgr::libp2p;
using rcmgr::direction;
namespace config = rcmgr::config;

namespace {
using manager = rcmgr::resource_manager<rcmgr::single_threaded>;

config::limit_config load(const char* name) {
  auto r = config::load_limits(std::string(RCMGR_TEST_DATA_DIR) + "/" + name);
  if (!r) FAIL(r.error().str());
  return *r;
}

rcmgr::peer_id nth_peer(int i) { return rcmgr::peer_id("12D3KooWPeer" + std::to_string(i)); }

/// What a limit set lets through, measured.
struct admitted {
  int conns_inbound = 0;  ///< inbound connections at once, each from its own peer
  int conns_total = 0;    ///< then outbound ones until the total is reached
  int handshaking = 0;    ///< inbound connections at once whose peer is not known yet
  int conns_per_peer = 0;
  int streams_per_peer = 0;  ///< outbound streams to one peer
  int full_connections = 0;  ///< inbound connections holding their whole memory limit at once
};

admitted measure(const limits& ls) {
  admitted a;
  const std::int64_t conn_memory = ls.get<connection_scope>().memory;
  {
    manager mgr(ls);
    std::vector<manager::connection> held;
    auto fill = [&](direction d) {
      int n = 0;
      for (;; ++n) {
        auto c = mgr.open_connection(d, true);
        if (!c) break;
        if (!c->set_peer(nth_peer(int(held.size())))) break;
        held.push_back(std::move(*c));
      }
      return n;
    };
    a.conns_inbound = fill(direction::inbound);
    a.conns_total = a.conns_inbound + fill(direction::outbound);
  }
  {
    manager mgr(ls);
    std::vector<manager::connection> held;
    for (auto c = mgr.open_connection(direction::inbound, true); c; c = mgr.open_connection(direction::inbound, true))
      held.push_back(std::move(*c));
    a.handshaking = int(held.size());
  }
  {
    manager mgr(ls);
    std::vector<manager::connection> held;
    for (;;) {
      auto c = mgr.open_connection(direction::outbound, true);
      if (!c || !c->set_peer(nth_peer(0))) break;
      held.push_back(std::move(*c));
    }
    a.conns_per_peer = int(held.size());
    std::vector<manager::stream> streams;
    for (auto s = mgr.open_stream(nth_peer(0), direction::outbound); s; s = mgr.open_stream(nth_peer(0), direction::outbound))
      streams.push_back(std::move(*s));
    a.streams_per_peer = int(streams.size());
  }
  {
    manager mgr(ls);
    std::vector<manager::connection> held;
    for (int i = 0;; ++i) {
      auto c = mgr.open_connection(direction::inbound, false);
      if (!c || !c->set_peer(nth_peer(i)) || !c->reserve_memory(conn_memory)) break;
      held.push_back(std::move(*c));
    }
    a.full_connections = int(held.size());
  }
  return a;
}

/// Findings of severity >= s, as text (for messages).
std::vector<finding> at_least(const std::vector<finding>& r, severity s) {
  std::vector<finding> out;
  for (const auto& f : r)
    if (f.level >= s) out.push_back(f);
  return out;
}

void round_trips(const config::limit_config& c) {
  auto back = config::parse_limits(config::write_limits(c));
  REQUIRE(back);
  CHECK(config::equivalent(*back, c));
}
}  // namespace

TEST_CASE("embedded node: 32 connections from at least 16 peers in 48 MiB") {
  const auto c = load("embedded.json");
  const auto report = config::sanity_report(c);
  INFO(to_string(report));
  CHECK(at_least(report, severity::warning).empty());
  round_trips(c);

  const admitted a = measure(c.limits);
  CHECK(a.conns_inbound == 16);
  CHECK(a.conns_total == 32);
  CHECK(a.handshaking == 8);
  CHECK(a.conns_per_peer == 2);
  CHECK(a.streams_per_peer == 32);
  CHECK(a.full_connections == 12);  // 48 MiB / 4 MiB

  manager mgr(c.limits);
  auto s = mgr.open_stream(nth_peer(1), direction::inbound);
  REQUIRE(s);
  auto relay = s->set_protocol("/libp2p/circuit/relay/0.2.0/hop");
  REQUIRE_FALSE(relay);  // this node does not relay for others
  CHECK(relay.error().scope.str() == "protocol:/libp2p/circuit/relay/0.2.0/hop");
}

TEST_CASE("desktop node: 512 connections, 2 GiB, and a home server allowed more") {
  const auto c = load("desktop.json");
  const auto report = config::sanity_report(c);
  INFO(to_string(report));
  CHECK(at_least(report, severity::warning).empty());
  round_trips(c);

  const admitted a = measure(c.limits);
  CHECK(a.conns_inbound == 256);
  CHECK(a.conns_total == 512);
  CHECK(a.handshaking == 64);
  CHECK(a.conns_per_peer == 8);
  CHECK(a.streams_per_peer == 512);
  CHECK(a.full_connections == 64);  // 2 GiB / 32 MiB

  manager mgr(c.limits);
  const rcmgr::peer_id nas("12D3KooWHomeNasHomeNasHomeNasHomeNasHomeNasHomeNas");
  std::vector<manager::connection> held;
  for (;;) {
    auto conn = mgr.open_connection(direction::outbound, true);
    if (!conn || !conn->set_peer(nas)) break;
    held.push_back(std::move(*conn));
  }
  CHECK(held.size() == 32);
}

TEST_CASE("public bootstrap node: 5000 peers, mostly inbound, DHT only") {
  const auto c = load("bootstrap.json");
  const auto report = config::sanity_report(c);
  INFO(to_string(report));
  CHECK_FALSE(has_findings(report, severity::error));
  // inbound above outbound is what a bootstrap node is for: the only warnings
  for (const auto& f : at_least(report, severity::warning)) CHECK(f.what == check::inbound_above_outbound);
  CHECK(at_least(report, severity::warning).size() == 2);
  round_trips(c);

  const admitted a = measure(c.limits);
  CHECK(a.conns_inbound == 4500);
  CHECK(a.conns_total == 5000);
  CHECK(a.handshaking == 1000);
  CHECK(a.conns_per_peer == 2);
  CHECK(a.streams_per_peer == 16);  // outbound; 24 inbound, 32 in all
  CHECK(a.full_connections == 1024);  // 8 GiB / 8 MiB

  manager mgr(c.limits);
  auto s = mgr.open_stream(nth_peer(1), direction::inbound);
  REQUIRE(s);
  CHECK_FALSE(s->set_protocol("/ipfs/bitswap/1.2.0"));
  CHECK(s->set_protocol("/ipfs/kad/1.0.0"));
  CHECK(mgr.get_limit<system_scope>().memory == std::int64_t{8} << 30);
}
