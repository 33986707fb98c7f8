// rcmgr::trace_observer: the trace is go-libp2p's format and complete. A random sequence of
// calls runs on a manager with the trace observer and on the reference model (tests/verify);
// the trace is decoded (gunzip, JSON lines) and replayed: summing every event's deltas per scope
// must give each scope's usage in the model, and each event's totals must be the running sums.
#include <catch2/catch.hpp>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <unistd.h>

#include <nlohmann/json.hpp>
#include <zlib.h>

#include "rcmgr/libp2p/gated_resource_manager.hpp"
#include "rcmgr/rcmgr.hpp"
#include "rcmgr/trace/trace_observer.hpp"
#include "verify/model.hpp"

namespace {
namespace lp = rcmgr::libp2p;
using rcmgr::direction;
using manager = rcmgr::resource_manager<rcmgr::single_threaded, rcmgr::observed_by<rcmgr::trace_observer>>;

std::vector<nlohmann::json> read_trace(const std::string& path) {
  std::vector<nlohmann::json> lines;
  gzFile f = gzopen(path.c_str(), "rb");
  REQUIRE(f != nullptr);
  std::string all;
  char buf[1 << 14];
  int n;
  while ((n = gzread(f, buf, sizeof buf)) > 0) all.append(buf, std::size_t(n));
  REQUIRE(n == 0);  // no decompression error
  gzclose(f);
  std::size_t at = 0;
  while (at < all.size()) {
    const auto nl = all.find('\n', at);
    REQUIRE(nl != std::string::npos);  // every line ends
    lines.push_back(nlohmann::json::parse(all.substr(at, nl - at)));
    at = nl + 1;
  }
  return lines;
}

/// The model's name of a scope in go's naming.
std::string go_name(const std::string& model_name) {
  for (const char* view : {"protocol-peer:", "service-peer:"}) {
    const std::string v(view);
    if (model_name.rfind(v, 0) == 0) {
      const std::string rest = model_name.substr(v.size());
      const auto at = rest.rfind('@');
      return (v[0] == 'p' ? "protocol:" : "service:") + rest.substr(0, at) + ".peer:" + rest.substr(at + 1);
    }
  }
  return model_name;
}

struct usage {
  std::int64_t memory = 0, streams_in = 0, streams_out = 0, conns_in = 0, conns_out = 0, fd = 0;
  friend bool operator==(const usage&, const usage&) = default;
};
std::ostream& operator<<(std::ostream& os, const usage& u) {
  return os << "{mem " << u.memory << ", streams " << u.streams_in << '/' << u.streams_out << ", conns " << u.conns_in
            << '/' << u.conns_out << ", fd " << u.fd << '}';
}
usage of(const verify::use& u) { return {u.memory, u.streams_in, u.streams_out, u.conns_in, u.conns_out, u.fd}; }

/// Handles of the objects opened, by model id.
struct handles {
  std::optional<manager::connection> conn;
  std::optional<manager::stream> stream;
  std::optional<manager::span<lp::connection_scope>> conn_span;
  std::optional<manager::span<lp::stream_scope>> stream_span;
  template <class F>
  void with(F&& f) {
    if (conn) f(*conn);
    else if (stream) f(*stream);
    else if (conn_span) f(*conn_span);
    else if (stream_span) f(*stream_span);
  }
};
}  // namespace

