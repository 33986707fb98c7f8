// The sanity report: each check on a set made to trip it, and clean results for sound sets.
#include <catch2/catch.hpp>

#include <algorithm>
#include <sstream>
#include <string>

#include "rcmgr/config/json.hpp"
#include "rcmgr/libp2p/sanity.hpp"
#include "rcmgr/libp2p/scaling.hpp"

using namespace rcmgr::libp2p;
using rcmgr::limit;
using rcmgr::unlimited;

namespace {
/// Findings of check `c` about `scope`.`resource`.
std::vector<finding> about(const std::vector<finding>& r, check c, std::string_view scope, std::string_view resource) {
  std::vector<finding> out;
  for (const auto& f : r)
    if (f.what == c && f.scope == scope && f.resource == resource) out.push_back(f);
  return out;
}
bool has(const std::vector<finding>& r, check c, std::string_view scope, std::string_view resource, severity s) {
  for (const auto& f : about(r, c, scope, resource))
    if (f.level == s) return true;
  return false;
}
std::size_t count_level(const std::vector<finding>& r, severity s) {
  return std::size_t(std::count_if(r.begin(), r.end(), [s](const finding& f) { return f.level == s; }));
}
}  // namespace

TEST_CASE("go's defaults and scaled sets have no error") {
  const auto r = sanity_report(default_limits());
  INFO(to_string(r));
  CHECK_FALSE(has_findings(r, severity::error));
  // go's own table lets a service open more outbound streams than the whole system: reported
  CHECK(has(r, check::child_above_parent, "ServiceDefault", "StreamsOutbound", severity::warning));
  CHECK(has(r, check::child_above_parent, "ServiceDefault", "Streams", severity::warning));
  CHECK(about(r, check::child_above_parent, "PeerDefault", "Memory").empty());

  for (std::int64_t mem : {std::int64_t{0}, 1 * gib, 8 * gib, 64 * gib})
    for (std::int64_t fds : {std::int64_t{0}, std::int64_t{1024}, std::int64_t{1} << 20}) {
      const auto s = sanity_report(scale(mem, fds));
      INFO("memory " << mem << ", fds " << fds << "\n" << to_string(s));
      CHECK_FALSE(has_findings(s, severity::error));
    }
}

TEST_CASE("a child above a scope it is charged to") {
  limits ls = default_limits();
  limit peer = ls.get<peer_scope>();
  peer.memory = 1 * gib;  // system: 128 MiB
  ls.set<peer_scope>(peer);
  limit stream = ls.get<stream_scope>();
  stream.memory = 32 * mib;  // protocol-peer and service-peer: 16 MiB
  ls.set<stream_scope>(stream);
  limit sp = ls.get<service_peer_scope>();
  sp.streams_inbound = 5000;  // service: 1024
  ls.set<service_peer_scope>(sp);

  const auto r = sanity_report(ls);
  const auto f = about(r, check::child_above_parent, "PeerDefault", "Memory");
  REQUIRE(f.size() == 1);
  CHECK(f[0].level == severity::warning);
  CHECK(f[0].explanation == "is 1 GiB, above System.Memory (128 MiB): a peer is charged to the system, so System refuses first");
  CHECK(about(r, check::child_above_parent, "Stream", "Memory").size() == 2);  // above both views
  CHECK(has(r, check::child_above_parent, "ServicePeerDefault", "StreamsInbound", severity::warning));
  CHECK_FALSE(has_findings(r, severity::error));
  // unlimited counts as above any finite parent
  limit t = ls.get<transient_scope>();
  t.memory = unlimited;
  ls.set<transient_scope>(t);
  CHECK(about(sanity_report(ls), check::child_above_parent, "Transient", "Memory").size() == 1);
}

TEST_CASE("a peer allowed as many connections as the system") {
  limits ls = default_limits();
  limit peer = ls.get<peer_scope>();
  peer.conns = 128;          // = system
  peer.conns_inbound = 100;  // system: 64
  ls.set<peer_scope>(peer);
  const auto r = sanity_report(ls);
  CHECK(has(r, check::peer_takes_system, "PeerDefault", "Conns", severity::warning));
  CHECK(has(r, check::peer_takes_system, "PeerDefault", "ConnsInbound", severity::warning));
  CHECK(about(r, check::peer_takes_system, "PeerDefault", "ConnsOutbound").empty());  // 8 < 128
  CHECK(about(r, check::child_above_parent, "PeerDefault", "ConnsInbound").empty());  // reported once
}

