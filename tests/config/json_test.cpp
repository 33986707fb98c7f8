// go-libp2p limit files: reading over a base, refusing malformed input with the path of the
// problem, and writing documents that read back to the same limits.
#include <catch2/catch.hpp>

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>

#include "rcmgr/config/json.hpp"
#include "rcmgr/libp2p/scaling.hpp"
#include "rcmgr/rcmgr.hpp"

using namespace rcmgr::libp2p;
using rcmgr::limit;
using rcmgr::unlimited;
namespace config = rcmgr::config;

namespace {
const rcmgr::peer_id friend_peer("12D3KooWFriendxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");

/// The error message of parsing `text` over the defaults; fails the test if it parses.
std::string error_of(std::string_view text) {
  auto r = config::parse_limits(text);
  if (r) {
    FAIL_CHECK("parsed but should not have: " << text);
    return {};
  }
  return r.error().str();
}
}  // namespace

TEST_CASE("an empty document gives the base back") {
  auto r = config::parse_limits("{}");
  REQUIRE(r);
  CHECK(config::equivalent(r->limits, default_limits()));
  CHECK_FALSE(r->allowlisted_system);

  const limits scaled = scale(4 * gib, 8192);
  auto s = config::parse_limits("{}", scaled);
  REQUIRE(s);
  CHECK(config::equivalent(s->limits, scaled));
  CHECK_FALSE(config::equivalent(s->limits, default_limits()));
}

TEST_CASE("a partial document changes only what it names") {
  auto r = config::parse_limits(R"({
    "System": {"Conns": 300, "ConnsInbound": 100, "Memory": "2147483648"},
    "Transient": {"Memory": 1048576, "FD": "unlimited"},
    "PeerDefault": {"Streams": "blockAll", "StreamsInbound": 0, "Conns": "default"},
    "Stream": {"Memory": "unlimited"}
  })");
  REQUIRE(r);
  const limits d = default_limits();
  const limit& sys = r->limits.get<system_scope>();
  CHECK(sys.conns == 300);
  CHECK(sys.conns_inbound == 100);
  CHECK(sys.conns_outbound == d.get<system_scope>().conns_outbound);
  CHECK(sys.memory == 2 * gib);
  CHECK(sys.streams == d.get<system_scope>().streams);
  CHECK(r->limits.get<transient_scope>().memory == 1048576);
  CHECK(r->limits.get<transient_scope>().fd == unlimited);
  CHECK(r->limits.get<peer_scope>().streams == 0);
  CHECK(r->limits.get<peer_scope>().streams_inbound == 0);
  CHECK(r->limits.get<peer_scope>().conns == d.get<peer_scope>().conns);
  CHECK(r->limits.get<stream_scope>().memory == unlimited);
  CHECK(r->limits.get<protocol_scope>() == d.get<protocol_scope>());
}

TEST_CASE("per-key entries start from the base's entry for that key, else from the document's default") {
  limits base = default_limits();
  limit friend_base = base.get<peer_scope>();
  friend_base.conns = 16;
  base.set<peer_scope>(friend_peer, friend_base);
  limit kept = base.get<peer_scope>();
  kept.memory = 1;
  base.set<peer_scope>(rcmgr::peer_id("QmKeptFromBase"), kept);

  auto r = config::parse_limits(std::string(R"({
    "PeerDefault": {"Streams": 10},
    "Peer": {")") + std::string(friend_peer.str()) + R"(": {"Memory": 5},
             "12D3KooWStranger": {"Conns": 2}},
    "Protocol": {"/ipfs/bitswap/1.2.0": {"StreamsInbound": 7}},
    "ProtocolPeer": {"/ipfs/bitswap/1.2.0": {"Streams": 3}},
    "Service": {"libp2p.relay/v2": {"Memory": "1024"}},
    "ServicePeer": {"libp2p.relay/v2": {"StreamsOutbound": "unlimited"}}
  })", base);
  REQUIRE(r);
  const limits& l = r->limits;
  const limit& fr = l.get<peer_scope>(friend_peer);
  CHECK(fr.conns == 16);       // from the base's entry
  CHECK(fr.memory == 5);       // from the document
  CHECK(fr.streams == 512);    // the base's entry kept the old default
  const limit& st = l.get<peer_scope>(rcmgr::peer_id("12D3KooWStranger"));
  CHECK(st.conns == 2);
  CHECK(st.streams == 10);     // the document's new default
  CHECK(l.get<peer_scope>(rcmgr::peer_id("QmKeptFromBase")).memory == 1);  // untouched entries stay
  CHECK(l.overrides<peer_scope>().size() == 3);
  CHECK(l.get<protocol_scope>(std::string("/ipfs/bitswap/1.2.0")).streams_inbound == 7);
  CHECK(l.get<protocol_peer_scope>(std::string("/ipfs/bitswap/1.2.0")).streams == 3);
  CHECK(l.get<service_scope>(std::string("libp2p.relay/v2")).memory == 1024);
  CHECK(l.get<service_peer_scope>(std::string("libp2p.relay/v2")).streams_outbound == unlimited);
  CHECK(l.get<protocol_scope>(std::string("/other")).streams_inbound == 512);
}