TEST_CASE("the trace is go's format and replays to the model's usage of every scope") {
  const auto path = (std::filesystem::temp_directory_path() / ("rcmgr_trace_test_" + std::to_string(::getpid()) + ".json.gz")).string();
  auto limits = lp::default_limits();
  limits.set<lp::transient_scope>({8, 8, 12, 4, 4, 6, 6, 1 << 20});
  limits.set<lp::peer_scope>({6, 6, 8, 3, 3, 4, 4, 4 << 20});
  manager mgr(limits);
  verify::model model;
  const auto l = [](const rcmgr::limit& x) {
    return verify::lim{x.streams_inbound, x.streams_outbound, x.streams, x.conns_inbound, x.conns_outbound, x.conns, x.fd, x.memory};
  };
  model.set_limit(verify::kind::system, l(limits.get<lp::system_scope>()));
  model.set_limit(verify::kind::transient, l(limits.get<lp::transient_scope>()));
  model.set_limit(verify::kind::service, l(limits.get<lp::service_scope>()));
  model.set_limit(verify::kind::protocol, l(limits.get<lp::protocol_scope>()));
  model.set_limit(verify::kind::peer, l(limits.get<lp::peer_scope>()));
  model.set_limit(verify::kind::service_peer, l(limits.get<lp::service_peer_scope>()));
  model.set_limit(verify::kind::protocol_peer, l(limits.get<lp::protocol_peer_scope>()));
  model.set_limit(verify::kind::connection, l(limits.get<lp::connection_scope>()));
  model.set_limit(verify::kind::stream, l(limits.get<lp::stream_scope>()));
  REQUIRE(mgr.observer().open(path, mgr));

  std::mt19937 rng(7);
  const std::vector<std::string> peers{"12D3KooWA", "12D3KooWB", "12D3KooWC"};
  const std::vector<std::string> protocols{"/ipfs/id/1.0.0", "/x/\"quoted\"/1"};
  std::map<int, handles> live;  // by model id
  int mismatches = 0;
  auto agree = [&](bool real_ok, const verify::outcome& m) {
    if (real_ok != (m.code == verify::outcome::ok)) ++mismatches;
  };
  for (int step = 0; step < 3000; ++step) {
    const int op = int(rng() % 9);
    auto pick = [&]() -> std::pair<int, handles*> {
      if (live.empty()) return {-1, nullptr};
      auto it = live.begin();
      std::advance(it, rng() % live.size());
      return {it->first, &it->second};
    };
    const auto d = rng() % 2 ? direction::inbound : direction::outbound;
    const auto md = d == direction::inbound ? verify::dir::in : verify::dir::out;
    if (op == 0) {
      const bool fd = rng() % 2;
      verify::outcome out;
      const int id = model.open_connection(md, fd, out);
      auto c = mgr.open_connection(d, fd);
      agree(bool(c), out);
      if (c && id >= 0) live[id].conn = std::move(*c);
    } else if (op == 1) {
      const auto& p = peers[rng() % peers.size()];
      verify::outcome out;
      const int id = model.open_stream(p, md, out);
      auto s = mgr.open_stream(rcmgr::peer_id(p), d);
      agree(bool(s), out);
      if (s && id >= 0) live[id].stream = std::move(*s);
    } else if (auto [id, h] = pick(); h != nullptr) {
      const auto t = verify::target::object(id);
      if (op == 2 && h->conn) {
        const auto& p = peers[rng() % peers.size()];
        agree(bool(h->conn->set_peer(rcmgr::peer_id(p))), model.set_peer(t, p));
      } else if (op == 3 && h->stream) {
        const auto& x = protocols[rng() % protocols.size()];
        agree(bool(h->stream->set_protocol(x)), model.set_protocol(t, x));
      } else if (op == 4 && h->stream) {
        agree(bool(h->stream->set_service("svc")), model.set_service(t, "svc"));
      } else if (op == 5) {
        const std::int64_t size = std::int64_t(rng() % (3u << 20));
        const std::uint8_t prio = std::uint8_t(rng() % 256);
        bool ok = false;
        h->with([&](auto& x) { ok = bool(x.reserve_memory(size, prio)); });
        agree(ok, model.reserve(t, size, prio));
      } else if (op == 6) {
        const std::int64_t size = std::int64_t(rng() % (1u << 20));
        h->with([&](auto& x) { x.release_memory(size); });
        model.release(t, size);
      } else if (op == 7 && (h->conn || h->stream)) {
        verify::outcome out;
        const int sid = model.begin_span(t, out);
        if (h->conn) {
          auto sp = h->conn->begin_span();
          agree(bool(sp), out);
          if (sp && sid >= 0) live[sid].conn_span = std::move(*sp);
        } else {
          auto sp = h->stream->begin_span();
          agree(bool(sp), out);
          if (sp && sid >= 0) live[sid].stream_span = std::move(*sp);
        }
      } else if (op == 8) {
        h->with([](auto& x) { x.done(); });
        model.done(id);
        live.erase(id);
      }
    }
  }
  REQUIRE(mismatches == 0);
  // What the model says every scope holds now, in go's names.
  std::map<std::string, usage> expected;
  for (const auto& [name, u] : model.shared) expected[go_name(name)] = of(u);
  std::map<int, usage> expected_objects;
  for (std::size_t i = 0; i < model.objects.size(); ++i) expected_objects[int(i)] = of(model.objects[i].u);

  mgr.observer().close();
  CHECK(mgr.observer().dropped() == 0);
  const auto lines = read_trace(path);
  std::filesystem::remove(path);
  REQUIRE(lines.size() == mgr.observer().written());
  REQUIRE(lines.size() > 1000);
  CHECK(lines.front()["Type"] == "start");
  CHECK(lines.front()["Limit"] == nlohmann::json::object());  // go's fixed limiter writes {}

  const std::set<std::string> types{"start", "create_scope", "destroy_scope", "reserve_memory", "block_reserve_memory",
                                    "release_memory", "add_stream", "block_add_stream", "remove_stream", "add_conn",
                                    "block_add_conn", "remove_conn"};
  // The fields go writes for each event type (zero ones are left out).
  const std::set<std::string> common{"Time", "Type", "Scope", "Name"};
  const std::map<std::string, std::set<std::string>> fields_of{
      {"start", {"Limit"}},
      {"create_scope", {"Limit"}},
      {"destroy_scope", {}},
      {"reserve_memory", {"Priority", "Delta", "Memory"}},
      {"block_reserve_memory", {"Priority", "Delta", "Memory"}},
      {"release_memory", {"Delta", "Memory"}},
      {"add_stream", {"DeltaIn", "DeltaOut", "StreamsIn", "StreamsOut"}},
      {"block_add_stream", {"DeltaIn", "DeltaOut", "StreamsIn", "StreamsOut"}},
      {"remove_stream", {"DeltaIn", "DeltaOut", "StreamsIn", "StreamsOut"}},
      {"add_conn", {"DeltaIn", "DeltaOut", "Delta", "ConnsIn", "ConnsOut", "FD"}},
      {"block_add_conn", {"DeltaIn", "DeltaOut", "Delta", "ConnsIn", "ConnsOut", "FD"}},
      {"remove_conn", {"DeltaIn", "DeltaOut", "Delta", "ConnsIn", "ConnsOut", "FD"}},
  };
  // go's class of a scope name (the Scope object's Class) and the limit its create_scope carries.
  const auto class_of = [](const std::string& n) -> std::string {
    for (const char* p : {"conn-", "stream-"})
      if (n.rfind(p, 0) == 0) return n.find(".span-") != std::string::npos ? "span" : std::string(p, std::strlen(p) - 1);
    if (n.rfind("protocol:", 0) == 0) return n.find(".peer:") != std::string::npos ? "protocol-peer" : "protocol";
    if (n.rfind("service:", 0) == 0) return n.find(".peer:") != std::string::npos ? "service-peer" : "service";
    if (n.rfind("peer:", 0) == 0) return "peer";
    return n;  // system, transient
  };
  const auto base_limit = [](const rcmgr::limit& x, rcmgr::resource_set acc) {  // go's BaseLimit, zero fields left out
    nlohmann::json j = nlohmann::json::object();
    const auto put = [&](const char* k, rcmgr::resource r, std::int64_t v) {
      if (acc.contains(r) && v != 0) j[k] = v;
    };
    put("Streams", rcmgr::resource::streams, x.streams);
    put("StreamsInbound", rcmgr::resource::streams, x.streams_inbound);
    put("StreamsOutbound", rcmgr::resource::streams, x.streams_outbound);
    put("Conns", rcmgr::resource::conns, x.conns);
    put("ConnsInbound", rcmgr::resource::conns, x.conns_inbound);
    put("ConnsOutbound", rcmgr::resource::conns, x.conns_outbound);
    put("FD", rcmgr::resource::fd, x.fd);
    put("Memory", rcmgr::resource::memory, x.memory);
    return j;
  };
  const auto limit_json = [&]<class K>(std::type_identity<K>) {
    return base_limit(limits.get<K>(), rcmgr::detail::kind_traits<K>::accounted);
  };
  const std::map<std::string, nlohmann::json> expected_limit{
      {"system", limit_json(std::type_identity<lp::system_scope>{})},
      {"transient", limit_json(std::type_identity<lp::transient_scope>{})},
      {"service", limit_json(std::type_identity<lp::service_scope>{})},
      {"protocol", limit_json(std::type_identity<lp::protocol_scope>{})},
      {"peer", limit_json(std::type_identity<lp::peer_scope>{})},
      {"service-peer", limit_json(std::type_identity<lp::service_peer_scope>{})},
      {"protocol-peer", limit_json(std::type_identity<lp::protocol_peer_scope>{})},
      {"conn", limit_json(std::type_identity<lp::connection_scope>{})},
      {"stream", limit_json(std::type_identity<lp::stream_scope>{})},
  };
  const auto limit_for = [&](const std::string& name) {  // a span's limit is its owner's
    std::string c = class_of(name);
    if (c == "span") c = class_of(name.substr(0, name.find(".span-")));
    return expected_limit.at(c);
  };
  const auto num = [](const nlohmann::json& j, const char* k) { return j.value(k, std::int64_t{0}); };

  std::map<std::string, usage> replay;
  std::map<std::string, nlohmann::json> live_limit;  // scopes created and not destroyed, with their Limit
  std::vector<std::string> objects_created;          // connections, streams and spans, in creation order
  std::set<std::string> objects_added;               // ... that were charged their connection or stream
  std::map<std::string, int> created_of, destroyed_of;  // by class
  std::set<std::string> types_seen;
  int bad_totals = 0, bad_fields = 0, unknown_scope = 0, bad_limit = 0, bad_block = 0, blocks = 0;
  for (const auto& e : lines) {
    const std::string type = e["Type"];
    types_seen.insert(type);
    REQUIRE(types.count(type) == 1);
    for (const auto& [k, v] : e.items()) {
      if (common.count(k) == 0 && fields_of.at(type).count(k) == 0) {
        UNSCOPED_INFO(type << " has " << k);
        ++bad_fields;
      }
    }
    REQUIRE(e["Time"].get<std::string>().size() == 30);  // 2026-01-02T03:04:05.123456789Z
    if (!e.contains("Name")) continue;
    const std::string name = e["Name"];
    const std::string cls = class_of(name);
    REQUIRE(e.contains("Scope"));
    CHECK(e["Scope"]["Class"] == (cls == "span" ? class_of(name.substr(0, name.find(".span-"))) : cls));
    if (type == "create_scope") {
      INFO(name);
      REQUIRE(live_limit.count(name) == 0);  // created once while it lives
      REQUIRE(e.contains("Limit"));
      live_limit[name] = e["Limit"];
      if (e["Limit"] != limit_for(name)) {
        UNSCOPED_INFO(name << ": Limit " << e["Limit"].dump() << ", expected " << limit_for(name).dump());
        ++bad_limit;
      }
      ++created_of[cls];
      if (cls == "conn" || cls == "stream" || cls == "span") objects_created.push_back(name);
      continue;
    }
    if (live_limit.count(name) == 0) {  // every event names a scope created before and not destroyed since
      UNSCOPED_INFO(type << " on " << name << ", which does not exist");
      ++unknown_scope;
      continue;
    }
    if (type == "destroy_scope") {
      live_limit.erase(name);
      ++destroyed_of[cls];
      // a scope ends empty: what it held was released first
      if (cls != "conn" && cls != "stream" && cls != "span") CHECK(replay[name] == usage{});
      continue;
    }
    auto& u = replay[name];
    if (type.rfind("block_", 0) == 0) {
      // go's block event: what was asked, and the refusing scope's usage, which its limit refused
      ++blocks;
      const auto& l = live_limit[name];
      const auto over = [&](std::int64_t now, std::int64_t asked, const char* field) {
        return asked > 0 && now + asked > (l.contains(field) ? l[field].get<std::int64_t>() : 0);
      };
      bool ok = false;
      if (type == "block_reserve_memory") {
        ok = num(e, "Memory") == u.memory && num(e, "Delta") > 0 &&
             u.memory + num(e, "Delta") > rcmgr::memory_threshold(num(l, "Memory"), std::uint8_t(num(e, "Priority")));
      } else if (type == "block_add_stream") {
        ok = num(e, "StreamsIn") == u.streams_in && num(e, "StreamsOut") == u.streams_out &&
             (over(u.streams_in, num(e, "DeltaIn"), "StreamsInbound") || over(u.streams_out, num(e, "DeltaOut"), "StreamsOutbound") ||
              over(u.streams_in + u.streams_out, num(e, "DeltaIn") + num(e, "DeltaOut"), "Streams"));
      } else {
        ok = num(e, "ConnsIn") == u.conns_in && num(e, "ConnsOut") == u.conns_out && num(e, "FD") == u.fd &&
             (over(u.conns_in, num(e, "DeltaIn"), "ConnsInbound") || over(u.conns_out, num(e, "DeltaOut"), "ConnsOutbound") ||
              over(u.conns_in + u.conns_out, num(e, "DeltaIn") + num(e, "DeltaOut"), "Conns") || over(u.fd, num(e, "Delta"), "FD"));
      }
      if (!ok) {
        UNSCOPED_INFO(e.dump() << " against " << u << " and limit " << l.dump());
        ++bad_block;
      }
      continue;
    }
    if (type == "reserve_memory" || type == "release_memory") {
      u.memory += num(e, "Delta");
      if (num(e, "Memory") != u.memory) ++bad_totals;
    } else if (type == "add_stream" || type == "remove_stream") {
      u.streams_in += num(e, "DeltaIn"), u.streams_out += num(e, "DeltaOut");
      if (num(e, "StreamsIn") != u.streams_in || num(e, "StreamsOut") != u.streams_out) ++bad_totals;
      if (type == "add_stream") objects_added.insert(name);
    } else {
      u.conns_in += num(e, "DeltaIn"), u.conns_out += num(e, "DeltaOut"), u.fd += num(e, "Delta");
      if (num(e, "ConnsIn") != u.conns_in || num(e, "ConnsOut") != u.conns_out || num(e, "FD") != u.fd) ++bad_totals;
      if (type == "add_conn") objects_added.insert(name);
    }
  }
  CHECK(bad_totals == 0);
  CHECK(bad_fields == 0);
  CHECK(unknown_scope == 0);
  CHECK(bad_limit == 0);
  CHECK(bad_block == 0);
  CHECK(blocks > 50);
  for (const char* t : {"start", "create_scope", "destroy_scope", "reserve_memory", "block_reserve_memory",
                        "release_memory", "add_stream", "block_add_stream", "remove_stream", "add_conn",
                        "block_add_conn", "remove_conn"}) {
    INFO(t);
    CHECK(types_seen.count(t) == 1);
  }
  // Every kind of scope is created; the collected ones are destroyed too. Protocols and services
  // are kept for the manager's lifetime, system and transient are the manager's.
  for (const char* c : {"system", "transient", "service", "protocol", "peer", "service-peer", "protocol-peer", "conn",
                        "stream", "span"}) {
    INFO(c);
    CHECK(created_of[c] > 0);
  }
  for (const char* c : {"peer", "service-peer", "protocol-peer", "conn", "stream", "span"}) {
    INFO(c);
    CHECK(destroyed_of[c] > 0);
  }
  for (const char* c : {"system", "transient", "service", "protocol"}) {
    INFO(c);
    CHECK(destroyed_of[c] == 0);
  }
  // The shared scopes alive at the end of the trace are exactly the model's, and hold what they
  // hold there.
  std::set<std::string> live_shared, model_shared;
  for (const auto& [name, l] : live_limit)
    if (class_of(name) != "conn" && class_of(name) != "stream" && class_of(name) != "span") live_shared.insert(name);
  for (const auto& [name, u] : expected) model_shared.insert(name);
  CHECK(live_shared == model_shared);
  int compared = 0;
  for (const auto& [name, u] : replay) {
    const std::string c = class_of(name);
    if (c == "conn" || c == "stream" || c == "span") continue;
    INFO(name);
    const auto it = expected.find(name);
    CHECK(u == (it == expected.end() ? usage{} : it->second));
    ++compared;
  }
  CHECK(compared >= 8);
  // Connections, streams and spans: the k-th opened (refused opens are created and destroyed
  // without being charged) is the model's object k.
  int k = 0, refused_opens = 0;
  for (const auto& name : objects_created) {
    if (class_of(name) != "span" && objects_added.count(name) == 0) {
      ++refused_opens;
      continue;
    }
    INFO(name);
    CHECK(replay[name] == expected_objects[k]);
    ++k;
  }
  CHECK(k == int(expected_objects.size()));
  CHECK(refused_opens > 0);
}

