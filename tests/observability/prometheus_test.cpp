// rcmgr::prometheus: go-libp2p's metric families with go's names, labels and buckets, values
// after a known workload, and coverage of every query of go-libp2p's Grafana dashboard.
#include <catch2/catch.hpp>

#include <atomic>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>
#include <prometheus/text_serializer.h>

#include "rcmgr/prometheus/collector.hpp"
#include "rcmgr/rcmgr.hpp"

#ifndef RCMGR_DASHBOARD_PATH
#error "RCMGR_DASHBOARD_PATH must name go-libp2p's dashboards/resource-manager.json"
#endif

namespace {
namespace lp = rcmgr::libp2p;
using rcmgr::direction;
using rcmgr::peer_id;
using families = std::vector<prometheus::MetricFamily>;
using manager = rcmgr::resource_manager<rcmgr::observed_by<rcmgr::prometheus::metrics_observer>>;

const prometheus::MetricFamily* find_family(const families& fs, const std::string& name) {
  for (const auto& f : fs)
    if (f.name == name) return &f;
  return nullptr;
}
bool has_labels(const prometheus::ClientMetric& m, const std::map<std::string, std::string>& want) {
  for (const auto& [k, v] : want) {
    bool found = false;
    for (const auto& l : m.label) found = found || (l.name == k && l.value == v);
    if (!found) return false;
  }
  return true;
}
/// The gauge of `name` whose labels include `want`; fails the test if there is not exactly one.
double gauge(const families& fs, const std::string& name, const std::map<std::string, std::string>& want) {
  const auto* f = find_family(fs, name);
  REQUIRE(f != nullptr);
  const prometheus::ClientMetric* hit = nullptr;
  int n = 0;
  for (const auto& m : f->metric)
    if (has_labels(m, want)) hit = &m, ++n;
  INFO(name);
  REQUIRE(n == 1);
  return hit->gauge.value;
}
/// Non-cumulative count of bucket `le` of (histogram - previous histogram), go's "current" reading.
const prometheus::ClientMetric& hist(const families& fs, const std::string& name, const std::map<std::string, std::string>& want) {
  const auto* f = find_family(fs, name);
  REQUIRE(f != nullptr);
  REQUIRE(f->type == prometheus::MetricType::Histogram);
  for (const auto& m : f->metric)
    if (has_labels(m, want)) return m;
  FAIL("no series of " << name);
  return f->metric.front();
}
std::int64_t current_at(const families& fs, const std::string& base, const std::map<std::string, std::string>& want, double le) {
  const auto& now = hist(fs, "libp2p_rcmgr_" + base, want);
  const auto& prev = hist(fs, "libp2p_rcmgr_previous_" + base, want);
  for (std::size_t i = 0; i < now.histogram.bucket.size(); ++i)
    if (now.histogram.bucket[i].upper_bound == le)
      return std::int64_t(now.histogram.bucket[i].cumulative_count) - std::int64_t(prev.histogram.bucket[i].cumulative_count);
  FAIL("no bucket le=" << le << " in " << base);
  return -1;
}

/// A node with two peers, streams on a protocol and a service, memory, and refusals.
struct workload {
  static lp::limits limits() {
    auto l = lp::default_limits();
    auto tr = l.get<lp::transient_scope>();
    tr.conns_inbound = 2;  // a third transient inbound connection is refused
    l.set<lp::transient_scope>(tr);
    return l;
  }
  manager mgr{limits()};
  std::vector<manager::connection> conns;
  std::vector<manager::stream> streams;
  std::vector<manager::connection> transient_conns;
  const peer_id p1{"12D3KooWPeerOne"}, p2{"12D3KooWPeerTwo"};
  workload() {
    for (const auto& p : {p1, p2}) {
      auto c = mgr.open_connection(direction::inbound, true);
      REQUIRE(c);
      REQUIRE(c->set_peer(p));
      conns.push_back(std::move(*c));
    }
    REQUIRE(conns[0].reserve_memory(2048));  // connection memory: 2 KiB
    for (int i = 0; i < 3; ++i) {  // 3 inbound streams of p1 on /ipfs/id/1.0.0 and service "identify"
      auto s = mgr.open_stream(p1, direction::inbound);
      REQUIRE(s);
      REQUIRE(s->set_protocol("/ipfs/id/1.0.0"));
      REQUIRE(s->set_service("identify"));
      REQUIRE(s->reserve_memory(1000));
      streams.push_back(std::move(*s));
    }
    auto t = mgr.open_stream(p2, direction::outbound);  // one transient outbound stream
    REQUIRE(t);
    streams.push_back(std::move(*t));
    // refusals: 20 MiB on a stream (its limit is 16 MiB), and a transient inbound connection
    REQUIRE_FALSE(streams[0].reserve_memory(20 << 20));
    for (int i = 0; i < 2; ++i) {
      auto c = mgr.open_connection(direction::inbound, true);
      REQUIRE(c);
      transient_conns.push_back(std::move(*c));
    }
    REQUIRE_FALSE(mgr.open_connection(direction::inbound, true));
  }
};
}  // namespace

