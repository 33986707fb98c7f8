// W3 with connection gating: the connection lifecycle of W3 (open, set_peer, done over 1000
// peers) on rcmgr::gated_resource_manager, each peer connecting from its own IPv4 address, so
// every open parses the multiaddr, takes a token from the address's bucket, counts the
// connection in its /32 and releases it at done. The reference is W3 on the ungated manager in
// the same run: docs/performance.md gives the difference per connection. The rate limits are
// raised so that a benchmark running millions of connections through 1000 addresses is not
// refused (the bucket arithmetic is the same at any rate).
#include <benchmark/benchmark.h>

#include <memory>
#include <string>
#include <vector>

#include "bench_common.hpp"
#include "rcmgr/libp2p/gated_resource_manager.hpp"

namespace rcmgr_bench {
namespace {

using rcmgr::direction;
using gated_ts = rcmgr::gated_resource_manager<rcmgr::thread_safe>;
constexpr int warmup = 1000;

rcmgr::gating_options bench_options() {
  rcmgr::gating_options o;  // go's defaults, with rates no benchmark can exhaust
  for (auto& r : o.ipv4_subnet_rates) r.limit = {1e12, 1'000'000'000};
  for (auto& r : o.ipv6_subnet_rates) r.limit = {1e12, 1'000'000'000};
  return o;
}

std::vector<std::string> endpoints(bool with_ip) {
  std::vector<std::string> e;
  for (int i = 0; i < 1000; ++i)
    e.push_back(with_ip ? "/ip4/203.0." + std::to_string(i / 250) + "." + std::to_string(i % 250 + 1) + "/tcp/4001" : "");
  return e;
}

template <class M>
void w3_gated(benchmark::State& state, bool with_ip, bool preparsed = false) {
  auto owned = std::make_unique<M>(rcmgr::libp2p::default_gated_limits(), bench_options());
  auto& mgr = *owned;
  std::vector<rcmgr::peer_id> peers;
  for (std::uint64_t i = 0; i < 1000; ++i) peers.push_back(make_peer(1000 + i));
  const auto eps = endpoints(with_ip);
  std::vector<rcmgr::endpoint> parsed;
  for (const auto& e : eps) parsed.push_back(e.empty() ? rcmgr::endpoint{} : *rcmgr::parse_multiaddr(e));
  auto cycle = [&](std::size_t k) {
    auto r = preparsed ? mgr.open_connection(direction::inbound, true, parsed[k]) : mgr.open_connection(direction::inbound, true, eps[k]);
    if (!r) return false;
    if (!r->set_peer(peers[k])) return false;
    r->done();
    return true;
  };
  for (int i = 0; i < warmup; ++i)
    if (!cycle(std::size_t(i) % peers.size())) std::abort();
  std::size_t next = 0;
  heap_meter meter;
  for (auto _ : state) {
    if (!cycle(next)) [[unlikely]] {
      state.SkipWithError("gated connection lifecycle refused");
      break;
    }
    if (++next == peers.size()) next = 0;
  }
  meter.report(state);
}

/// W3 on the ungated manager, with the same loop: the reference the gated figures are read against.
void w3_reference(benchmark::State& state) {
  auto owned = std::make_unique<ts_manager>(rcmgr::libp2p::default_limits());
  auto& mgr = *owned;
  std::vector<rcmgr::peer_id> peers;
  for (std::uint64_t i = 0; i < 1000; ++i) peers.push_back(make_peer(1000 + i));
  auto cycle = [&](std::size_t k) {
    auto r = mgr.open_connection(direction::inbound, true);
    if (!r) return false;
    if (!r->set_peer(peers[k])) return false;
    r->done();
    return true;
  };
  for (int i = 0; i < warmup; ++i)
    if (!cycle(std::size_t(i) % peers.size())) std::abort();
  std::size_t next = 0;
  heap_meter meter;
  for (auto _ : state) {
    if (!cycle(next)) [[unlikely]] {
      state.SkipWithError("connection lifecycle refused");
      break;
    }
    if (++next == peers.size()) next = 0;
  }
  meter.report(state);
}

/// The multiaddr parse alone, over the same 1000 texts: the share of the gated figure spent
/// reading the text.
void parse_ipv4(benchmark::State& state) {
  const auto eps = endpoints(true);
  std::size_t next = 0;
  for (auto _ : state) {
    auto r = rcmgr::parse_multiaddr(eps[next]);
    benchmark::DoNotOptimize(r);
    if (++next == eps.size()) next = 0;
  }
}

/// The gate alone (no manager): admit and release one connection per address, over the same
/// 1000 addresses, already parsed. What gating adds to a connection besides the parse and the
/// larger connection node.
void gate_ipv4(benchmark::State& state) {
  rcmgr::gate<rcmgr::detail::spin_lock> g(bench_options());
  std::vector<rcmgr::ip_address> ips;
  for (const auto& e : endpoints(true)) ips.push_back(*rcmgr::parse_multiaddr(e)->ip);
  std::size_t next = 0;
  for (auto _ : state) {
    rcmgr::gate_ticket t;
    if (!g.admit(ips[next], direction::inbound, t)) [[unlikely]] {
      state.SkipWithError("gate refused");
      break;
    }
    g.release(t);
    if (++next == ips.size()) next = 0;
  }
}

[[maybe_unused]] const bool registered = [] {
  benchmark::RegisterBenchmark("gate_admit_release_ipv4/spin_lock", gate_ipv4);
  benchmark::RegisterBenchmark("parse_multiaddr_ipv4_tcp", parse_ipv4);
  benchmark::RegisterBenchmark("W3_ungated_reference/thread_safe", w3_reference);
  benchmark::RegisterBenchmark("W3_gated_ipv4_endpoint/thread_safe", [](benchmark::State& s) { w3_gated<gated_ts>(s, true); });
  // the address already known in binary (a transport holding a sockaddr): gating without parsing
  benchmark::RegisterBenchmark("W3_gated_ipv4_preparsed/thread_safe", [](benchmark::State& s) { w3_gated<gated_ts>(s, true, true); });
  benchmark::RegisterBenchmark("W3_gated_no_endpoint/thread_safe", [](benchmark::State& s) { w3_gated<gated_ts>(s, false); });
  return true;
}();

}  // namespace
}  // namespace rcmgr_bench