TEST_CASE("a full trace queue drops records and counts them; the operation never waits") {
  const auto path = (std::filesystem::temp_directory_path() / ("rcmgr_trace_full_" + std::to_string(::getpid()) + ".json.gz")).string();
  manager mgr;
  REQUIRE(mgr.observer().open(path, 4));  // room for 4 records (the start event takes one)
  auto s = mgr.open_stream(rcmgr::peer_id("P"), direction::inbound);  // create_scope + 4 add_stream
  REQUIRE(s);
  REQUIRE(s->reserve_memory(10));
  s->done();
  mgr.observer().close();
  const auto lines = read_trace(path);
  std::filesystem::remove(path);
  CHECK(mgr.observer().dropped() > 0);
  CHECK(lines.size() + mgr.observer().dropped() >= 1 + 5 + 4 + 4 + 1);
  CHECK(lines.size() == mgr.observer().written());
}

TEST_CASE("trace records are go's JSON") {
  rcmgr::trace_record r;
  r.type = "add_stream";
  r.name = "protocol:/x.peer:12D3KooWA";
  r.delta_in = 1;
  r.streams_in = 3;
  r.time = std::chrono::system_clock::time_point(std::chrono::seconds(1700000000) + std::chrono::nanoseconds(5));
  std::string s;
  rcmgr::write_trace_json(s, r);
  CHECK(s ==
        R"({"Time":"2023-11-14T22:13:20.000000005Z","Type":"add_stream","Scope":{"Class":"protocol-peer","Protocol":"/x","Peer":"12D3KooWA"},"Name":"protocol:/x.peer:12D3KooWA","DeltaIn":1,"StreamsIn":3})");
  r.name = "stream-9.span-11";
  r.type = "reserve_memory";
  r.delta_in = 0, r.streams_in = 0, r.delta = 4096, r.memory = 4096, r.priority = 255;
  s.clear();
  rcmgr::write_trace_json(s, r);
  CHECK(s.find(R"("Scope":{"Class":"stream","Stream":"9","Span":"11"},"Name":"stream-9.span-11","Priority":255,"Delta":4096,"Memory":4096})") !=
        std::string::npos);
}