TEST_CASE("a document as go-libp2p writes it reads, blockAll on unaccounted resources included") {
  // go's ToPartialLimitConfig writes every field of every scope; fields a scope does not use are 0,
  // written as "blockAll"
  auto r = config::parse_limits(R"({
    "System": {"Streams": 4096, "StreamsInbound": 2048, "StreamsOutbound": 4096, "Conns": 256,
               "ConnsInbound": 128, "ConnsOutbound": 256, "FD": 4096, "Memory": "1207959552"},
    "ProtocolDefault": {"Streams": 2560, "StreamsInbound": 768, "StreamsOutbound": 2560,
                        "Conns": "blockAll", "ConnsInbound": "blockAll", "ConnsOutbound": "blockAll",
                        "FD": "blockAll", "Memory": "239075328"},
    "Stream": {"Streams": 1, "StreamsInbound": 1, "StreamsOutbound": 1, "Conns": "blockAll",
               "ConnsInbound": "blockAll", "ConnsOutbound": "blockAll", "FD": "blockAll", "Memory": "16777216"},
    "Conn": {"Streams": "blockAll", "StreamsInbound": "blockAll", "StreamsOutbound": "blockAll", "Conns": 1,
             "ConnsInbound": 1, "ConnsOutbound": 1, "FD": 1, "Memory": "33554432"}
  })");
  REQUIRE(r);
  CHECK(r->limits.get<system_scope>().memory == 1207959552);
  CHECK(r->limits.get<protocol_scope>().streams == 2560);
  CHECK(r->limits.get<protocol_scope>().conns == default_limits().get<protocol_scope>().conns);  // not stored
  CHECK(r->limits.get<connection_scope>().conns == 1);
}

TEST_CASE("allowlist scopes are kept, filled from System and Transient, and written back") {
  auto r = config::parse_limits(R"({"AllowlistedSystem": {"Conns": 1000}, "AllowlistedTransient": {}})");
  REQUIRE(r);
  REQUIRE(r->allowlisted_system);
  REQUIRE(r->allowlisted_transient);
  CHECK(r->allowlisted_system->conns == 1000);
  CHECK(r->allowlisted_system->memory == default_limits().get<system_scope>().memory);
  CHECK(*r->allowlisted_transient == default_limits().get<transient_scope>());
  auto back = config::parse_limits(config::write_limits(*r));
  REQUIRE(back);
  CHECK(config::equivalent(*back, *r));
}

