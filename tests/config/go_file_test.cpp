// Limit files shaped like go-libp2p's own test file (p2p/host/resource-manager/
// limit_config_test.json): go_shape/limit_config.json has its structure and every field name it
// uses (System with Memory, Conns, ConnsInbound, ConnsOutbound and FD; ServiceDefault; Service
// with one entry that sets Memory and one empty entry; ServicePeerDefault; ServicePeer;
// ProtocolDefault; ProtocolPeerDefault; Protocol; PeerDefault; Peer keyed by a peer id), with
// values of its own. The base, like go's test, is the defaults plus a Service and a ProtocolPeer
// entry the file does not name. Also: everything rcmgr's writer writes uses only the field names
// and value forms go's PartialLimitConfig and ResourceLimits accept.
//
// With RCMGR_GO_LIBP2P_SRC pointing at a go-libp2p checkout, go's own files are read too (their
// test file, the old-format copy of it, and the defaults scaled to 8 GiB and 16384 descriptors,
// which must equal rcmgr's scale()). Without it that test passes with a warning.
#include <catch2/catch.hpp>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>

#include "rcmgr/config/json.hpp"
#include "rcmgr/libp2p/scaling.hpp"

using namespace rcmgr::libp2p;
using rcmgr::limit;
using rcmgr::unlimited;
namespace config = rcmgr::config;