TEST_CASE("create_scope carries go's BaseLimit; start an empty Limit") {
  rcmgr::trace_record r;
  r.type = "create_scope";
  r.name = "peer:12D3KooWA";
  r.has_limit = true;
  r.lim = {6, 7, 8, 3, 0, 4, rcmgr::unlimited, 4 << 20};  // conns_outbound 0: blocked, left out as go does
  r.limit_fields = rcmgr::accounts_all::set;
  r.time = std::chrono::system_clock::time_point(std::chrono::seconds(1700000000));
  std::string s;
  rcmgr::write_trace_json(s, r);
  CHECK(s ==
        R"({"Time":"2023-11-14T22:13:20.000000000Z","Type":"create_scope","Scope":{"Class":"peer","Peer":"12D3KooWA"},"Name":"peer:12D3KooWA","Limit":{"Streams":8,"StreamsInbound":6,"StreamsOutbound":7,"Conns":4,"ConnsInbound":3,"FD":9223372036854775807,"Memory":4194304}})");
  r.limit_fields = rcmgr::resource_set{static_cast<std::uint8_t>((1u << unsigned(rcmgr::resource::memory)) |
                                                                 (1u << unsigned(rcmgr::resource::streams)))};
  r.name = "stream-3";
  s.clear();
  rcmgr::write_trace_json(s, r);
  CHECK(s.find(R"("Name":"stream-3","Limit":{"Streams":8,"StreamsInbound":6,"StreamsOutbound":7,"Memory":4194304}})") !=
        std::string::npos);
  r = {};
  r.type = "start";
  r.has_limit = true;
  s.clear();
  rcmgr::write_trace_json(s, r);
  CHECK(s.find(R"("Type":"start","Limit":{}})") != std::string::npos);
}

