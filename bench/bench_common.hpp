// Shared pieces of the benchmarks: the managers under test, peer ids, setup helpers that stop
// the run loudly when a setup step is refused, and the heap meter reported as counters.
#pragma once

#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "alloc_counter.hpp"
#include "rcmgr/rcmgr.hpp"

namespace rcmgr_bench {

using ts_manager = rcmgr::resource_manager<rcmgr::thread_safe>;
using st_manager = rcmgr::resource_manager<rcmgr::single_threaded>;
using null_manager = rcmgr::null_resource_manager;
/// The opt-in policy with per-thread memory caches on shared scopes (default chunk and slots).
using tc_manager = rcmgr::resource_manager<rcmgr::thread_cached<>>;

template <class M>
inline constexpr const char* policy_name = "?";
template <>
inline constexpr const char* policy_name<ts_manager> = "thread_safe";
template <>
inline constexpr const char* policy_name<st_manager> = "single_threaded";
template <>
inline constexpr const char* policy_name<null_manager> = "null";
template <>
inline constexpr const char* policy_name<tc_manager> = "thread_cached";

/// A realistic peer id: 52 characters like an Ed25519 "12D3KooW..." id, unique per n.
inline rcmgr::peer_id make_peer(std::uint64_t n) {
  static constexpr char alphabet[] = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";  // base58
  std::string s = "12D3KooW";
  std::uint64_t x = n * 0x9e3779b97f4a7c15ull + 0x632be59bd9b4e019ull;
  while (s.size() < 52) {
    s += alphabet[x % 58];
    x = x / 58 + (x << 7) * 31 + n;  // keep mixing so the tail is not constant
  }
  return rcmgr::peer_id(s);
}

/// Unwraps a result or stops the program: a refused setup step means the benchmark measures
/// something other than what it claims, which must not go unnoticed.
template <class R>
decltype(auto) must(R&& r, const char* what) {
  if (!r) {
    std::fprintf(stderr, "benchmark setup failed: %s: %s\n", what, r.error().message().c_str());
    std::abort();
  }
  if constexpr (requires { typename std::remove_cvref_t<R>::value_type; } &&
                !std::is_void_v<typename std::remove_cvref_t<R>::value_type>)
    return std::move(*r);
}

inline constexpr std::string_view bench_protocol = "/bench/echo/1.0.0";
inline constexpr std::string_view bench_service = "bench.echo";

/// How far a stream is attached: at open (stream, peer, transient, system), after set_protocol
/// (stream, peer, protocol-peer, protocol, system), after set_service (stream and six parents).
enum class stream_level { open, protocol, service };

/// A connection attached to peer p and a stream of p attached up to `level`.
template <class M>
struct stream_fixture {
  typename M::connection conn;
  typename M::stream stream;

  stream_fixture(M& mgr, const rcmgr::peer_id& p, stream_level level = stream_level::service,
                 std::string_view proto = bench_protocol, std::string_view svc = bench_service) {
    conn = must(mgr.open_connection(rcmgr::direction::inbound, true), "open_connection");
    must(conn.set_peer(p), "set_peer");
    stream = must(mgr.open_stream(p, rcmgr::direction::inbound), "open_stream");
    if (level != stream_level::open) must(stream.set_protocol(proto), "set_protocol");
    if (level == stream_level::service) must(stream.set_service(svc), "set_service");
  }
};

/// Counts the calling thread's heap calls between its construction and report(), and reports
/// them per operation (averaged over the threads of a multi-threaded run).
class heap_meter {
 public:
  heap_meter() : start_(heap_thread_now()) {}
  void report(benchmark::State& state, double ops_per_iteration = 1.0) const {
    const heap_snapshot end = heap_thread_now();
    const double ops = double(state.iterations()) * ops_per_iteration;
    if (ops <= 0) return;
    state.counters["allocs_per_op"] =
        benchmark::Counter(double(end.allocs - start_.allocs) / ops, benchmark::Counter::kAvgThreads);
    state.counters["heap_bytes_per_op"] =
        benchmark::Counter(double(end.bytes - start_.bytes) / ops, benchmark::Counter::kAvgThreads);
  }

 private:
  heap_snapshot start_;
};

/// Registers fn (a lambda templated on the manager type) under "name/<policy>" for each manager
/// type given, and lets `configure` set options (threads, iterations) on each registration.
template <class... Ms, class F, class C>
void register_for(const std::string& name, F fn, C configure) {
  (configure(benchmark::RegisterBenchmark((name + "/" + policy_name<Ms>).c_str(),
                                          [fn](benchmark::State& st) { fn.template operator()<Ms>(st); })),
   ...);
}
template <class... Ms, class F>
void register_for(const std::string& name, F fn) {
  register_for<Ms...>(name, fn, [](benchmark::internal::Benchmark*) {});
}

}  // namespace rcmgr_bench
