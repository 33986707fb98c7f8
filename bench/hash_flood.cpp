// Hash flood: opening scopes for 20,000 peer ids crafted to collide under std::hash (equal
// 64-bit values: see flood_ids.hpp) against 20,000 random ids.
//
//   rcmgr_<policy>/{random,crafted}   open a stream for each id (its peer scope is created),
//                                     all 20,000 live at once, then end them all (peers collected)
//   std_unordered_set/{random,crafted} the same ids inserted into a std::unordered_set<std::string>
//                                     and cleared: the std::hash table rcmgr used before, as the
//                                     "before" figure
//
// Each iteration handles all 20,000 ids; the time reported is per iteration. The figure that
// matters is crafted / random for the same table.
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "flood_ids.hpp"
#include "rcmgr/rcmgr.hpp"

namespace {

constexpr std::size_t ids = 20000;

const std::vector<std::string>& id_set(bool crafted) {
  static const std::vector<std::string> c = [] {
    auto v = flood::colliding_ids(ids);
    const auto h = std::hash<std::string_view>{}(v[0]);
    for (const auto& s : v)
      if (std::hash<std::string_view>{}(s) != h) {
        std::fprintf(stderr, "hash_flood: the crafted ids do not collide under this std::hash\n");
        std::abort();
      }
    return v;
  }();
  static const std::vector<std::string> r = flood::random_ids(ids);
  return crafted ? c : r;
}

template <class Policy>
void open_all(benchmark::State& state) {
  const bool crafted = state.range(0) != 0;
  std::vector<rcmgr::peer_id> peers;
  for (const auto& s : id_set(crafted)) peers.emplace_back(s);
  rcmgr::resource_manager<Policy> mgr(rcmgr::libp2p::limits{});  // unlimited: nothing refuses
  std::vector<typename decltype(mgr)::stream> streams;
  streams.reserve(ids);
  for (auto _ : state) {
    for (const auto& p : peers) {
      auto s = mgr.open_stream(p, rcmgr::direction::inbound);
      if (!s) [[unlikely]] {
        state.SkipWithError("open_stream refused");
        return;
      }
      streams.push_back(std::move(*s));
    }
    streams.clear();
  }
  state.SetItemsProcessed(std::int64_t(ids) * std::int64_t(state.iterations()));
}

void std_set(benchmark::State& state) {
  const bool crafted = state.range(0) != 0;
  const auto& v = id_set(crafted);
  std::unordered_set<std::string> set;
  for (auto _ : state) {
    for (const auto& s : v) set.insert(s);
    benchmark::DoNotOptimize(set.size());
    set.clear();
  }
  state.SetItemsProcessed(std::int64_t(ids) * std::int64_t(state.iterations()));
}

}  // namespace

BENCHMARK(open_all<rcmgr::single_threaded>)->Name("rcmgr_single_threaded")->ArgName("crafted")->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond);
BENCHMARK(open_all<rcmgr::thread_safe>)->Name("rcmgr_thread_safe")->ArgName("crafted")->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond);
BENCHMARK(std_set)->Name("std_unordered_set")->ArgName("crafted")->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond);

BENCHMARK_MAIN();