TEST_CASE("the collector exports go-libp2p's families with values from the manager") {
  workload w;
  rcmgr::prometheus::collector col(w.mgr);
  const families fs = col.Collect();
  for (const char* name : {"libp2p_rcmgr_connections", "libp2p_rcmgr_streams", "libp2p_rcmgr_memory", "libp2p_rcmgr_fds",
                           "libp2p_rcmgr_blocked_resources", "libp2p_rcmgr_peer_connections",
                           "libp2p_rcmgr_previous_peer_connections", "libp2p_rcmgr_peer_streams",
                           "libp2p_rcmgr_previous_peer_streams", "libp2p_rcmgr_peer_memory",
                           "libp2p_rcmgr_previous_peer_memory", "libp2p_rcmgr_conn_memory",
                           "libp2p_rcmgr_previous_conn_memory", "libp2p_rcmgr_limit"}) {
    INFO(name);
    CHECK(find_family(fs, name) != nullptr);
  }
  // N streams open -> the gauges read N
  CHECK(gauge(fs, "libp2p_rcmgr_streams", {{"dir", "inbound"}, {"scope", "protocol"}, {"protocol", "/ipfs/id/1.0.0"}}) == 3);
  CHECK(gauge(fs, "libp2p_rcmgr_streams", {{"dir", "inbound"}, {"scope", "system"}}) == 3);
  CHECK(gauge(fs, "libp2p_rcmgr_streams", {{"dir", "outbound"}, {"scope", "system"}}) == 1);
  CHECK(gauge(fs, "libp2p_rcmgr_streams", {{"dir", "outbound"}, {"scope", "transient"}}) == 1);
  CHECK(gauge(fs, "libp2p_rcmgr_streams", {{"dir", "inbound"}, {"scope", "transient"}}) == 0);
  // 2 connections with a peer + 2 still transient (the refused one left nothing)
  CHECK(gauge(fs, "libp2p_rcmgr_connections", {{"dir", "inbound"}, {"scope", "system"}}) == 4);
  CHECK(gauge(fs, "libp2p_rcmgr_connections", {{"dir", "inbound"}, {"scope", "transient"}}) == 2);
  CHECK(gauge(fs, "libp2p_rcmgr_fds", {{"scope", "system"}}) == 4);
  CHECK(gauge(fs, "libp2p_rcmgr_memory", {{"scope", "system"}}) == 2048 + 3000);
  CHECK(gauge(fs, "libp2p_rcmgr_memory", {{"scope", "protocol"}, {"protocol", "/ipfs/id/1.0.0"}}) == 3000);
  CHECK(gauge(fs, "libp2p_rcmgr_memory", {{"scope", "service"}, {"service", "identify"}}) == 3000);
  // a refusal increments the right blocked_resources series
  CHECK(gauge(fs, "libp2p_rcmgr_blocked_resources", {{"dir", ""}, {"scope", "stream"}, {"resource", "memory"}}) == 20 << 20);
  CHECK(gauge(fs, "libp2p_rcmgr_blocked_resources", {{"dir", "inbound"}, {"scope", "transient"}, {"resource", "connection"}}) == 1);
  CHECK(gauge(fs, "libp2p_rcmgr_blocked_resources", {{"dir", ""}, {"scope", "transient"}, {"resource", "fd"}}) == 1);
  // limits as go reports them
  const auto sys = lp::default_limits().get<lp::system_scope>();
  CHECK(gauge(fs, "libp2p_rcmgr_limit", {{"scope", "system"}, {"resource", "memory"}}) == double(sys.memory));
  CHECK(gauge(fs, "libp2p_rcmgr_limit", {{"scope", "transient"}, {"resource", "conns_inbound"}}) == 2);
  // per-peer histograms: current = histogram - previous
  CHECK(current_at(fs, "peer_streams", {{"dir", "inbound"}}, 3) == 1);        // p1: 3 inbound streams
  CHECK(current_at(fs, "peer_streams", {{"dir", "inbound"}}, 2) == 0);
  CHECK(current_at(fs, "peer_connections", {{"dir", "inbound"}}, 1) == 2);    // p1, p2: 1 each
  CHECK(current_at(fs, "peer_memory", {}, 4 << 10) == 0);
  CHECK(current_at(fs, "peer_memory", {}, 32 << 10) == 1);                    // p1: 2048 + 3000 B
  CHECK(current_at(fs, "conn_memory", {}, 4 << 10) == 1);                     // the 2 KiB connection

  SECTION("when streams close, the next scrape shows it, and the histograms stay monotonic") {
    w.streams.clear();
    w.conns[0].release_memory(2048);
    const families again = col.Collect();
    CHECK(gauge(again, "libp2p_rcmgr_streams", {{"dir", "inbound"}, {"scope", "system"}}) == 0);
    CHECK(current_at(again, "peer_streams", {{"dir", "inbound"}}, 3) == 0);
    CHECK(current_at(again, "peer_streams", {{"dir", "inbound"}}, 256) == 0);
    CHECK(current_at(again, "conn_memory", {}, 4 << 10) == 0);
    const auto& before = hist(fs, "libp2p_rcmgr_peer_streams", {{"dir", "inbound"}});
    const auto& after = hist(again, "libp2p_rcmgr_peer_streams", {{"dir", "inbound"}});
    for (std::size_t i = 0; i < before.histogram.bucket.size(); ++i)
      CHECK(after.histogram.bucket[i].cumulative_count >= before.histogram.bucket[i].cumulative_count);
    CHECK(hist(again, "libp2p_rcmgr_previous_peer_streams", {{"dir", "inbound"}}).histogram.sample_count == 1);
  }
  SECTION("the text exposition carries go's bucket boundaries") {
    std::ostringstream text;
    prometheus::TextSerializer().Serialize(text, fs);
    const std::string t = text.str();
    CHECK(t.find("libp2p_rcmgr_peer_streams_bucket{dir=\"inbound\",le=\"256\"}") != std::string::npos);
    CHECK(t.find("libp2p_rcmgr_peer_memory_bucket{le=\"4294967296\"}") != std::string::npos);
    CHECK(t.find("# TYPE libp2p_rcmgr_blocked_resources gauge") != std::string::npos);
  }
}