TEST_CASE("refusals are traced as go traces them: the refusing scope's usage in every field") {
  const auto path = (std::filesystem::temp_directory_path() / ("rcmgr_trace_block_" + std::to_string(::getpid()) + ".json.gz")).string();
  auto limits = lp::default_limits();
  auto pl = limits.get<lp::peer_scope>();
  pl.streams_inbound = 1;
  pl.conns_inbound = 1;
  pl.memory = 10000;
  limits.set<lp::peer_scope>(pl);
  manager mgr(limits);
  REQUIRE(mgr.observer().open(path, mgr));
  const rcmgr::peer_id p("12D3KooWBlock");
  auto s1 = mgr.open_stream(p, direction::outbound);  // stream-1 (outbound: not limited)
  REQUIRE(s1);
  auto s2 = mgr.open_stream(p, direction::inbound);
  REQUIRE(s2);
  REQUIRE(s2->reserve_memory(6000));
  REQUIRE_FALSE(mgr.open_stream(p, direction::inbound));  // the peer has its one inbound stream
  REQUIRE_FALSE(s1->reserve_memory(5000, rcmgr::priority::high));  // the peer holds 6000 of 10000
  auto c1 = mgr.open_connection(direction::inbound, true);
  auto c2 = mgr.open_connection(direction::inbound, true);
  REQUIRE(c1);
  REQUIRE(c2);
  REQUIRE(c1->set_peer(p));
  REQUIRE_FALSE(c2->set_peer(p));  // one inbound connection per peer
  mgr.observer().close();
  const auto lines = read_trace(path);
  std::filesystem::remove(path);

  std::vector<nlohmann::json> events;  // from the first stream on, without the start and the singletons
  for (const auto& e : lines)
    if (e.value("Name", std::string()).rfind("stream-", 0) == 0 || !events.empty()) events.push_back(e);
  const auto find = [&](const std::string& type, std::size_t from = 0) -> std::size_t {
    for (std::size_t i = from; i < events.size(); ++i)
      if (events[i]["Type"] == type) return i;
    FAIL("no " << type);
    return 0;
  };
  const auto fields = [](nlohmann::json e) {
    e.erase("Time");
    e.erase("Scope");
    return e;
  };
  // The refused stream: created, blocked by the peer (its one inbound stream, two in all), destroyed.
  const std::size_t b = find("block_add_stream");
  REQUIRE(b >= 1);
  REQUIRE(b + 1 < events.size());
  CHECK(events[b - 1]["Type"] == "create_scope");
  const std::string refused = events[b - 1]["Name"];
  CHECK(refused.rfind("stream-", 0) == 0);
  CHECK(events[b - 1]["Limit"].contains("StreamsInbound"));
  CHECK(fields(events[b]) == nlohmann::json::parse(R"({"Type":"block_add_stream","Name":"peer:12D3KooWBlock","DeltaIn":1,"StreamsIn":1,"StreamsOut":1})"));
  CHECK(fields(events[b + 1]) == nlohmann::json{{"Type", "destroy_scope"}, {"Name", refused}});
  // The refused reservation: the peer's memory, not the stream's.
  CHECK(fields(events[find("block_reserve_memory")]) ==
        nlohmann::json::parse(R"({"Type":"block_reserve_memory","Name":"peer:12D3KooWBlock","Priority":203,"Delta":5000,"Memory":6000})"));
  // The refused set_peer: the connection's whole usage asked of the peer (go's ReserveForChild).
  CHECK(fields(events[find("block_add_conn")]) ==
        nlohmann::json::parse(R"({"Type":"block_add_conn","Name":"peer:12D3KooWBlock","DeltaIn":1,"Delta":1,"ConnsIn":1,"FD":1})"));
}