TEST_CASE("malformed documents are refused with the path of the problem") {
  SECTION("the example from the format's description") {
    CHECK(error_of(R"({"Peer": {"12D3KooWRBy97UB99e3J6hiPesre1MZeuNQvfan4gBziswrRJsNK": {"StreamsInbound": "many"}}})") ==
          R"(Peer.12D3KooWRBy97UB99e3J6hiPesre1MZeuNQvfan4gBziswrRJsNK.StreamsInbound: expected a non-negative integer, "default", "unlimited" or "blockAll", got "many")");
  }
  SECTION("syntax errors give line and column") {
    auto r = config::parse_limits("{\n  \"System\": {\"Conns\": 10,}\n}");
    REQUIRE_FALSE(r);
    CHECK(r.error().line == 2);
    CHECK(r.error().column == 26);  // the "}" after the comma
    CHECK(r.error().path.empty());
    CHECK_THAT(r.error().str(), Catch::StartsWith("line 2, column 26: syntax error"));
    CHECK_THAT(error_of(""), Catch::Contains("line 1, column 1"));
    CHECK_THAT(error_of("{\"System\": {}} trailing"), Catch::Contains("syntax error"));
  }
  SECTION("unknown keys, with the right spelling suggested") {
    CHECK_THAT(error_of(R"({"Sytem": {}})"), Catch::StartsWith("Sytem: unknown key; expected one of System,"));
    CHECK_THAT(error_of(R"({"system": {}})"), Catch::EndsWith(R"((keys are case-sensitive: did you mean "System"?))"));
    CHECK_THAT(error_of(R"({"System": {"Connections": 1}})"), Catch::StartsWith("System.Connections: unknown limit"));
    CHECK_THAT(error_of(R"({"System": {"memory": 1}})"), Catch::Contains(R"(did you mean "Memory"?)"));
    CHECK_THAT(error_of(R"({"System": {"Conns": "Unlimited"}})"), Catch::Contains(R"(did you mean "unlimited"?)"));
  }
  SECTION("wrong types") {
    CHECK_THAT(error_of(R"({"System": {"Conns": true}})"), Catch::StartsWith("System.Conns: expected a non-negative integer"));
    CHECK_THAT(error_of(R"({"System": {"Conns": null}})"), Catch::EndsWith("got null"));
    CHECK_THAT(error_of(R"({"System": {"Conns": [1]}})"), Catch::EndsWith("got an array"));
    CHECK_THAT(error_of(R"({"System": {"Conns": "100"}})"), Catch::EndsWith(R"(got "100")"));  // only Memory takes digits as text
    CHECK_THAT(error_of(R"({"System": {"Conns": 1.5}})"), Catch::Contains("fraction or exponent"));
    CHECK_THAT(error_of(R"({"System": {"Conns": 1e3}})"), Catch::Contains("fraction or exponent"));
    CHECK_THAT(error_of(R"({"System": 5})"), Catch::StartsWith("System: expected an object of limits"));
    CHECK_THAT(error_of(R"({"Peer": []})"), Catch::StartsWith("Peer: expected an object mapping each peer"));
    CHECK_THAT(error_of(R"({"Protocol": {"/x": 1}})"), Catch::StartsWith(R"(Protocol["/x"]: expected an object of limits)"));
    CHECK_THAT(error_of("[]"), Catch::StartsWith("expected a JSON object"));
    CHECK_THAT(error_of(R"({"System": {"Memory": "1 GiB"}})"), Catch::StartsWith("System.Memory: expected a non-negative integer (or a string of digits)"));
  }
  SECTION("negative and overflowing values") {
    CHECK_THAT(error_of(R"({"PeerDefault": {"Conns": -1}})"), Catch::StartsWith("PeerDefault.Conns: expected a non-negative integer") && Catch::EndsWith("got -1"));
    CHECK_THAT(error_of(R"({"System": {"Memory": "-5"}})"), Catch::StartsWith("System.Memory: expected"));
    CHECK_THAT(error_of(R"({"System": {"Conns": 9223372036854775808}})"), Catch::Contains("out of range"));
    CHECK_THAT(error_of(R"({"System": {"Conns": 18446744073709551616}})"), Catch::Contains("out of range"));
    CHECK_THAT(error_of(R"({"System": {"Memory": "99999999999999999999"}})"), Catch::StartsWith("System.Memory: value 99999999999999999999 is out of range"));
    auto max = config::parse_limits(R"({"System": {"Memory": 9223372036854775807}})");
    REQUIRE(max);
    CHECK(max->limits.get<system_scope>().memory == unlimited);
  }
  SECTION("a count for a resource the scope does not account") {
    CHECK(error_of(R"({"Protocol": {"/ipfs/id/1.0.0": {"Conns": 5}}})") ==
          R"(Protocol["/ipfs/id/1.0.0"].Conns: protocol scopes do not account connections; only "blockAll", 0, "default" or "unlimited" is accepted here)");
    CHECK_THAT(error_of(R"({"Stream": {"FD": 1}})"), Catch::StartsWith("Stream.FD: stream scopes do not account file descriptors"));
    CHECK_THAT(error_of(R"({"Conn": {"Streams": 2}})"), Catch::StartsWith("Conn.Streams: connection scopes do not account streams"));
    CHECK(config::parse_limits(R"({"ServiceDefault": {"Conns": 0, "FD": "unlimited", "ConnsInbound": "default"}})"));
  }
  SECTION("duplicate keys") {
    CHECK(error_of(R"({"System": {"Conns": 1, "Conns": 2}})") == "System.Conns: duplicate key (each key may appear once per object)");
    CHECK(error_of(R"({"Peer": {"QmA": {}, "QmA": {}}})") == "Peer.QmA: duplicate key (each key may appear once per object)");
    CHECK_THAT(error_of(R"({"System": {}, "System": {}})"), Catch::StartsWith("System: duplicate key"));
  }
  SECTION("bad keys in per-key maps") {
    CHECK_THAT(error_of(R"({"Peer": {"": {}}})"), Catch::Contains("empty peer key"));
    CHECK_THAT(error_of(R"({"Peer": {"not a peer": {}}})"), Catch::StartsWith(R"(Peer["not a peer"]: not a peer id)"));
    CHECK_THAT(error_of(R"({"Service": {"": {}}})"), Catch::Contains("empty service key"));
  }
}