TEST_CASE("conn_memory follows what a connection's spans reserve, as go's does; stream spans do not count") {
  // with another observer beside it too: the set forwards span events by their owner's kind
  using both = rcmgr::resource_manager<rcmgr::observed_by<rcmgr::prometheus::metrics_observer, rcmgr::counting_observer>>;
  // decided at compile time: the spans of a stream build no event for the metrics observer
  using core = manager::core_type;
  constexpr auto reserved = rcmgr::scope_event::type::reserved;
  STATIC_REQUIRE(core::notifies<rcmgr::span_of<lp::connection_scope>>(reserved));
  STATIC_REQUIRE(core::notifies<rcmgr::span_of<rcmgr::span_of<lp::connection_scope>>>(reserved));
  STATIC_REQUIRE_FALSE(core::notifies<rcmgr::span_of<lp::stream_scope>>(reserved));
  STATIC_REQUIRE_FALSE(core::notifies<rcmgr::span_of<rcmgr::span_of<lp::stream_scope>>>(reserved));
  auto run = [](auto& mgr) {
    rcmgr::prometheus::collector col(mgr);
    auto c = mgr.open_connection(direction::inbound, true);
    REQUIRE(c);
    REQUIRE(c->reserve_memory(2048));  // 2 KiB: bucket le=4096
    auto sp = c->begin_span();
    REQUIRE(sp);
    REQUIRE(sp->reserve_memory(10000));  // the connection now holds 12048 B: bucket le=32768
    auto inner = sp->begin_span();       // a span of the span counts too
    REQUIRE(inner);
    REQUIRE(inner->reserve_memory(30000));  // 42048 B: bucket le=1 MiB
    auto s = mgr.open_stream(peer_id("12D3KooWSpan"), direction::inbound);
    REQUIRE(s);
    auto ssp = s->begin_span();
    REQUIRE(ssp);
    REQUIRE(ssp->reserve_memory(100000));  // a stream's span: no connection memory
    families fs = col.Collect();
    CHECK(current_at(fs, "conn_memory", {}, 4 << 10) == 0);
    CHECK(current_at(fs, "conn_memory", {}, 32 << 10) == 0);
    CHECK(current_at(fs, "conn_memory", {}, 1 << 20) == 1);
    CHECK(hist(fs, "libp2p_rcmgr_conn_memory", {}).histogram.sample_count == 3);
    inner->done();  // releases its 30000 B: back to 12048
    fs = col.Collect();
    CHECK(current_at(fs, "conn_memory", {}, 4 << 10) == 0);  // (buckets are cumulative: connections with at most le bytes)
    CHECK(current_at(fs, "conn_memory", {}, 32 << 10) == 1);
    sp->release_memory(10000);  // back to 2048
    fs = col.Collect();
    CHECK(current_at(fs, "conn_memory", {}, 1 << 10) == 0);
    CHECK(current_at(fs, "conn_memory", {}, 4 << 10) == 1);
    REQUIRE(sp->reserve_memory(5000));  // 7048
    c->done();  // the connection ends with its span open: its memory is gone
    fs = col.Collect();
    CHECK(current_at(fs, "conn_memory", {}, 32 << 10) == 0);
    const auto samples = hist(fs, "libp2p_rcmgr_conn_memory", {}).histogram.sample_count;
    sp->release_memory(5000);  // after the connection ended: the connection's memory does not change
    sp->done();
    fs = col.Collect();
    CHECK(hist(fs, "libp2p_rcmgr_conn_memory", {}).histogram.sample_count == samples);
    for (double le : {1024.0, 4096.0, 32768.0, 1048576.0, 33554432.0}) {
      INFO(le);
      CHECK(current_at(fs, "conn_memory", {}, le) == 0);
    }
  };
  SECTION("alone") {
    manager mgr;
    run(mgr);
  }
  SECTION("in a set") {
    both mgr;
    run(mgr);
    CHECK(mgr.observer().get<rcmgr::counting_observer>().count(rcmgr::scope_event::type::reserved) == 5);
  }
}

