// Memory comes back after a burst: 300,000 peers arrive at once (each with a stream reserving
// memory and a connection attached to it), then all leave. While they are live the peer table
// and node pools hold tens of megabytes; once they are gone the tables shrink and the pools keep
// at most a few dozen spare nodes, without any call, and trim() returns the rest. Heap memory
// is counted through the replaced global operator new/delete (alloc_hooks.hpp), so the check
// covers every allocation the manager made, not only what it reports.
#include <catch2/catch.hpp>

#include <cstdio>
#include <string>
#include <vector>

#include "hardening/alloc_hooks.hpp"
#include "rcmgr/rcmgr.hpp"

namespace {
namespace lp = rcmgr::libp2p;
using rcmgr::direction;

constexpr int burst = 300000;

rcmgr::peer_id peer_number(int i) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "12D3KooWBurstPeer%08dAbCdEfGhIjKlMnOpQrStUvWxYz0123", i);
  return rcmgr::peer_id(buf);
}

template <class Policy>
void burst_returns_memory() {
  rcmgr::resource_manager<Policy> m(lp::limits{});  // unlimited: nothing refuses the burst
  // Steady state before the burst: a few long-lived peers and a protocol.
  std::vector<typename decltype(m)::stream> steady;
  for (int i = 0; i < 8; ++i) {
    auto s = m.open_stream(peer_number(burst + i), direction::inbound);
    REQUIRE(s);
    REQUIRE(s->set_protocol("/steady/1.0.0"));
    steady.push_back(std::move(*s));
  }
  std::vector<typename decltype(m)::stream> streams;
  std::vector<typename decltype(m)::connection> conns;
  streams.reserve(burst);
  conns.reserve(burst);
  const std::int64_t heap_base = alloc::live_bytes;
  const auto stats_base = m.storage_stats();

  int refused = 0;  // counted, not asserted per call: 1.2 million assertions slow a Debug run
  for (int i = 0; i < burst; ++i) {
    const auto p = peer_number(i);
    auto s = m.open_stream(p, direction::inbound);
    auto c = m.open_connection(direction::inbound, false);
    if (!s || !c || !s->reserve_memory(1024) || !c->set_peer(p)) {
      ++refused;
      continue;
    }
    streams.push_back(std::move(*s));
    conns.push_back(std::move(*c));
  }
  REQUIRE(refused == 0);
  const std::int64_t heap_peak = alloc::live_bytes;
  const auto stats_peak = m.storage_stats();
  CHECK(m.template live_count<lp::peer_scope>() == std::size_t(burst + 8));
  CHECK(stats_peak.heap_bytes > std::size_t(burst) * 100);  // the peers' nodes and table at least
  CHECK(heap_peak - heap_base > std::int64_t(burst) * 100);

  for (auto& s : streams) s.done();
  for (auto& c : conns) c.done();
  streams.clear();
  conns.clear();
  CHECK(m.template live_count<lp::peer_scope>() == 8);

  // Without any call: tables shrank and pools kept only a bounded number of spare nodes.
  const std::int64_t heap_after = alloc::live_bytes;
  const auto stats_after = m.storage_stats();
  INFO("heap: base " << heap_base << " B, peak " << heap_peak << " B, after the burst " << heap_after
                     << " B; manager-held: base " << stats_base.heap_bytes << ", peak " << stats_peak.heap_bytes
                     << ", after " << stats_after.heap_bytes);
  CHECK(stats_after.table_slots <= stats_base.table_slots + 64);
  CHECK(heap_after - heap_base < 64 * 1024);
  CHECK(stats_after.heap_bytes < stats_base.heap_bytes + 64 * 1024);

  // trim(): every free node back to the heap; what is left is what the steady peers use (each
  // table at the size its load rule gives for 8 entries: within a few hundred bytes of before).
  m.trim();
  const auto stats_trim = m.storage_stats();
  CHECK(stats_trim.nodes_cached == 0);
  CHECK(alloc::live_bytes - heap_base <= 4096);
  CHECK(stats_trim.heap_bytes <= stats_base.heap_bytes + 4096);
  WARN("heap bytes above the steady state: at the peak " << heap_peak - heap_base << ", after the burst "
                                                          << heap_after - heap_base << ", after trim() "
                                                          << alloc::live_bytes - heap_base);
}

}  // namespace

TEST_CASE("after a burst of 300,000 peers the tables and pools give their memory back (single_threaded)", "[hardening][burst]") {
  burst_returns_memory<rcmgr::single_threaded>();
}
TEST_CASE("after a burst of 300,000 peers the tables and pools give their memory back (thread_safe)", "[hardening][burst]") {
  burst_returns_memory<rcmgr::thread_safe>();
}

namespace {
/// The steady state makes no heap call: once a first cycle has filled the pools, opening a
/// connection and a stream (with its protocol, service and a span) and ending them all again
/// reuses nodes, under every policy (the concurrent ones through their per-thread shards).
template <class Policy>
void steady_state_is_allocation_free() {
  rcmgr::resource_manager<Policy> m;
  const auto p = peer_number(7);
  // No Catch2 assertion inside the counted loop: only the manager's own calls are counted.
  auto cycle = [&]() -> bool {
    auto c = m.open_connection(direction::inbound, true);
    if (!c || !c->set_peer(p)) return false;
    auto s = m.open_stream(p, direction::outbound);
    if (!s || !s->set_protocol("/steady/1.0.0") || !s->set_service("steady")) return false;
    auto sp = s->begin_span();
    if (!sp || !sp->reserve_memory(4096)) return false;
    sp->done();
    s->done();
    c->done();
    return true;
  };
  REQUIRE(cycle());
  REQUIRE(cycle());
  const std::uint64_t before = alloc::allocations;
  int failed = 0;
  for (int i = 0; i < 1000; ++i) failed += cycle() ? 0 : 1;
  const std::uint64_t calls = alloc::allocations - before;
  CHECK(failed == 0);
  CHECK(calls == 0);
  CHECK(m.template live_count<lp::peer_scope>() == 0);
}
}  // namespace

TEST_CASE("opening and ending scopes in the steady state calls no operator new", "[hardening][burst]") {
  steady_state_is_allocation_free<rcmgr::single_threaded>();
  steady_state_is_allocation_free<rcmgr::thread_safe>();
  steady_state_is_allocation_free<rcmgr::thread_cached<>>();
}
