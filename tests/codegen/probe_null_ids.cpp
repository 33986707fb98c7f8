// Codegen probe: the null manager with peer ids built at the call site, from string literals and
// from a std::string_view constant, as callers write them. Compiled at -O2 it must be exactly as
// large as probe_plain_ids.cpp, its twin without manager or peer ids: building a peer_id that
// nothing reads costs nothing (the constructor is constexpr and inline, with no hashing).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "rcmgr/rcmgr.hpp"
#include "work.hpp"

namespace {
constexpr std::string_view relay_text = "12D3KooWJWoaqZhDaoEFshF7Rh1bpY9ohihFhzcW6d69Lr2NASuq";
}

extern "C" unsigned rcmgr_codegen_null_ids(unsigned char* buf, std::size_t n) {
  using rcmgr::direction;
  rcmgr::null_resource_manager mgr;
  auto conn = mgr.open_connection(direction::inbound, true);
  if (!conn) return 0;
  if (!conn->set_peer(rcmgr::peer_id("12D3KooWRBy97UB99e3J6hiPesre1MZeuNQvfan4gBziswrRJsNK"))) return 1;
  unsigned h = rcmgr_codegen_mix(buf, n, 1);

  auto stream = mgr.open_stream(rcmgr::peer_id(relay_text), direction::outbound);
  if (!stream) return 2;
  if (!stream->set_protocol("/ipfs/id/1.0.0")) return 3;
  if (!stream->reserve_memory(static_cast<std::int64_t>(n))) return 4;
  rcmgr_codegen_consume(buf, n);

  if (!mgr.view_peer(rcmgr::peer_id("QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N"),
                     [](auto& p) { return p.reserve_memory(64); }))
    return 5;
  h ^= rcmgr_codegen_mix(buf, n, h);
  stream->done();
  conn->done();
  return h;
}
