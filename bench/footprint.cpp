// W6: heap footprint. Opens many scopes and reports the heap they hold (bytes live on the heap
// after opening them, minus before, divided by their number; usable sizes as malloc gives them,
// so pool chunk slack and table buckets are included) and the allocator calls they made. The
// handles themselves (16 bytes each, owned by the caller) are kept in a vector reserved before
// the first measurement and are not counted.
#include <benchmark/benchmark.h>

#include <vector>

#include "bench_common.hpp"

namespace rcmgr_bench {
namespace {

using rcmgr::direction;
constexpr std::size_t n_streams = 100'000;
constexpr std::size_t n_stream_peers = 1'000;
constexpr std::size_t n_peers = 100'000;

/// Limits that refuse nothing: the footprint runs open far more scopes than the defaults allow.
rcmgr::libp2p::limits unlimited_limits() { return rcmgr::libp2p::limits{}; }

struct delta {
  heap_snapshot a = heap_now();
  double bytes(std::size_t n) const { return double(heap_now().live_bytes - a.live_bytes) / double(n); }
  double allocs(std::size_t n) const { return double(heap_now().allocs - a.allocs) / double(n); }
};

/// 100k streams over 1000 peers (each peer kept alive by one connection), at open or attached.
template <class M>
void streams_footprint(benchmark::State& state, stream_level level) {
  for (auto _ : state) {
    M mgr(unlimited_limits());
    std::vector<rcmgr::peer_id> peers;
    std::vector<typename M::connection> conns;
    for (std::size_t i = 0; i < n_stream_peers; ++i) {
      peers.push_back(make_peer(i));
      conns.push_back(must(mgr.open_connection(direction::inbound, true), "open_connection"));
      must(conns.back().set_peer(peers.back()), "set_peer");
    }
    std::vector<typename M::stream> streams;
    streams.reserve(n_streams);
    const delta d;
    for (std::size_t i = 0; i < n_streams; ++i) {
      streams.push_back(must(mgr.open_stream(peers[i % n_stream_peers], direction::inbound), "open_stream"));
      if (level != stream_level::open) must(streams.back().set_protocol(bench_protocol), "set_protocol");
      if (level == stream_level::service) must(streams.back().set_service(bench_service), "set_service");
    }
    state.counters["bytes_per_stream"] = d.bytes(n_streams);
    state.counters["allocs_per_stream"] = d.allocs(n_streams);
  }
}

const auto w6_streams = []<class M>(benchmark::State& state) { streams_footprint<M>(state, stream_level::open); };
const auto w6_streams_attached = []<class M>(benchmark::State& state) {
  streams_footprint<M>(state, stream_level::service);
};

/// 100k connections, first left in transient (a connection scope alone), then in a fresh
/// manager each attached to its own peer (a peer scope and its connection); the difference is
/// what one peer scope costs.
const auto w6_peers = []<class M>(benchmark::State& state) {
  for (auto _ : state) {
    std::vector<rcmgr::peer_id> peers;
    for (std::size_t i = 0; i < n_peers; ++i) peers.push_back(make_peer(i));
    std::vector<typename M::connection> conns;
    conns.reserve(n_peers);
    double per_conn = 0, per_conn_allocs = 0;
    {
      M mgr(unlimited_limits());
      const delta d;
      for (std::size_t i = 0; i < n_peers; ++i)
        conns.push_back(must(mgr.open_connection(direction::inbound, true), "open_connection"));
      per_conn = d.bytes(n_peers);
      per_conn_allocs = d.allocs(n_peers);
      conns.clear();
    }
    M mgr(unlimited_limits());
    const delta d;
    for (std::size_t i = 0; i < n_peers; ++i) {
      conns.push_back(must(mgr.open_connection(direction::inbound, true), "open_connection"));
      must(conns.back().set_peer(peers[i]), "set_peer");
    }
    const double per_both = d.bytes(n_peers);
    state.counters["bytes_per_connection"] = per_conn;
    state.counters["allocs_per_connection"] = per_conn_allocs;
    state.counters["bytes_per_peer_with_conn"] = per_both;
    state.counters["bytes_per_peer"] = per_both - per_conn;
    state.counters["allocs_per_peer_with_conn"] = d.allocs(n_peers);
    conns.clear();
  }
};

[[maybe_unused]] const bool registered = [] {
  const auto once = [](benchmark::internal::Benchmark* b) { b->Iterations(1)->Unit(benchmark::kMillisecond); };
  register_for<ts_manager, st_manager>("W6_footprint_streams_at_open", w6_streams, once);
  register_for<ts_manager, st_manager>("W6_footprint_streams_attached", w6_streams_attached, once);
  register_for<ts_manager, st_manager>("W6_footprint_peers", w6_peers, once);
  return true;
}();

}  // namespace
}  // namespace rcmgr_bench
