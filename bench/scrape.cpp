// What a Prometheus scrape costs: rcmgr::prometheus::collector::Collect() on a node with N peers
// (each with a connection and two streams on one of ten protocols), and the text exposition a
// scrape serves. Built when rcmgr::prometheus is available.
#include <benchmark/benchmark.h>

#include <sstream>
#include <string>
#include <vector>

#include <prometheus/text_serializer.h>

#include "bench_common.hpp"
#include "rcmgr/prometheus/collector.hpp"

namespace rcmgr_bench {
namespace {

using prom_manager = rcmgr::resource_manager<rcmgr::observed_by<rcmgr::prometheus::metrics_observer>>;

rcmgr::libp2p::limits roomy() {  // default limits, but system and transient take every peer
  auto l = rcmgr::libp2p::default_limits();
  l.set<rcmgr::libp2p::system_scope>(rcmgr::limit{});
  l.set<rcmgr::libp2p::transient_scope>(rcmgr::limit{});
  return l;
}

struct node {
  prom_manager mgr{roomy()};
  std::vector<prom_manager::connection> conns;
  std::vector<prom_manager::stream> streams;
  explicit node(int peers) {
    for (int i = 0; i < peers; ++i) {
      const auto p = make_peer(std::uint64_t(i));
      conns.push_back(must(mgr.open_connection(rcmgr::direction::inbound, true), "open_connection"));
      must(conns.back().set_peer(p), "set_peer");
      for (int j = 0; j < 2; ++j) {
        streams.push_back(must(mgr.open_stream(p, rcmgr::direction::inbound), "open_stream"));
        must(streams.back().set_protocol("/bench/proto/" + std::to_string(i % 10)), "set_protocol");
      }
    }
  }
};

void collect(benchmark::State& state) {
  node n(int(state.range(0)));
  rcmgr::prometheus::collector col(n.mgr);
  for (auto _ : state) benchmark::DoNotOptimize(col.Collect());
  state.counters["peers"] = double(state.range(0));
}
void collect_and_serialize(benchmark::State& state) {
  node n(int(state.range(0)));
  rcmgr::prometheus::collector col(n.mgr);
  std::size_t bytes = 0;
  for (auto _ : state) {
    std::ostringstream os;
    prometheus::TextSerializer().Serialize(os, col.Collect());
    bytes = os.str().size();
    benchmark::DoNotOptimize(bytes);
  }
  state.counters["peers"] = double(state.range(0));
  state.counters["bytes"] = double(bytes);
}

BENCHMARK(collect)->Name("scrape_collect")->Arg(10)->Arg(100)->Arg(1000)->Unit(benchmark::kMicrosecond);
BENCHMARK(collect_and_serialize)->Name("scrape_collect_text")->Arg(10)->Arg(100)->Arg(1000)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace rcmgr_bench