TEST_CASE("scopes are numbered as go numbers them: connections and streams apart, spans per owner") {
  const auto path = (std::filesystem::temp_directory_path() / ("rcmgr_trace_names_" + std::to_string(::getpid()) + ".json.gz")).string();
  manager mgr;
  REQUIRE(mgr.observer().open(path));
  {
    auto s1 = mgr.open_stream(rcmgr::peer_id("12D3KooWNames"), direction::inbound);
    auto c1 = mgr.open_connection(direction::outbound, false);
    auto s2 = mgr.open_stream(rcmgr::peer_id("12D3KooWNames"), direction::outbound);
    REQUIRE(s1);
    REQUIRE(c1);
    REQUIRE(s2);
    auto a = s2->begin_span();
    REQUIRE(a);
    auto b = s2->begin_span();
    REQUIRE(b);
    auto ab = a->begin_span();
    REQUIRE(ab);
    auto c = c1->begin_span();
    REQUIRE(c);
  }
  mgr.observer().close();
  const auto lines = read_trace(path);
  std::filesystem::remove(path);
  std::vector<std::string> created;
  for (const auto& e : lines)
    if (e["Type"] == "create_scope") created.push_back(e["Name"]);
  CHECK(created == std::vector<std::string>{"peer:12D3KooWNames", "stream-1", "conn-1", "stream-2", "stream-2.span-1",
                                            "stream-2.span-2", "stream-2.span-1.span-1", "conn-1.span-1"});
}