TEST_CASE("limits below what one stream or connection needs") {
  SECTION("stream memory 0 while streams are allowed") {
    limits ls = default_limits();
    ls.set<stream_scope>(stream_limit(1, 1, 1, 0));
    const auto r = sanity_report(ls);
    CHECK(has(r, check::no_memory_per_unit, "Stream", "Memory", severity::error));
  }
  SECTION("connection fd 0 while the system allows descriptors") {
    limits ls = default_limits();
    limit c = ls.get<connection_scope>();
    c.fd = 0;
    ls.set<connection_scope>(c);
    const auto r = sanity_report(ls);
    const auto f = about(r, check::refuses_every_unit, "Conn", "FD");
    REQUIRE(f.size() == 1);
    CHECK(f[0].level == severity::error);
    CHECK(f[0].explanation == "is 0 while System.FD is 256: refuses every connection that uses a file descriptor (TCP)");
  }
  SECTION("peer fd 0 while connections use one") {
    limits ls = default_limits();
    limit p = ls.get<peer_scope>();
    p.fd = 0;
    ls.set<peer_scope>(p);
    CHECK(has(sanity_report(ls), check::refuses_every_unit, "PeerDefault", "FD", severity::error));
  }
  SECTION("totals of 0 on the path of every connection and stream") {
    limits ls = default_limits();
    limit sys = ls.get<system_scope>();
    sys.conns = 0;
    ls.set<system_scope>(sys);
    limit tr = ls.get<transient_scope>();
    tr.streams = 0;
    ls.set<transient_scope>(tr);
    const auto r = sanity_report(ls);
    CHECK(has(r, check::refuses_every_unit, "System", "Conns", severity::error));
    CHECK(has(r, check::refuses_every_unit, "Transient", "Streams", severity::error));
    CHECK(count_level(r, severity::error) == 2);
  }
  SECTION("one direction at 0 is a warning: a node may only dial") {
    limits ls = default_limits();
    limit sys = ls.get<system_scope>();
    sys.conns_inbound = 0;
    ls.set<system_scope>(sys);
    const auto r = sanity_report(ls);
    CHECK(has(r, check::refuses_every_unit, "System", "ConnsInbound", severity::warning));
    CHECK_FALSE(has_findings(r, severity::error));
  }
  SECTION("memory 0 where everything is charged") {
    limits ls = default_limits();
    limit sys = ls.get<system_scope>();
    sys.memory = 0;
    ls.set<system_scope>(sys);
    CHECK(has(sanity_report(ls), check::no_memory_per_unit, "System", "Memory", severity::error));
  }
  SECTION("protocols blocked by default") {
    limits ls = default_limits();
    ls.set<protocol_scope>(stream_limit(0, 0, 0, 64 * mib));
    const auto r = sanity_report(ls);
    CHECK(has(r, check::refuses_every_unit, "ProtocolDefault", "Streams", severity::warning));
    CHECK_FALSE(has_findings(r, severity::error));
  }
}

TEST_CASE("a direction above its total, defaults and per-key entries alike") {
  limits ls = default_limits();
  ls.set<protocol_scope>(std::string("/ipfs/kad/1.0.0"), stream_limit(300, 100, 200, 8 * mib));
  limit tr = ls.get<transient_scope>();
  tr.conns_outbound = 100;  // total 64
  ls.set<transient_scope>(tr);
  const auto r = sanity_report(ls);
  const auto f = about(r, check::direction_above_total, R"(Protocol["/ipfs/kad/1.0.0"])", "StreamsInbound");
  REQUIRE(f.size() == 1);
  CHECK(f[0].explanation == "is 300, above Streams (200): the total refuses first, so this can never be reached");
  CHECK(about(r, check::direction_above_total, R"(Protocol["/ipfs/kad/1.0.0"])", "StreamsOutbound").empty());
  CHECK(has(r, check::direction_above_total, "Transient", "ConnsOutbound", severity::warning));
}

TEST_CASE("inbound above outbound on the system") {
  limits ls = default_limits();
  limit sys = ls.get<system_scope>();
  sys.streams_inbound = 2048;
  sys.streams_outbound = 1024;
  ls.set<system_scope>(sys);
  const auto r = sanity_report(ls);
  CHECK(has(r, check::inbound_above_outbound, "System", "StreamsInbound", severity::warning));
  CHECK(about(r, check::inbound_above_outbound, "System", "ConnsInbound").empty());  // 64 < 128
}

TEST_CASE("per-key entries above the system, and entries that block") {
  limits ls = default_limits();
  limit friend_peer = ls.get<peer_scope>();
  friend_peer.conns = 1000;
  friend_peer.conns_inbound = friend_peer.conns_outbound = 500;
  ls.set<peer_scope>(rcmgr::peer_id("12D3KooWFriend"), friend_peer);
  ls.set<peer_scope>(rcmgr::peer_id("12D3KooWAbuser"), limit::blocked());
  ls.set<service_scope>(std::string("libp2p.relay/v2"), stream_limit(10, 10, 10, 1 * gib));
  const auto r = sanity_report(ls);
  CHECK(has(r, check::override_above_system, "Peer.12D3KooWFriend", "Conns", severity::warning));
  CHECK(has(r, check::override_above_system, "Peer.12D3KooWFriend", "ConnsInbound", severity::warning));
  CHECK(has(r, check::override_above_system, R"(Service["libp2p.relay/v2"])", "Memory", severity::warning));
  CHECK(about(r, check::override_blocks, "Peer.12D3KooWAbuser", "Streams").size() == 1);
  CHECK_FALSE(has_findings(r, severity::error));  // blocking one peer is a choice, not a mistake
}

TEST_CASE("allowlist scopes in a limit file are not reported as ignored (the gated manager enforces them)") {
  auto c = rcmgr::config::parse_limits(R"({"AllowlistedSystem": {"Conns": 10}})");
  REQUIRE(c);
  const auto r = rcmgr::config::sanity_report(*c);
  CHECK(about(r, check::ignored_setting, "AllowlistedSystem", "").empty());
  CHECK(about(r, check::ignored_setting, "AllowlistedTransient", "").empty());
  CHECK(rcmgr::config::sanity_report(rcmgr::config::limit_config{}).size() == sanity_report(default_limits()).size());
}

TEST_CASE("printing a report: one line per finding") {
  limits ls = default_limits();
  ls.set<stream_scope>(stream_limit(1, 1, 1, 0));
  std::ostringstream os;
  print_report(os, sanity_report(ls));
  const std::string text = os.str();
  CHECK_THAT(text, Catch::Contains("error: Stream.Memory: is 0 while streams are allowed: no stream can reserve any memory\n"));
  CHECK_THAT(text, Catch::Contains("warning: ServiceDefault.StreamsOutbound: is 4096, above System.StreamsOutbound (2048)"));
  CHECK(std::count(text.begin(), text.end(), '\n') == long(sanity_report(ls).size()));
  std::ostringstream empty;
  print_report(empty, {});
  CHECK(empty.str() == "no findings\n");
}
