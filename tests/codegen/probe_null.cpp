// Codegen probe: a whole connection + stream session on the null manager. Compiled at -O2, it
// must be exactly as large as probe_plain.cpp, its twin without any manager.
#include <cstddef>
#include <cstdint>

#include "rcmgr/rcmgr.hpp"
#include "work.hpp"

extern "C" unsigned rcmgr_codegen_null(const void* peer_ptr, unsigned char* buf, std::size_t n) {
  using rcmgr::direction;
  const auto& peer = *static_cast<const rcmgr::peer_id*>(peer_ptr);
  rcmgr::null_resource_manager mgr;
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

  auto span = stream->begin_span();
  if (!span) return 7;
  auto nested = span->begin_span();
  if (!nested || !nested->reserve_memory(4096)) return 8;
  h ^= rcmgr_codegen_mix(buf, n, h);
  nested->release_memory(4096);
  nested->done();
  span->done();

  if (!mgr.view_peer(peer, [](auto& p) { return p.reserve_memory(64); })) return 9;
  mgr.view_peer(peer, [](auto& p) { p.release_memory(64); });
  stream->release_memory(static_cast<std::int64_t>(n));
  stream->done();
  conn->release_memory(1024);
  conn->done();
  return h;
}