TEST_CASE("opened with the manager, the trace creates the singletons with their limits after start; allowlisted scopes have go's names") {
  const auto path = (std::filesystem::temp_directory_path() / ("rcmgr_trace_start_" + std::to_string(::getpid()) + ".json.gz")).string();
  using gated = rcmgr::gated_resource_manager<rcmgr::single_threaded, rcmgr::observed_by<rcmgr::trace_observer>>;
  auto limits = rcmgr::libp2p::default_gated_limits();
  auto t = limits.get<lp::transient_scope>();
  t.conns_inbound = 0;  // every inbound connection goes to the allowlisted scopes, or is refused
  limits.set<lp::transient_scope>(t);
  rcmgr::gating_options g;
  g.allowlist = {"/ip4/127.0.0.0/ipcidr/8"};
  gated mgr(limits, g);
  REQUIRE(mgr.observer().open(path, mgr));
  std::vector<nlohmann::json> lines;
  {
    auto allowed = mgr.open_connection(direction::inbound, true, "/ip4/127.0.0.1/tcp/4001");
    REQUIRE(allowed);
    REQUIRE_FALSE(mgr.open_connection(direction::inbound, true, "/ip4/192.0.2.1/tcp/4001"));
  }
  mgr.observer().close();
  lines = read_trace(path);
  std::filesystem::remove(path);
  // the allowed connection is charged to the allowlisted scopes; the refused one is created,
  // blocked by transient and destroyed
  std::vector<std::string> seen;
  for (std::size_t i = 5; i < lines.size(); ++i) seen.push_back(lines[i]["Type"].get<std::string>() + " " + lines[i].value("Name", ""));
  CHECK(seen == std::vector<std::string>{"create_scope conn-1", "add_conn conn-1", "add_conn allowlistedTransient",
                                         "add_conn allowlistedSystem", "create_scope conn-2", "block_add_conn transient",
                                         "destroy_scope conn-2", "remove_conn conn-1", "remove_conn allowlistedTransient",
                                         "remove_conn allowlistedSystem", "destroy_scope conn-1"});
  lines.resize(5);
  CHECK(lines[0]["Type"] == "start");
  std::set<std::string> names;
  for (std::size_t i = 1; i < lines.size(); ++i) {
    CHECK(lines[i]["Type"] == "create_scope");
    CHECK(lines[i]["Limit"].is_object());
    CHECK(lines[i]["Scope"]["Class"] == lines[i]["Name"]);  // go's class of these is their name
    names.insert(lines[i]["Name"]);
  }
  CHECK(names == std::set<std::string>{"system", "transient", "allowlistedSystem", "allowlistedTransient"});
}