TEST_CASE("a refused document changes nothing: reading and applying are separate") {
  limits mine = default_limits();
  mine.set<system_scope>(limit{10, 10, 10, 5, 5, 5, 5, 1 << 20});
  rcmgr::resource_manager<> mgr(mine);
  auto r = config::parse_limits(R"({"System": {"Conns": 99}, "PeerDefault": {"Conns": -1}})", mine);
  REQUIRE_FALSE(r);
  CHECK(r.error().path == "PeerDefault.Conns");
  CHECK(mgr.get_limit<system_scope>() == mine.get<system_scope>());
  // a good document is applied only when asked
  auto ok = config::parse_limits(R"({"System": {"Conns": 99}})", mine);
  REQUIRE(ok);
  CHECK(mgr.get_limit<system_scope>().conns == 5);
  REQUIRE(mgr.set_limits(ok->limits));
  CHECK(mgr.get_limit<system_scope>().conns == 99);
}

TEST_CASE("writing: every accounted field, unlimited and blockAll spelled out, Memory as digits") {
  limits l = default_limits();
  limit sys = l.get<system_scope>();
  sys.fd = unlimited;
  sys.conns_inbound = 0;
  l.set<system_scope>(sys);
  const auto doc = config::to_json(l);
  CHECK(doc["System"]["FD"] == "unlimited");
  CHECK(doc["System"]["ConnsInbound"] == "blockAll");
  CHECK(doc["System"]["Memory"] == std::to_string(128 * mib));
  CHECK(doc["System"]["Conns"] == 128);
  CHECK_FALSE(doc["ProtocolDefault"].contains("Conns"));  // protocols do not account connections
  CHECK_FALSE(doc["Stream"].contains("FD"));
  CHECK(doc["Conn"].contains("FD"));
  CHECK_FALSE(doc.contains("Peer"));  // no per-peer entries
  CHECK_FALSE(doc.contains("AllowlistedSystem"));
  // the order of go's struct
  std::vector<std::string> keys;
  for (auto it = doc.begin(); it != doc.end(); ++it) keys.push_back(it.key());
  CHECK(keys == std::vector<std::string>{"System", "Transient", "ServiceDefault", "ServicePeerDefault", "ProtocolDefault",
                                         "ProtocolPeerDefault", "PeerDefault", "Conn", "Stream"});
}