TEST_CASE("every query of go-libp2p's resource manager dashboard finds its metrics and labels") {
  std::ifstream in(RCMGR_DASHBOARD_PATH);
  INFO("go-libp2p's dashboard is read from " RCMGR_DASHBOARD_PATH
       " (set the CMake cache variable RCMGR_GO_LIBP2P_DATA to the directory holding dashboards/)");
  REQUIRE(in.good());
  const auto dash = nlohmann::json::parse(in);

  workload w;
  rcmgr::prometheus::collector col(w.mgr);
  const families fs = col.Collect();

  const std::regex metric_re(R"((libp2p_rcmgr_[a-z_]+)(\{([^}]*)\})?)");
  const std::regex matcher_re(R"re((\w+)\s*(=~|!~|!=|=)\s*"([^"]*)")re");
  const std::regex grouping_re(R"((?:by|without)\s*\(([^)]*)\))");
  const std::regex legend_re(R"(\{\{\s*(\w+)\s*\}\})");
  // Labels the Prometheus server adds when it scrapes (not the exporter's to provide).
  const std::set<std::string> server_labels{"instance", "job"};

  int panels = 0, queries = 0;
  std::set<std::string> metrics_seen;
  std::vector<nlohmann::json> stack(dash["panels"].begin(), dash["panels"].end());
  while (!stack.empty()) {
    const auto panel = stack.back();
    stack.pop_back();
    if (panel.contains("panels"))
      for (const auto& p : panel["panels"]) stack.push_back(p);
    if (!panel.contains("targets")) continue;
    ++panels;
    const std::string title = panel.value("title", "");
    for (const auto& target : panel["targets"]) {
      const std::string expr = target.value("expr", "");
      const std::string legend = target.value("legendFormat", "");
      if (expr.empty()) continue;
      ++queries;
      INFO("panel \"" << title << "\", query " << expr);
      std::set<std::string> labels_available;  // on the series the query selects
      bool any_metric = false;
      for (auto it = std::sregex_iterator(expr.begin(), expr.end(), metric_re); it != std::sregex_iterator(); ++it) {
        any_metric = true;
        std::string name = (*it)[1];
        bool bucket = false;
        for (const char* suffix : {"_bucket", "_count", "_sum"}) {
          const std::string s(suffix);
          if (name.size() > s.size() && name.compare(name.size() - s.size(), s.size(), s) == 0 &&
              find_family(fs, name.substr(0, name.size() - s.size())) != nullptr) {
            name.resize(name.size() - s.size());
            bucket = s == "_bucket";
          }
        }
        metrics_seen.insert(name);
        INFO("metric " << name);
        const auto* fam = find_family(fs, name);
        REQUIRE(fam != nullptr);
        if (bucket) labels_available.insert("le");
        if (name.size() > 0 && (*it)[1].str() != name) REQUIRE(fam->type == prometheus::MetricType::Histogram);
        // every equality matcher must select at least one series; every label it names must exist
        std::map<std::string, std::string> want;
        const std::string matchers = (*it)[3];
        for (auto m = std::sregex_iterator(matchers.begin(), matchers.end(), matcher_re); m != std::sregex_iterator(); ++m) {
          const std::string label = (*m)[1];
          if (server_labels.count(label) != 0) continue;
          if ((*m)[2] == "=") want[label] = (*m)[3];
          else want[label + "\x01any"] = "";
        }
        int selected = 0;
        for (const auto& series : fam->metric) {
          bool ok = true;
          for (const auto& [k, v] : want) {
            const bool any = k.size() > 4 && k.compare(k.size() - 4, 4, "\x01" "any") == 0;
            const std::string key = any ? k.substr(0, k.size() - 4) : k;
            bool found = false;
            for (const auto& l : series.label) found = found || (l.name == key && (any || l.value == v));
            ok = ok && found;
          }
          if (!ok) continue;
          ++selected;
          for (const auto& l : series.label) labels_available.insert(l.name);
        }
        CHECK(selected > 0);
      }
      CHECK(any_metric);
      // labels grouped on and shown in the legend must be on the selected series
      std::vector<std::string> needed;
      for (auto g = std::sregex_iterator(expr.begin(), expr.end(), grouping_re); g != std::sregex_iterator(); ++g) {
        std::stringstream list((*g)[1].str());
        for (std::string l; std::getline(list, l, ',');) {
          l.erase(0, l.find_first_not_of(' '));
          l.erase(l.find_last_not_of(' ') + 1);
          needed.push_back(l);
        }
      }
      for (auto g = std::sregex_iterator(legend.begin(), legend.end(), legend_re); g != std::sregex_iterator(); ++g)
        needed.push_back((*g)[1]);
      for (const auto& l : needed) {
        if (server_labels.count(l) != 0) continue;
        INFO("label " << l);
        CHECK(labels_available.count(l) == 1);
      }
    }
  }
  // The dashboard as shipped: 15 panels with queries, over 13 families.
  CHECK(panels >= 15);
  CHECK(queries >= 20);
  CHECK(metrics_seen.size() >= 10);
  WARN("dashboard: " << panels << " panels, " << queries << " queries, " << metrics_seen.size() << " metric families checked");
}

TEST_CASE("scrapes while threads reserve and release read consistent gauges") {
  manager mgr;
  rcmgr::prometheus::collector col(mgr);
  std::atomic<bool> stop{false}, scraping{false};
  std::vector<std::thread> threads;
  for (int t = 0; t < 3; ++t) {
    threads.emplace_back([&mgr, &scraping, t] {
      // start once the scraper runs: on a loaded machine the workers could otherwise finish
      // before it was first scheduled, and nothing would be scraped while they work
      for (int spin = 0; spin < 100000 && !scraping.load(); ++spin) std::this_thread::yield();
      const peer_id p("12D3KooWBusy" + std::to_string(t));
      for (int i = 0; i < 500; ++i) {
        auto c = mgr.open_connection(direction::inbound, true);
        if (!c || !c->set_peer(p)) continue;
        (void)c->reserve_memory(4096);
        auto s = mgr.open_stream(p, direction::outbound);
        if (s) (void)s->set_protocol("/busy");
      }
    });
  }
  std::atomic<int> scrapes{0}, incomplete{0};  // Catch2 assertions are not for other threads
  std::thread scraper([&] {
    scraping = true;
    for (int i = 0; i < 200 && (i < 3 || !stop.load()); ++i) {  // at least 3 scrapes, however scheduled
      const auto fs = col.Collect();
      ++scrapes;
      if (find_family(fs, "libp2p_rcmgr_peer_streams") == nullptr || fs.size() != 14) ++incomplete;
    }
  });
  for (auto& th : threads) th.join();
  stop = true;
  scraper.join();
  CHECK(scrapes.load() > 0);
  CHECK(incomplete.load() == 0);
  const auto fs = col.Collect();
  CHECK(gauge(fs, "libp2p_rcmgr_connections", {{"dir", "inbound"}, {"scope", "system"}}) == 0);
  CHECK(gauge(fs, "libp2p_rcmgr_memory", {{"scope", "system"}}) == 0);
  CHECK(current_at(fs, "conn_memory", {}, 4 << 10) == 0);
  CHECK(current_at(fs, "peer_streams", {{"dir", "outbound"}}, 256) == 0);
}

TEST_CASE("protocol ids that are not UTF-8 still give a valid exposition") {
  // Prometheus refuses a whole scrape when one label value is not UTF-8.
  manager mgr;
  rcmgr::prometheus::collector col(mgr);
  auto s = mgr.open_stream(peer_id("12D3KooWA"), direction::inbound);
  REQUIRE(s);
  REQUIRE(s->set_protocol("/evil/\xff\xfe/\xc3\xa9"));
  REQUIRE(s->set_service("svc\x80"));
  std::ostringstream text;
  prometheus::TextSerializer().Serialize(text, col.Collect());
  const std::string t = text.str();
  for (std::size_t i = 0; i < t.size(); ++i)
    if (static_cast<unsigned char>(t[i]) >= 0x80) {
      const std::size_t n = rcmgr::detail::utf8_sequence(t, i);
      REQUIRE(n != 0);
      i += n - 1;
    }
  // the bytes are written as \xNN (a backslash doubled by the serializer); UTF-8 stays as it is
  CHECK(t.find(R"(protocol="/evil/\\xff\\xfe/)" "\xc3\xa9" R"(")") != std::string::npos);
  CHECK(t.find(R"(service="svc\\x80")") != std::string::npos);
}