TEST_CASE("threads tracing at once: the trace still sums to every scope's usage") {
  using ts_manager = rcmgr::resource_manager<rcmgr::thread_safe, rcmgr::observed_by<rcmgr::trace_observer>>;
  const auto path = (std::filesystem::temp_directory_path() / ("rcmgr_trace_threads_" + std::to_string(::getpid()) + ".json.gz")).string();
  ts_manager mgr;
  REQUIRE(mgr.observer().open(path));
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&mgr, t] {
      const rcmgr::peer_id p("12D3KooWThread" + std::to_string(t % 2));
      for (int i = 0; i < 300; ++i) {
        auto s = mgr.open_stream(p, i % 2 ? direction::inbound : direction::outbound);
        if (!s) continue;
        (void)s->set_protocol(i % 3 ? "/a" : "/b");
        (void)s->reserve_memory(1000 + i);
        if (i % 5 == 0) continue;  // ended by its destructor
        s->release_memory(500);
        s->done();
      }
    });
  }
  auto kept = mgr.open_connection(direction::inbound, true);  // still open at the end
  REQUIRE(kept);
  REQUIRE(kept->reserve_memory(777));
  for (auto& th : threads) th.join();
  mgr.observer().close();
  CHECK(mgr.observer().dropped() == 0);
  const auto lines = read_trace(path);
  std::filesystem::remove(path);
  std::map<std::string, std::int64_t> memory, streams;
  for (const auto& e : lines) {
    if (!e.contains("Name")) continue;
    const std::string type = e["Type"];
    if (type == "reserve_memory" || type == "release_memory") memory[e["Name"]] += e.value("Delta", std::int64_t{0});
    if (type == "add_stream" || type == "remove_stream")
      streams[e["Name"]] += e.value("DeltaIn", std::int64_t{0}) + e.value("DeltaOut", std::int64_t{0});
  }
  CHECK(memory["system"] == 777);
  CHECK(memory["transient"] == 777);
  CHECK(streams["system"] == 0);
  for (const auto& [name, n] : streams) {
    INFO(name);
    CHECK(n == 0);
  }
}

TEST_CASE("a trace whose writes fail stops, counts nothing more as written, and the next open starts afresh") {
  // /dev/full: every write fails with ENOSPC, as on a full disk.
  if (!std::filesystem::exists("/dev/full")) {
    WARN("no /dev/full on this system");
    return;
  }
  manager mgr;
  REQUIRE(mgr.observer().open("/dev/full"));
  // the writer wakes at least once a second; wait (bounded) until its first write has failed
  for (int i = 0; i < 500 && mgr.observer().healthy(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  REQUIRE_FALSE(mgr.observer().healthy());
  {
    auto s = mgr.open_stream(rcmgr::peer_id("P"), direction::inbound);
    REQUIRE(s);
    REQUIRE(s->reserve_memory(10));
  }
  mgr.observer().close();
  CHECK_FALSE(mgr.observer().healthy());
  CHECK(mgr.observer().written() == 0);

  const auto path = (std::filesystem::temp_directory_path() / ("rcmgr_trace_reopen_" + std::to_string(::getpid()) + ".json.gz")).string();
  REQUIRE(mgr.observer().open(path));
  {
    auto s = mgr.open_stream(rcmgr::peer_id("P"), direction::inbound);
    REQUIRE(s);
  }
  mgr.observer().close();
  const auto lines = read_trace(path);
  std::filesystem::remove(path);
  CHECK(mgr.observer().healthy());
  REQUIRE_FALSE(lines.empty());
  CHECK(lines.front()["Type"] == "start");
  CHECK(lines.size() == mgr.observer().written());
}

TEST_CASE("trace JSON stays valid whatever bytes a key holds") {
  rcmgr::trace_record r;
  r.type = "add_stream";
  r.name = std::string("protocol:/x\xff\xc2\x9b\x1b[2J\x7f/\xc3\xa9.peer:12D3KooWA");
  r.delta_in = 1;
  std::string s;
  rcmgr::write_trace_json(s, r);
  const auto j = nlohmann::json::parse(s);  // throws on bytes that are not UTF-8
  CHECK(j["Name"] == "protocol:/x\xc3\xbf\xc2\x9b\x1b[2J\x7f/\xc3\xa9.peer:12D3KooWA");
  CHECK(s.find(R"(\u00ff\u009b\u001b[2J\u007f/)") != std::string::npos);
  CHECK(s.find("\xc3\xa9") != std::string::npos);  // well-formed UTF-8 stays as it is
}

TEST_CASE("a protocol id holding \".span-\" is not taken for a span in the trace's Scope") {
  rcmgr::trace_record r;
  r.type = "add_stream";
  r.name = "protocol:/evil.span-7";
  r.delta_in = 1;
  std::string s;
  rcmgr::write_trace_json(s, r);
  const auto j = nlohmann::json::parse(s);
  CHECK(j["Scope"]["Class"] == "protocol");
  CHECK(j["Scope"]["Protocol"] == "/evil.span-7");
  CHECK_FALSE(j["Scope"].contains("Span"));
  r.name = "stream-9.span-11";
  s.clear();
  rcmgr::write_trace_json(s, r);
  CHECK(nlohmann::json::parse(s)["Scope"]["Span"] == "11");
}
