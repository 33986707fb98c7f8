// The physical limit of exact accounting: the counter updates a workload must make, and nothing
// else. A workload that charges S scopes makes 2*S updates per reserve + release (W1: 7 scopes,
// 14 updates). The single-threaded manager is measured against plain integer adds, the
// thread-safe one against atomic read-modify-writes on separate cache lines (as the counters of
// distinct scopes are). Counter updates per workload (see docs/performance.md for the count):
//   W1 14, the W1 sweep 2/4/8/10/14, W2 15, W3 14, W4 32.
#include <benchmark/benchmark.h>

#include <atomic>
#include <cstdint>
#include <string>
#include <utility>

namespace {

constexpr std::uint64_t amount = 1024;

/// A counter alone on its cache line, as the counters of distinct scopes are (they live in
/// different nodes); this also keeps the compiler from turning the adds into vector adds.
struct alignas(64) plain_line {
  std::uint64_t v = 0;
  std::uint64_t limit = std::uint64_t{1} << 40;
};

/// U updates: ceil(U/2) counters get an add, floor(U/2) of them the matching subtract.
template <int U>
void plain_adds(benchmark::State& state) {
  constexpr int n = (U + 1) / 2;
  plain_line c[n];
  plain_line* escaped = c;  // the counters escape through a pointer, so every add reaches memory
  benchmark::DoNotOptimize(escaped);
  for (auto _ : state) {
    [&]<std::size_t... I>(std::index_sequence<I...>) { ((c[I].v += amount), ...); }(std::make_index_sequence<n>{});
    benchmark::ClobberMemory();
    [&]<std::size_t... I>(std::index_sequence<I...>) { ((c[I].v -= amount), ...); }(std::make_index_sequence<U / 2>{});
    benchmark::ClobberMemory();
  }
  state.counters["updates"] = U;
}

/// The same with a limit check before each add, as any accounting must do (the limits live in
/// memory, so the compiler cannot fold the comparisons).
template <int U>
void checked_adds(benchmark::State& state) {
  constexpr int n = (U + 1) / 2;
  plain_line c[n];
  plain_line* escaped = c;
  benchmark::DoNotOptimize(escaped);
  for (auto _ : state) {
    bool ok = true;
    [&]<std::size_t... I>(std::index_sequence<I...>) {
      ((ok = ok && (amount <= c[I].limit - c[I].v) && ((c[I].v += amount), true)), ...);
    }(std::make_index_sequence<n>{});
    benchmark::DoNotOptimize(ok);
    benchmark::ClobberMemory();
    [&]<std::size_t... I>(std::index_sequence<I...>) { ((c[I].v -= amount), ...); }(std::make_index_sequence<U / 2>{});
    benchmark::ClobberMemory();
  }
  state.counters["updates"] = U;
}

struct alignas(64) line_counter {
  std::atomic<std::uint64_t> v{0};
};

/// U atomic read-modify-writes (lock xadd), one counter per cache line.
template <int U>
void atomic_rmw(benchmark::State& state) {
  constexpr int n = (U + 1) / 2;
  static line_counter c[n];
  for (auto _ : state) {
    [&]<std::size_t... I>(std::index_sequence<I...>) {
      (c[I].v.fetch_add(amount, std::memory_order_relaxed), ...);
    }(std::make_index_sequence<n>{});
    [&]<std::size_t... I>(std::index_sequence<I...>) {
      (c[I].v.fetch_sub(amount, std::memory_order_relaxed), ...);
    }(std::make_index_sequence<U / 2>{});
  }
  state.counters["updates"] = U;
}

/// W5's physical limit: per thread, reserve + release on P counters of its own (stream, peer and
/// the two peer views) and on S counters shared by every thread of the run (protocol, service,
/// system). Exact accounting cannot avoid moving the shared lines between cores.
template <int P, int S>
void atomic_rmw_mixed(benchmark::State& state) {
  static line_counter shared[S > 0 ? S : 1];
  line_counter own[P > 0 ? P : 1];
  for (auto _ : state) {
    [&]<std::size_t... I>(std::index_sequence<I...>) {
      (own[I].v.fetch_add(amount, std::memory_order_relaxed), ...);
    }(std::make_index_sequence<P>{});
    [&]<std::size_t... I>(std::index_sequence<I...>) {
      (shared[I].v.fetch_add(amount, std::memory_order_relaxed), ...);
    }(std::make_index_sequence<S>{});
    [&]<std::size_t... I>(std::index_sequence<I...>) {
      (own[I].v.fetch_sub(amount, std::memory_order_relaxed), ...);
    }(std::make_index_sequence<P>{});
    [&]<std::size_t... I>(std::index_sequence<I...>) {
      (shared[I].v.fetch_sub(amount, std::memory_order_relaxed), ...);
    }(std::make_index_sequence<S>{});
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["updates"] = 2 * (P + S);
}

template <int... U>
void register_all(std::integer_sequence<int, U...>) {
  (benchmark::RegisterBenchmark(("baseline_plain_adds/" + std::to_string(U)).c_str(), plain_adds<U>), ...);
  (benchmark::RegisterBenchmark(("baseline_checked_adds/" + std::to_string(U)).c_str(), checked_adds<U>), ...);
  (benchmark::RegisterBenchmark(("baseline_atomic_rmw/" + std::to_string(U)).c_str(), atomic_rmw<U>), ...);
}

[[maybe_unused]] const bool registered = [] {
  register_all(std::integer_sequence<int, 2, 4, 8, 10, 14, 15, 32>{});
  // W5: 4 scopes of the thread's own (stream, peer, protocol-peer, service-peer) and 3 shared.
  benchmark::RegisterBenchmark("baseline_w5_atomic_4own_3shared", atomic_rmw_mixed<4, 3>)->Threads(1)->Threads(2)->UseRealTime();
  // The same with nothing shared: what 2 threads give when no line moves between cores.
  benchmark::RegisterBenchmark("baseline_w5_atomic_7own", atomic_rmw_mixed<7, 0>)->Threads(1)->Threads(2)->UseRealTime();
  return true;
}();

}  // namespace