namespace {

// Field names of go-libp2p's PartialLimitConfig (limit_defaults.go; encoding/json uses the Go
// field names, none is renamed) and of its ResourceLimits (the same file).
const std::set<std::string> go_scope_fields{"System",         "Transient",          "AllowlistedSystem", "AllowlistedTransient",
                                            "ServiceDefault", "Service",            "ServicePeerDefault", "ServicePeer",
                                            "ProtocolDefault", "Protocol",          "ProtocolPeerDefault", "ProtocolPeer",
                                            "PeerDefault",    "Peer",               "Conn",              "Stream"};
const std::set<std::string> go_map_fields{"Service", "ServicePeer", "Protocol", "ProtocolPeer", "Peer"};
const std::set<std::string> go_limit_fields{"Streams",      "StreamsInbound", "StreamsOutbound", "Conns",
                                            "ConnsInbound", "ConnsOutbound",  "FD",              "Memory"};

/// Whether go's LimitVal (counts) or LimitVal64 (Memory) decodes `v`: "default", "unlimited",
/// "blockAll", an integer that fits Go's int (64 bits), and for Memory also a string of digits.
bool go_accepts(const nlohmann::json& v, bool memory) {
  if (v.is_string()) {
    const auto& s = v.get_ref<const std::string&>();
    if (s == "default" || s == "unlimited" || s == "blockAll") return true;
    if (!memory || s.empty() || s.size() > 19 || s.find_first_not_of("0123456789") != std::string::npos) return false;
    return s.size() < 19 || s <= "9223372036854775807";
  }
  if (v.is_number_unsigned()) return v.get<std::uint64_t>() <= std::uint64_t(INT64_MAX);
  return v.is_number_integer();
}

/// Every problem go would have with a document rcmgr wrote, one per line ("" when none).
std::string go_problems(const std::string& text) {
  std::string out;
  const auto doc = nlohmann::json::parse(text);
  if (!doc.is_object()) return "not an object\n";
  auto limits = [&](const std::string& path, const nlohmann::json& o) {
    if (!o.is_object()) return void(out += path + ": not an object\n");
    for (auto it = o.begin(); it != o.end(); ++it) {
      if (go_limit_fields.count(it.key()) == 0) out += path + "." + it.key() + ": not a ResourceLimits field\n";
      else if (!go_accepts(it.value(), it.key() == "Memory")) out += path + "." + it.key() + ": value " + it.value().dump() + "\n";
    }
  };
  for (auto it = doc.begin(); it != doc.end(); ++it) {
    if (go_scope_fields.count(it.key()) == 0) {
      out += it.key() + ": not a PartialLimitConfig field\n";
    } else if (go_map_fields.count(it.key()) != 0) {
      if (!it.value().is_object()) out += it.key() + ": not an object\n";
      else
        for (auto e = it.value().begin(); e != it.value().end(); ++e) limits(it.key() + "[" + e.key() + "]", e.value());
    } else {
      limits(it.key(), it.value());
    }
  }
  return out;
}

std::string slurp(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  REQUIRE(in);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

/// Like go's test: the defaults plus entries for a service and a protocol-peer the file does not name.
limits base_with_extra_entries(const std::string& name) {
  limits b = default_limits();
  limit svc = b.get<service_scope>();
  svc.memory = 77 << 20;
  svc.streams = 77;
  b.set<service_scope>(name, svc);
  limit pp = b.get<protocol_peer_scope>();
  pp.memory = 33 << 20;
  b.set<protocol_peer_scope>(name, pp);
  REQUIRE(b.check());
  return b;
}

template <class K>
limit with_memory(const limits& ls, std::int64_t m) {
  limit l = ls.get<K>();
  l.memory = m;
  return l;
}

const std::string shape_peer = "12D3KooWLimitsTestPeerFromRcmgrksz7EMUbiqx5CKSZgov3A";

}  // namespace

TEST_CASE("a file shaped like go-libp2p's limit_config_test.json reads, writes and reads back", "[config][go]") {
  const limits base = base_with_extra_entries("archive");
  auto r = config::load_limits(std::filesystem::path(RCMGR_GO_SHAPE_DIR) / "limit_config.json", base);
  INFO((r ? std::string() : r.error().str()));
  REQUIRE(r);
  const limits& ls = r->limits;

  // System: the five fields given, the streams from the base.
  limit sys = base.get<system_scope>();
  sys.memory = 98304;
  sys.conns = 24;
  sys.conns_inbound = 12;
  sys.conns_outbound = 20;
  sys.fd = 30;
  CHECK(ls.get<system_scope>() == sys);
  CHECK(ls.get<system_scope>().streams == base.get<system_scope>().streams);
  CHECK(ls.get<transient_scope>() == base.get<transient_scope>());
  CHECK_FALSE(r->allowlisted_system.has_value());
  CHECK_FALSE(r->allowlisted_transient.has_value());
  CHECK(ls.get<connection_scope>() == base.get<connection_scope>());
  CHECK(ls.get<stream_scope>() == base.get<stream_scope>());

  // Defaults: Memory given, the rest from the base.
  CHECK(ls.get<service_scope>() == with_memory<service_scope>(base, 7331));
  CHECK(ls.get<service_peer_scope>() == with_memory<service_peer_scope>(base, 3072));
  CHECK(ls.get<protocol_scope>() == with_memory<protocol_scope>(base, 3000));
  CHECK(ls.get<protocol_peer_scope>() == with_memory<protocol_peer_scope>(base, 1500));
  CHECK(ls.get<peer_scope>() == with_memory<peer_scope>(base, 5120));

  // Entries start from the file's default of their kind; an empty entry is that default; the
  // base's entries the file does not name stay as they were.
  CHECK(ls.overrides<service_scope>().size() == 3);
  CHECK(ls.get<service_scope>("relay") == with_memory<service_scope>(ls, 12288));
  CHECK(ls.overrides<service_scope>().count(rcmgr::override_key_of<service_scope>("idle")) == 1);
  CHECK(ls.get<service_scope>("idle") == ls.get<service_scope>());
  CHECK(ls.get<service_scope>("archive") == base.get<service_scope>("archive"));
  CHECK(ls.overrides<service_peer_scope>().size() == 1);
  CHECK(ls.get<service_peer_scope>("relay") == with_memory<service_peer_scope>(ls, 6144));
  CHECK(ls.overrides<protocol_scope>().size() == 1);
  CHECK(ls.get<protocol_scope>("/chat/1.0.0") == with_memory<protocol_scope>(ls, 16384));
  CHECK(ls.overrides<protocol_peer_scope>().size() == 1);
  CHECK(ls.get<protocol_peer_scope>("archive") == base.get<protocol_peer_scope>("archive"));
  CHECK(ls.overrides<peer_scope>().size() == 1);
  CHECK(ls.get<peer_scope>(rcmgr::peer_id(shape_peer)) == with_memory<peer_scope>(ls, 5121));

  // Written back with rcmgr's writer, it reads back to the same limits over the same base and
  // over a base with nothing in common (every value is written, none left to "default"), and
  // writing that gives the same text again.
  const std::string text = config::write_limits(*r);
  CHECK(go_problems(text) == "");
  auto back = config::parse_limits(text, base);
  REQUIRE(back);
  CHECK(config::equivalent(*back, *r));
  const limit all{unlimited, unlimited, unlimited, unlimited, unlimited, unlimited, unlimited, unlimited};
  limits unrelated = default_limits();
  unrelated.set<system_scope>(all).set<transient_scope>(all).set<peer_scope>(all).set<service_scope>(all);
  unrelated.set<service_peer_scope>(all).set<protocol_scope>(all).set<protocol_peer_scope>(all);
  REQUIRE(unrelated.check());
  auto back_unrelated = config::parse_limits(text, unrelated);
  REQUIRE(back_unrelated);
  CHECK(config::equivalent(*back_unrelated, *r));
  CHECK(config::write_limits(*back) == text);
  CHECK(config::write_limits(*back_unrelated) == text);

  // Written relative to the base (only what differs), it reads back over that base.
  const std::string rel = config::write_limits(*r, config::write_options{config::limit_config(base)});
  CHECK(go_problems(rel) == "");
  auto back_rel = config::parse_limits(rel, base);
  REQUIRE(back_rel);
  CHECK(config::equivalent(*back_rel, *r));
}

TEST_CASE("everything rcmgr's writer writes uses only field names and values go-libp2p accepts", "[config][go]") {
  // The check itself: it finds a name go does not know and a value go cannot decode.
  CHECK(go_problems(R"({"System": {"Memory": "12", "Streams": 3}, "Peer": {"P": {"FD": "unlimited"}}})") == "");
  CHECK(go_problems(R"({"system": {}, "Peer": {"P": {"Fd": 1, "Conns": "5", "Memory": -1}}})") ==
        "Peer[P].Conns: value \"5\"\nPeer[P].Fd: not a ResourceLimits field\nsystem: not a PartialLimitConfig field\n");

  config::limit_config everything{scale(8 * gib, 16384)};
  everything.allowlisted_system = everything.limits.get<system_scope>();
  limit t = everything.limits.get<transient_scope>();
  t.streams = unlimited;
  t.fd = 0;
  t.memory = unlimited;
  everything.allowlisted_transient = t;
  limit p = everything.limits.get<peer_scope>();
  p.memory = std::int64_t{1} << 40;
  p.streams_inbound = 0;
  everything.limits.set<peer_scope>(rcmgr::peer_id(shape_peer), p);
  everything.limits.set<service_scope>("relay", everything.limits.get<service_scope>());
  everything.limits.set<service_peer_scope>("relay", everything.limits.get<service_peer_scope>());
  everything.limits.set<protocol_scope>("/chat/1.0.0", everything.limits.get<protocol_scope>());
  everything.limits.set<protocol_peer_scope>("/chat/1.0.0", everything.limits.get<protocol_peer_scope>());
  limit sys = everything.limits.get<system_scope>();
  sys.memory = unlimited;
  everything.limits.set<system_scope>(sys);
  REQUIRE(everything.limits.check());

  for (const auto& [what, c] : {std::pair<const char*, config::limit_config>{"defaults", config::limit_config{}},
                                {"scaled to 1 GiB", config::limit_config{scale(gib, 1024)}},
                                {"every kind of entry", everything}}) {
    INFO(what);
    const std::string full = config::write_limits(c);
    CHECK(go_problems(full) == "");
    const std::string rel = config::write_limits(c, config::write_options{config::limit_config{}});
    CHECK(go_problems(rel) == "");
    const std::string one_line = config::write_limits(c, {}, -1);
    CHECK(go_problems(one_line) == "");
  }
  // Every field name appears in what was written: the check covered all of them.
  const auto doc = nlohmann::json::parse(config::write_limits(everything));
  for (const auto& f : go_scope_fields) CHECK(doc.contains(f));
  std::set<std::string> seen;
  for (auto it = doc.at("System").begin(); it != doc.at("System").end(); ++it) seen.insert(it.key());
  CHECK(seen == go_limit_fields);
}

TEST_CASE("go-libp2p's own limit files read as go reads them (RCMGR_GO_LIBP2P_SRC)", "[config][go]") {
  const char* src = std::getenv("RCMGR_GO_LIBP2P_SRC");
  if (src == nullptr || *src == '\0') {
    WARN("RCMGR_GO_LIBP2P_SRC is not set: go-libp2p's files were not read");
    return;
  }
  const std::filesystem::path dir = std::filesystem::path(src) / "p2p" / "host" / "resource-manager";
  // What go's TestLimitConfigParser expects of the file (limit_config_test.go), over the same
  // kind of base: the defaults plus a service and a protocol-peer "C" the file does not name.
  const limits base = base_with_extra_entries("C");
  for (const char* file : {"limit_config_test.json", "limit_config_test.backwards-compat.json"}) {
    INFO(file);
    REQUIRE(std::filesystem::exists(dir / file));
    auto r = config::load_limits(dir / file, base);
    INFO((r ? std::string() : r.error().str()));
    REQUIRE(r);
    const limits& ls = r->limits;
    CHECK(ls.get<system_scope>().memory == 65536);
    CHECK(ls.get<system_scope>().streams == base.get<system_scope>().streams);
    CHECK(ls.get<system_scope>().streams_inbound == base.get<system_scope>().streams_inbound);
    CHECK(ls.get<system_scope>().streams_outbound == base.get<system_scope>().streams_outbound);
    CHECK(ls.get<system_scope>().conns == 16);
    CHECK(ls.get<system_scope>().conns_inbound == 8);
    CHECK(ls.get<system_scope>().conns_outbound == 16);
    CHECK(ls.get<system_scope>().fd == 16);
    CHECK(ls.get<transient_scope>() == base.get<transient_scope>());
    CHECK(ls.get<service_scope>().memory == 8765);
    CHECK(ls.get<service_scope>("A") == with_memory<service_scope>(ls, 8192));
    CHECK(ls.overrides<service_scope>().count(rcmgr::override_key_of<service_scope>("B")) == 1);
    CHECK(ls.get<service_scope>("B") == ls.get<service_scope>());
    CHECK(ls.get<service_scope>("C") == base.get<service_scope>("C"));
    CHECK(ls.get<peer_scope>().memory == 4096);
    const rcmgr::peer_id id("12D3KooWPFH2Bx2tPfw6RLxN8k2wh47GRXgkt9yrAHU37zFwHWzS");
    CHECK(ls.overrides<peer_scope>().count(id) == 1);
    CHECK(ls.get<peer_scope>(id).memory == 4097);
    // go's round trip: written and read again over the same base, the same limits
    const std::string text = config::write_limits(*r);
    CHECK(go_problems(text) == "");
    auto back = config::parse_limits(text, base);
    REQUIRE(back);
    CHECK(config::equivalent(*back, *r));
  }
  // go's defaults scaled to 8 GiB and 16384 descriptors (TestDefaultsDontChange): every value
  // is in the file, so any base gives the same; rcmgr's scale() must agree with all of it.
  auto d = config::load_limits(dir / "limit_config_test_default.json", default_limits());
  INFO((d ? std::string() : d.error().str()));
  REQUIRE(d);
  const limits ours = scale(8 * gib, 16384);
  CHECK(config::equivalent(d->limits, ours));
  CHECK(config::write_limits(d->limits) == config::write_limits(ours));
  REQUIRE(d->allowlisted_system.has_value());
  REQUIRE(d->allowlisted_transient.has_value());
  // go's writer and rcmgr's agree on every value: what rcmgr writes for go's file is go's file
  // less the fields a scope never uses, which go writes as "blockAll" and rcmgr leaves out
  // (docs/differences.md).
  auto go_doc = nlohmann::json::parse(slurp(dir / "limit_config_test_default.json"));
  const auto our_doc = nlohmann::json::parse(config::write_limits(*d));
  std::size_t dropped = 0;
  for (auto& [scope, fields] : go_doc.items()) {
    if (!our_doc.contains(scope)) continue;
    for (auto it = fields.begin(); it != fields.end();) {
      if (!our_doc[scope].contains(it.key()) && *it == "blockAll") {
        it = fields.erase(it);
        ++dropped;
      } else {
        ++it;
      }
    }
  }
  CHECK(go_doc == our_doc);
  // Conns, ConnsInbound, ConnsOutbound and FD of the service, service-peer, protocol,
  // protocol-peer and stream defaults; Streams, StreamsInbound and StreamsOutbound of Conn
  CHECK(dropped == 4 * 5 + 3);
}
