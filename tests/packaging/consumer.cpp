// A program as a user of rcmgr would write it; built by the packaging tests against an installed
// copy (find_package) and against the source tree (add_subdirectory). It exits non-zero when a
// reservation is not accounted the way the library promises.
#include <iostream>

#include <rcmgr/rcmgr.hpp>

int main() {
  rcmgr::libp2p::limits limits = rcmgr::libp2p::default_limits();
  rcmgr::limit stream = limits.get<rcmgr::libp2p::stream_scope>();
  stream.memory = 64 * 1024;
  limits.set<rcmgr::libp2p::stream_scope>(stream);
  rcmgr::resource_manager<> mgr(limits);

  const rcmgr::peer_id peer("12D3KooWPackagingConsumer");
  auto conn = mgr.open_connection(rcmgr::direction::inbound, /*use_fd=*/true);
  if (!conn || !conn->set_peer(peer)) return 1;
  auto s = mgr.open_stream(peer, rcmgr::direction::outbound);
  if (!s || !s->set_protocol("/ipfs/id/1.0.0")) return 2;
  if (!s->reserve_memory(4096)) return 3;

  const auto sys = mgr.view_system([](auto& scope) { return scope.stat(); });
  const auto proto = mgr.view_protocol("/ipfs/id/1.0.0", [](auto& scope) { return scope.stat(); });
  if (sys.memory != 4096 || proto.memory != 4096 || proto.streams_outbound != 1 || sys.conns_inbound != 1) return 4;

  auto refused = s->reserve_memory(64 * 1024);  // over the stream's 64 KiB limit
  if (refused || refused.error().code != rcmgr::errc::limit_exceeded) return 5;
  std::cout << "refused as expected: " << refused.error() << '\n';

  s->done();
  conn->done();
  if (!mgr.view_system([](auto& scope) { return scope.stat(); }).empty()) return 6;
  std::cout << "rcmgr " << rcmgr::version << ": ok\n";
  return 0;
}
