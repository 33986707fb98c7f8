// The API exercise shared by the compile-cost translation units (bench/compile_cost*.cpp): on
// a manager, a connection, a stream through all three set_* states, reservations at two
// priorities, nested spans, every view_*, the three lists and an error formatted, so that every
// reservation path, every set_* state and the span paths are instantiated.
#pragma once

#include <cstdio>

#include "rcmgr/rcmgr.hpp"

namespace {

template <class M>
int exercise(M& mgr) {
  using rcmgr::direction;
  int failures = 0;
  const rcmgr::peer_id p("12D3KooWCompileCostPeer");
  auto c = mgr.open_connection(direction::inbound, true);
  if (!c || !c->set_peer(p)) ++failures;
  auto s = mgr.open_stream(p, direction::outbound);
  if (!s) return failures + 1;
  if (!s->reserve_memory(1024, rcmgr::priority::low)) ++failures;
  if (!s->set_protocol("/ipfs/id/1.0.0")) ++failures;
  if (!s->set_service("libp2p.identify")) ++failures;
  s->release_memory(1024);
  if (auto span = s->begin_span()) {
    if (!span->reserve_memory(4096)) ++failures;
    if (auto inner = span->begin_span(); !inner || !inner->reserve_memory(512)) ++failures;
    span->done();
  }
  const auto peer_stat = s->peer_scope().stat();
  const auto proto = s->protocol_scope();
  mgr.view_system([&](auto& sys) { (void)sys.reserve_memory(64); sys.release_memory(64); });
  mgr.view_transient([](auto& t) { (void)t.stat(); });
  mgr.view_service("libp2p.identify", [](auto& svc) { (void)svc.stat(); });
  mgr.view_protocol("/ipfs/id/1.0.0", [](auto& pr) { (void)pr.stat(); });
  mgr.view_peer(p, [](auto& pe) {
    if (auto sp = pe.begin_span()) (void)sp->reserve_memory(128);
  });
  // The null manager lists nothing and accepts a second set_protocol; the real ones do not.
  failures += int(mgr.list_peers().size() > 1) + int(mgr.list_protocols().size() > 1) + int(mgr.list_services().size() > 1);
  if (auto r = s->set_protocol("/again"); !r) std::printf("%s\n", r.error().message().c_str());
  s->done();
  c->done();
  failures += int(peer_stat.streams() > 1) + int(!proto);
  return failures;
}

}  // namespace
