// Control for the codegen test: probe_null.cpp's session on a real manager. It must come out
// larger than the plain twin, which shows that the size comparison can fail.
#include <cstddef>
#include <cstdint>

#include "rcmgr/rcmgr.hpp"
#include "work.hpp"

// probe_unobserved.cpp and probe_observed.cpp include this file with another manager and name.
#ifndef RCMGR_CODEGEN_MANAGER
#define RCMGR_CODEGEN_MANAGER rcmgr::resource_manager<rcmgr::single_threaded>
#define RCMGR_CODEGEN_NAME rcmgr_codegen_real
#endif
using manager = RCMGR_CODEGEN_MANAGER;

extern "C" unsigned RCMGR_CODEGEN_NAME(manager& mgr, const void* peer_ptr, unsigned char* buf, std::size_t n) {
  using rcmgr::direction;
  const auto& peer = *static_cast<const rcmgr::peer_id*>(peer_ptr);
  auto conn = mgr.open_connection(direction::inbound, true);
  if (!conn) return 0;
  if (!conn->set_peer(peer)) return 1;
  if (!conn->reserve_memory(1024, rcmgr::priority::high)) return 2;
  unsigned h = rcmgr_codegen_mix(buf, n, 1);
  auto stream = mgr.open_stream(peer, direction::outbound);
  if (!stream) return 3;
  if (!stream->set_protocol("/ipfs/id/1.0.0")) return 4;
  if (!stream->set_service("libp2p.identify")) return 5;
  if (!stream->reserve_memory(static_cast<std::int64_t>(n), rcmgr::priority::medium)) return 6;
  rcmgr_codegen_consume(buf, n);
  stream->done();
  conn->done();
  return h;
}