TEST_CASE("round trip: what is written reads back to the same limits, over any base") {
  std::mt19937_64 rng(20240611);
  auto value = [&](std::int64_t hi) -> std::int64_t {
    switch (rng() % 6) {
      case 0: return unlimited;
      case 1: return 0;
      default: return std::int64_t(rng() % std::uint64_t(hi)) + 1;
    }
  };
  auto random_limit = [&] {
    return limit{value(5000), value(5000), value(9000), value(500), value(500), value(900), value(70000),
                 value(std::int64_t{1} << 40)};
  };
  for (int round = 0; round < 50; ++round) {
    config::limit_config c;
    c.limits = scale(std::int64_t(rng() % (64 * std::uint64_t(gib))), std::int64_t(rng() % 100000));
    c.limits.set<system_scope>(random_limit()).set<peer_scope>(random_limit()).set<stream_scope>(random_limit());
    c.limits.set<connection_scope>(random_limit()).set<protocol_peer_scope>(random_limit());
    for (int i = 0; i < 3; ++i) {
      c.limits.set<peer_scope>(rcmgr::peer_id("12D3KooW" + std::to_string(rng() % 1000)), random_limit());
      c.limits.set<protocol_scope>("/proto/" + std::to_string(rng() % 100) + "/1.0.0", random_limit());
      c.limits.set<protocol_peer_scope>("/proto/" + std::to_string(rng() % 100) + "/1.0.0", random_limit());
      c.limits.set<service_scope>("svc." + std::to_string(rng() % 100), random_limit());
      c.limits.set<service_peer_scope>("svc \"quoted\" " + std::to_string(rng() % 100), random_limit());
    }
    if (round % 2) c.allowlisted_system = random_limit();
    const std::string text = config::write_limits(c);
    // over the defaults and over a differently scaled base: a full document does not depend on it
    for (const limits& base : {default_limits(), scale(16 * gib, 1 << 20)}) {
      auto back = config::parse_limits(text, base);
      REQUIRE(back);
      INFO(text);
      CHECK(config::equivalent(*back, c));
    }
  }
}

TEST_CASE("round trip of a document written relative to a base") {
  const config::limit_config base{scale(2 * gib, 4096), std::nullopt, std::nullopt};
  config::limit_config c = base;
  limit peer = c.limits.get<peer_scope>();
  peer.conns = 3;
  c.limits.set<peer_scope>(peer);
  c.limits.set<peer_scope>(friend_peer, c.limits.get<peer_scope>());  // an entry equal to the default
  limit proto = c.limits.get<protocol_scope>();
  proto.memory = 12345;
  c.limits.set<protocol_scope>(std::string("/ipfs/kad/1.0.0"), proto);

  config::write_options opt;
  opt.relative_to = base;
  const auto doc = config::to_json(c, opt);
  CHECK(doc.size() == 3);  // PeerDefault, Peer, Protocol
  CHECK(doc["PeerDefault"].size() == 1);
  CHECK(doc["Peer"][std::string(friend_peer.str())].empty());
  CHECK(doc["Protocol"]["/ipfs/kad/1.0.0"].size() == 1);
  auto back = config::parse_limits(config::write_limits(c, opt), base);
  REQUIRE(back);
  CHECK(config::equivalent(*back, c));
  // relative to itself, nothing is written
  config::write_options self;
  self.relative_to = base.limits;  // a libp2p::limits works as well
  CHECK(config::to_json(base, self).empty());
}

TEST_CASE("files: load_limits and save_limits") {
  static std::atomic<int> n{0};
  const auto dir = std::filesystem::temp_directory_path() / ("rcmgr-json-" + std::to_string(::getpid()) + "-" + std::to_string(n++));
  std::filesystem::create_directories(dir);
  const auto file = dir / "limits.json";

  config::limit_config c;
  c.limits = scale(1 * gib, 2048);
  c.limits.set<peer_scope>(friend_peer, limit::blocked());
  REQUIRE(config::save_limits(file, c));
  auto back = config::load_limits(file);
  REQUIRE(back);
  CHECK(config::equivalent(*back, c));

  std::ofstream(dir / "bad.json") << "{\n  \"Transient\": {\"FD\": -4}\n}\n";
  auto bad = config::load_limits(dir / "bad.json");
  REQUIRE_FALSE(bad);
  CHECK(bad.error().source == (dir / "bad.json").string());
  CHECK(bad.error().str() == (dir / "bad.json").string() +
                                 R"(: Transient.FD: expected a non-negative integer, "default", "unlimited" or "blockAll", got -4)");

  auto missing = config::load_limits(dir / "missing.json");
  REQUIRE_FALSE(missing);
  CHECK_THAT(missing.error().str(), Catch::Contains("missing.json: cannot open"));
  std::filesystem::remove_all(dir);
}
