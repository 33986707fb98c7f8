// rcmgr::trace_observer: the trace is go-libp2p's format and complete. A random sequence of
// calls runs on a manager with the trace observer and on the reference model (tests/verify);
// the trace is decoded (gunzip, JSON lines) and replayed: summing every event's deltas per scope
// must give each scope's usage in the model, and each event's totals must be the running sums.
#include <catch2/catch.hpp>

#include <chrono>
#include <cstdio>
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
  REQUIRE(mgr.observer().open(path));

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

  const std::set<std::string> types{"start", "create_scope", "destroy_scope", "reserve_memory", "block_reserve_memory",
                                    "release_memory", "add_stream", "block_add_stream", "remove_stream", "add_conn",
                                    "block_add_conn", "remove_conn"};
  const std::set<std::string> fields{"Time", "Type", "Scope", "Name", "Limit", "Priority", "Delta", "DeltaIn",
                                     "DeltaOut", "Memory", "StreamsIn", "StreamsOut", "ConnsIn", "ConnsOut", "FD"};
  std::map<std::string, usage> replay;
  std::map<std::string, int> created;  // "conn-7" -> creation order (the model's object id)
  std::set<std::string> types_seen;
  int order = 0, bad_totals = 0;
  for (const auto& e : lines) {
    const std::string type = e["Type"];
    types_seen.insert(type);
    REQUIRE(types.count(type) == 1);
    for (const auto& [k, v] : e.items()) {
      INFO(k);
      REQUIRE(fields.count(k) == 1);
    }
    REQUIRE(e["Time"].get<std::string>().size() == 30);  // 2026-01-02T03:04:05.123456789Z
    if (!e.contains("Name")) continue;
    const std::string name = e["Name"];
    REQUIRE(e.contains("Scope"));
    if (type == "create_scope") {
      created[name] = order++;
      continue;
    }
    if (type == "destroy_scope" || type.rfind("block_", 0) == 0) continue;
    auto& u = replay[name];
    const auto get = [&](const char* k) { return e.value(k, std::int64_t{0}); };
    if (type == "reserve_memory" || type == "release_memory") {
      u.memory += get("Delta");
      if (get("Memory") != u.memory) ++bad_totals;
    } else if (type == "add_stream" || type == "remove_stream") {
      u.streams_in += get("DeltaIn"), u.streams_out += get("DeltaOut");
      if (get("StreamsIn") != u.streams_in || get("StreamsOut") != u.streams_out) ++bad_totals;
    } else {
      u.conns_in += get("DeltaIn"), u.conns_out += get("DeltaOut"), u.fd += get("Delta");
      if (get("ConnsIn") != u.conns_in || get("ConnsOut") != u.conns_out || get("FD") != u.fd) ++bad_totals;
    }
  }
  CHECK(bad_totals == 0);
  for (const char* t : {"start", "create_scope", "destroy_scope", "reserve_memory", "block_reserve_memory",
                        "release_memory", "add_stream", "block_add_stream", "remove_stream", "add_conn",
                        "block_add_conn", "remove_conn"}) {
    INFO(t);
    CHECK(types_seen.count(t) == 1);
  }
  // Shared scopes: the replay equals the model (scopes the model no longer has must be empty).
  int compared = 0;
  for (const auto& [name, u] : replay) {
    if (created.count(name) != 0) continue;
    INFO(name);
    const auto it = expected.find(name);
    CHECK(u == (it == expected.end() ? usage{} : it->second));
    ++compared;
  }
  for (const auto& [name, u] : expected) {
    INFO(name);
    if (!(u == usage{})) CHECK(replay.count(name) == 1);
  }
  // Connections, streams and spans: the k-th created is the model's object k.
  for (const auto& [name, k] : created) {
    INFO(name);
    CHECK(replay[name] == expected_objects[k]);
  }
  CHECK(compared >= 8);
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
