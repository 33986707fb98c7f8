// W5: W1 from one and from two threads. Each thread has its own peer and stream; the streams
// share one protocol and one service, so every reservation of either thread also charges the
// same protocol, service and system counters. Throughput is items_per_second (reservations +
// releases per second, all threads together); compare the 2-thread line with the 1-thread one.
#include <benchmark/benchmark.h>

#include <memory>
#include <string>

#include "bench_common.hpp"

namespace rcmgr_bench {
namespace {

template <class M>
void w1_loop(benchmark::State& state, typename M::stream& s) {
  heap_meter meter;
  for (auto _ : state) {
    auto r = s.reserve_memory(1024);
    if (!r) [[unlikely]] {
      state.SkipWithError("reserve_memory refused");
      break;
    }
    s.release_memory(1024);
  }
  meter.report(state);
  state.SetItemsProcessed(state.iterations());
}

/// One manager shared by every thread of every run (function-local static: created once, by
/// whichever thread gets there first).
template <class M>
M& shared_manager() {
  static M mgr(rcmgr::libp2p::default_limits());
  return mgr;
}

// The W5: same protocol and service for both threads.
const auto w5_shared = []<class M>(benchmark::State& state) {
  M& mgr = shared_manager<M>();
  stream_fixture<M> f(mgr, make_peer(500 + std::uint64_t(state.thread_index())));
  w1_loop<M>(state, f.stream);
};

// W5 with a reserve-ahead credit on each thread's stream (rcmgr::memory_credit, 64 KiB chunks):
// the shared counters are written once per chunk, not per reservation.
const auto w5_shared_credit = []<class M>(benchmark::State& state) {
  M& mgr = shared_manager<M>();
  stream_fixture<M> f(mgr, make_peer(800 + std::uint64_t(state.thread_index())));
  rcmgr::memory_credit credit(f.stream, 64 * 1024);
  heap_meter meter;
  for (auto _ : state) {
    auto r = credit.reserve_memory(1024);
    if (!r) [[unlikely]] {
      state.SkipWithError("reserve_memory refused");
      break;
    }
    credit.release_memory(1024);
  }
  meter.report(state);
  state.SetItemsProcessed(state.iterations());
};

// For comparison: each thread its own protocol and service, so only system is shared.
const auto w5_disjoint = []<class M>(benchmark::State& state) {
  M& mgr = shared_manager<M>();
  const std::string proto = "/bench/thread/" + std::to_string(state.thread_index());
  const std::string svc = "bench.thread." + std::to_string(state.thread_index());
  stream_fixture<M> f(mgr, make_peer(600 + std::uint64_t(state.thread_index())), stream_level::service, proto, svc);
  w1_loop<M>(state, f.stream);
};

// For comparison: one single-threaded manager per thread (a sharded node): nothing is shared,
// and nothing limits the node as a whole either.
const auto w5_sharded = []<class M>(benchmark::State& state) {
  auto mgr = std::make_unique<M>(rcmgr::libp2p::default_limits());
  stream_fixture<M> f(*mgr, make_peer(700));
  w1_loop<M>(state, f.stream);
};

[[maybe_unused]] const bool registered = [] {
  const auto threads_1_2 = [](benchmark::internal::Benchmark* b) { b->Threads(1)->Threads(2)->UseRealTime(); };
  register_for<ts_manager, tc_manager>("W5_shared_protocol_service", w5_shared, threads_1_2);
  register_for<ts_manager, tc_manager>("W5_disjoint_protocol_service", w5_disjoint, threads_1_2);
  register_for<ts_manager, tc_manager>("W5_shared_with_credit", w5_shared_credit, threads_1_2);
  // A single-threaded manager must not be shared by two threads; W5 for that policy is one
  // manager per thread.
  register_for<st_manager>("W5_one_manager_per_thread", w5_sharded, threads_1_2);
  return true;
}();

}  // namespace
}  // namespace rcmgr_bench
