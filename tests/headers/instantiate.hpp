// Included after every public header by the generated strict-warnings TUs: uses the libp2p manager
// under every policy, so that the templates the headers define are instantiated and their
// warnings (if any) reported. The program also checks a few results, so it must run cleanly.
#pragma once

#include <cstdint>
#include <iostream>
#include <sstream>
#include <string>

namespace strict {
namespace lp = rcmgr::libp2p;

template <class Manager>
int exercise(Manager& mgr) {
  const rcmgr::peer_id peer("12D3KooWStrictWarnings");
  auto conn = mgr.open_connection(rcmgr::direction::inbound, true);
  if (!conn || !conn->set_peer(peer)) return 1;
  auto s = mgr.open_stream(peer, rcmgr::direction::outbound);
  if (!s || !s->set_protocol("/ipfs/id/1.0.0") || !s->set_service("libp2p.identify")) return 2;
  if (!s->reserve_memory(4096, rcmgr::priority::high)) return 3;
  {
    auto span = s->begin_span();
    if (!span || !span->reserve_memory(100)) return 4;
    span->release_memory(100);
  }
  const std::int64_t sys = mgr.view_system([](auto& r) { return r.stat().memory; });
  (void)mgr.view_transient([](auto& r) { return r.stat(); });
  (void)mgr.view_peer(peer, [](auto& r) { return r.stat(); });
  (void)mgr.view_protocol("/ipfs/id/1.0.0", [](auto& r) { return r.stat(); });
  (void)mgr.view_service("libp2p.identify", [](auto& r) { return r.stat(); });
  (void)mgr.stat_peer(peer);
  (void)mgr.stat_system();
  (void)mgr.list_peers();
  (void)mgr.list_protocols();
  (void)mgr.list_services();
  (void)mgr.template live_count<lp::peer_scope>();
  (void)s->stat();
  (void)s->template parent<lp::protocol_scope>();
  s->release_memory(4096);
  s->done();
  conn->done();
  mgr.close();
  return sys == 0 || sys == 4096 ? 0 : 5;
}

template <class Manager>
int run() {
  Manager mgr;
  return exercise(mgr);
}

inline int refusal_and_report() {
  lp::limits limits = lp::default_limits();
  rcmgr::limit l = limits.get<lp::stream_scope>();
  l.memory = 1024;
  limits.set<lp::stream_scope>(l);
  rcmgr::resource_manager<rcmgr::single_threaded> mgr(limits);
  const rcmgr::peer_id peer("12D3KooWStrictWarnings");
  auto s = mgr.open_stream(peer, rcmgr::direction::inbound);
  if (!s) return 10;
  auto r = s->reserve_memory(2048);
  if (r) return 11;
  std::ostringstream os;
  os << r.error();
  const std::error_code ec = r.error();
  if (os.str().empty() || ec != rcmgr::errc::limit_exceeded) return 12;
  if (!mgr.set_limit<lp::peer_scope>(peer, l)) return 13;
  (void)mgr.misuse();
  (void)rcmgr::libp2p::sanity_report(limits);
  (void)rcmgr::libp2p::scale(std::int64_t{4} << 30, 1024);
  (void)rcmgr::detect_fd_limit();
#if defined(RCMGR_STRICT_CONFIG)
  const std::string text = rcmgr::config::write_limits(limits);
  auto back = rcmgr::config::parse_limits(text);
  if (!back || !rcmgr::config::equivalent(back->limits, limits)) return 13;
#endif
  return 0;
}
}  // namespace strict

int main() {
  int rc = 0;
  rc |= strict::run<rcmgr::resource_manager<>>();
  rc |= strict::run<rcmgr::resource_manager<rcmgr::thread_safe>>();
  rc |= strict::run<rcmgr::resource_manager<rcmgr::single_threaded>>();
  rc |= strict::run<rcmgr::resource_manager<rcmgr::thread_cached<>>>();
  rc |= strict::run<rcmgr::resource_manager<rcmgr::thread_cached<4096, 2>, rcmgr::bounded_storage<16>>>();
  rc |= strict::run<rcmgr::resource_manager<rcmgr::hashed_storage, rcmgr::single_threaded>>();
  rc |= strict::run<rcmgr::resource_manager<rcmgr::bounded_storage<4>>>();
  rc |= strict::run<rcmgr::resource_manager<rcmgr::observed_by<rcmgr::counting_observer>>>();
  rc |= strict::run<rcmgr::resource_manager<rcmgr::single_threaded, rcmgr::observed_by<rcmgr::stream_logger>>>();
  rc |= strict::run<rcmgr::null_resource_manager>();
  rc |= strict::refusal_and_report();
  if (rc != 0) std::cerr << "strict headers: a check failed (" << rc << ")\n";
  return rc;
}
