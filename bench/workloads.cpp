// W1-W4 and W7: the single-threaded workloads of the benchmark issue, each for the thread-safe
// manager, the single-threaded manager and the null manager (W7), plus the scope-count sweep
// of W1 (how the cost of a reservation grows with the number of scopes it charges).
#include <benchmark/benchmark.h>

#include <vector>

#include "bench_common.hpp"
#include "rcmgr/prometheus/metrics_observer.hpp"

namespace rcmgr_bench {

// The managers with go-libp2p's metrics installed (the event-driven part; the gauges cost
// nothing until scraped), to measure what the Prometheus observer adds to each workload.
using ts_prometheus = rcmgr::resource_manager<rcmgr::thread_safe, rcmgr::observed_by<rcmgr::prometheus::metrics_observer>>;
using st_prometheus = rcmgr::resource_manager<rcmgr::single_threaded, rcmgr::observed_by<rcmgr::prometheus::metrics_observer>>;
template <>
inline constexpr const char* policy_name<ts_prometheus> = "thread_safe_prometheus";
template <>
inline constexpr const char* policy_name<st_prometheus> = "single_threaded_prometheus";
// For comparison: an observer that takes every event (counting_observer declares no interest).
using ts_counting = rcmgr::resource_manager<rcmgr::thread_safe, rcmgr::observed_by<rcmgr::counting_observer>>;
using st_counting = rcmgr::resource_manager<rcmgr::single_threaded, rcmgr::observed_by<rcmgr::counting_observer>>;
template <>
inline constexpr const char* policy_name<ts_counting> = "thread_safe_counting";
template <>
inline constexpr const char* policy_name<st_counting> = "single_threaded_counting";

namespace {

using rcmgr::direction;
constexpr int warmup = 1000;  // operations run before metering, so pools reach steady state

// ---- W1: reserve + release 1 KiB on a stream -----------------------------------------------------

/// Reserves and releases `size` bytes on h once per iteration; h is a stream handle or a scope ref.
template <class H>
void reserve_release_loop(benchmark::State& state, H& h, std::int64_t size) {
  for (int i = 0; i < warmup; ++i) {
    must(h.reserve_memory(size), "warm-up reserve");
    h.release_memory(size);
  }
  heap_meter meter;
  for (auto _ : state) {
    auto r = h.reserve_memory(size);
    if (!r) [[unlikely]] {
      state.SkipWithError("reserve_memory refused");
      break;
    }
    h.release_memory(size);
  }
  meter.report(state);
}

/// W1 on a stream attached up to `level`; `scopes` is how many scopes one reservation charges.
template <class M>
void w1_stream(benchmark::State& state, stream_level level, int scopes) {
  M mgr(rcmgr::libp2p::default_limits());
  stream_fixture<M> f(mgr, make_peer(1), level);
  reserve_release_loop(state, f.stream, 1024);
  state.counters["scopes"] = scopes;
}

const auto w1 = []<class M>(benchmark::State& state) { w1_stream<M>(state, stream_level::service, 7); };

// W1 through a reserve-ahead credit on the stream (rcmgr::memory_credit, 64 KiB chunks): the
// reservations are served from bytes the credit took from the stream's scopes in one go.
const auto w1_credit = []<class M>(benchmark::State& state) {
  M mgr(rcmgr::libp2p::default_limits());
  stream_fixture<M> f(mgr, make_peer(1), stream_level::service);
  rcmgr::memory_credit credit(f.stream, 64 * 1024);
  reserve_release_loop(state, credit, 1024);
  state.counters["scopes"] = 7;
};

// The sweep: 1 scope (system), 2 (transient: itself + system), 2 (a peer: itself + system),
// 4 (a stream at open), 5 (after set_protocol), 7 (after set_service, which is W1 itself).
const auto w1_system = []<class M>(benchmark::State& state) {
  M mgr(rcmgr::libp2p::default_limits());
  auto sys = mgr.view_system([](auto& r) { return r; });
  reserve_release_loop(state, sys, 1024);
  state.counters["scopes"] = 1;
};
const auto w1_transient = []<class M>(benchmark::State& state) {
  M mgr(rcmgr::libp2p::default_limits());
  auto tr = mgr.view_transient([](auto& r) { return r; });
  reserve_release_loop(state, tr, 1024);
  state.counters["scopes"] = 2;
};
const auto w1_peer = []<class M>(benchmark::State& state) {
  M mgr(rcmgr::libp2p::default_limits());
  auto peer = mgr.view_peer(make_peer(1), [](auto& r) { return r; });
  reserve_release_loop(state, peer, 1024);
  state.counters["scopes"] = 2;
};
// W1 on a connection attached to a peer (3 scopes): the Prometheus observer follows connection
// memory, so this is where it does work on every reservation and release.
const auto w1_connection = []<class M>(benchmark::State& state) {
  M mgr(rcmgr::libp2p::default_limits());
  auto conn = must(mgr.open_connection(direction::inbound, true), "open_connection");
  must(conn.set_peer(make_peer(5)), "set_peer");
  reserve_release_loop(state, conn, 1024);
  state.counters["scopes"] = 3;
};
const auto w1_open = []<class M>(benchmark::State& state) { w1_stream<M>(state, stream_level::open, 4); };
const auto w1_protocol = []<class M>(benchmark::State& state) { w1_stream<M>(state, stream_level::protocol, 5); };

// ---- W2: stream lifecycle ---------------------------------------------------------------------

template <class M>
bool stream_cycle(M& mgr, const rcmgr::peer_id& p) {
  auto r = mgr.open_stream(p, direction::inbound);
  if (!r) return false;
  auto& s = *r;
  if (!s.set_protocol(bench_protocol)) return false;
  if (!s.set_service(bench_service)) return false;
  s.done();
  return true;
}

const auto w2 = []<class M>(benchmark::State& state) {
  M mgr(rcmgr::libp2p::default_limits());
  const rcmgr::peer_id p = make_peer(2);
  auto conn = must(mgr.open_connection(direction::inbound, true), "open_connection");
  must(conn.set_peer(p), "set_peer");
  for (int i = 0; i < warmup; ++i)
    if (!stream_cycle(mgr, p)) std::abort();
  heap_meter meter;
  for (auto _ : state) {
    if (!stream_cycle(mgr, p)) [[unlikely]] {
      state.SkipWithError("stream lifecycle refused");
      break;
    }
  }
  meter.report(state);
};

// ---- W3: connection lifecycle over 1000 peers ----------------------------------------------------

template <class M>
bool connection_cycle(M& mgr, const rcmgr::peer_id& p) {
  auto r = mgr.open_connection(direction::inbound, true);
  if (!r) return false;
  if (!r->set_peer(p)) return false;
  r->done();
  return true;
}

const auto w3 = []<class M>(benchmark::State& state) {
  M mgr(rcmgr::libp2p::default_limits());
  std::vector<rcmgr::peer_id> peers;
  for (std::uint64_t i = 0; i < 1000; ++i) peers.push_back(make_peer(1000 + i));
  std::size_t next = 0;
  for (int i = 0; i < warmup; ++i)
    if (!connection_cycle(mgr, peers[std::size_t(i) % peers.size()])) std::abort();
  heap_meter meter;
  for (auto _ : state) {
    if (!connection_cycle(mgr, peers[next])) [[unlikely]] {
      state.SkipWithError("connection lifecycle refused");
      break;
    }
    if (++next == peers.size()) next = 0;
  }
  meter.report(state);
};

// ---- W4: nested spans on a stream -----------------------------------------------------------------

template <class H>
bool span_cycle(H& stream) {
  auto a = stream.begin_span();
  if (!a || !a->reserve_memory(4096)) return false;
  auto b = a->begin_span();
  if (!b || !b->reserve_memory(4096)) return false;
  b->done();
  a->done();
  return true;
}

const auto w4 = []<class M>(benchmark::State& state) {
  M mgr(rcmgr::libp2p::default_limits());
  stream_fixture<M> f(mgr, make_peer(4));
  for (int i = 0; i < warmup; ++i)
    if (!span_cycle(f.stream)) std::abort();
  heap_meter meter;
  for (auto _ : state) {
    if (!span_cycle(f.stream)) [[unlikely]] {
      state.SkipWithError("span refused");
      break;
    }
  }
  meter.report(state);
};

// ---- W7's twin: no manager at all -------------------------------------------------------------------

void no_manager(benchmark::State& state) {
  for (auto _ : state) {
  }
}

[[maybe_unused]] const bool registered = [] {
  register_for<ts_manager, st_manager, null_manager, tc_manager>("W1_reserve_release", w1);
  register_for<ts_manager, st_manager, null_manager, tc_manager>("W2_stream_lifecycle", w2);
  register_for<ts_manager, st_manager, null_manager, tc_manager>("W3_connection_lifecycle", w3);
  register_for<ts_manager, st_manager, null_manager, tc_manager>("W4_nested_spans", w4);
  register_for<ts_manager, st_manager, tc_manager>("W1_credit_reserve_release", w1_credit);
  register_for<ts_prometheus, st_prometheus, ts_counting, st_counting>("W1_reserve_release", w1);
  register_for<ts_manager, st_manager, ts_prometheus, st_prometheus>("W1_connection_reserve_release", w1_connection);
  register_for<ts_prometheus, st_prometheus>("W2_stream_lifecycle", w2);
  register_for<ts_prometheus, st_prometheus>("W3_connection_lifecycle", w3);
  register_for<ts_prometheus, st_prometheus>("W4_nested_spans", w4);
  register_for<ts_manager, st_manager>("W1_scopes1_system", w1_system);
  register_for<ts_manager, st_manager>("W1_scopes2_transient", w1_transient);
  register_for<ts_manager, st_manager>("W1_scopes2_peer", w1_peer);
  register_for<ts_manager, st_manager>("W1_scopes4_stream_at_open", w1_open);
  register_for<ts_manager, st_manager>("W1_scopes5_stream_with_protocol", w1_protocol);
  benchmark::RegisterBenchmark("W7_no_manager", no_manager);
  return true;
}();

}  // namespace
}  // namespace rcmgr_bench
