// Firmware (b): the embedded node with a keyed kind, peers (peer_node.hpp), on the
// single-threaded manager with static_storage<4>: at most 4 live peers, 4 connections and 4
// streams, all inside the manager object. Peers come and go; a peer's limit refuses its third
// connection; the peer table fills up and a fifth peer is refused until one leaves; once
// everyone has left, all 4 slots of each kind are used again.
// Every step is checked; the exit status is the number of steps that went otherwise.
#include <array>
#include <memory>
#include <new>

#include "board.hpp"
#include "peer_node.hpp"
#include "rcmgr/rcmgr.hpp"
#include "report.hpp"

namespace {

using firmware::accepted;
using firmware::refused;
using firmware::step;
using rcmgr::direction;
using rcmgr::errc;
using rcmgr::peer_id;
namespace ep = embedded_peers;
using system_scope = embedded::system_scope;

/// At most this many live scopes of each kind, kept inside the manager.
constexpr std::size_t max_scopes = 4;
using manager = rcmgr::basic_resource_manager<ep::topology, rcmgr::single_threaded, rcmgr::static_storage<max_scopes>>;

alignas(manager) unsigned char manager_space[sizeof(manager)];

void print_usage(manager& mgr, std::string_view when) {
  firmware::print_device_usage(mgr.stat<system_scope>(), when);
  board::print("; ");
  board::print(static_cast<long long>(mgr.live_count<ep::peer_scope>()));
  board::print(" peer(s) live\n");
}

/// Reserves (or releases, for a negative size) memory on a peer's own scope, which keeps the
/// peer live while it holds some.
rcmgr::result<void> on_peer(manager& mgr, const peer_id& p, std::int64_t size) {
  return mgr.view<ep::peer_scope>(p, [&](auto& peer) -> rcmgr::result<void> {
    if (size >= 0) return peer.reserve_memory(size);
    peer.release_memory(-size);
    return {};
  });
}

void session(manager& mgr) {
  constexpr std::int64_t kib = embedded::kib;
  const peer_id a("12D3KooWAlphaPeerOfTheEmbeddedNode"), b("12D3KooWBravoPeerOfTheEmbeddedNode"),
      c("12D3KooWCharliePeerOfTheEmbeddedNode"), d("12D3KooWDeltaPeerOfTheEmbeddedNode"),
      e("12D3KooWEchoPeerOfTheEmbeddedNode");

  board::print("connections and their peers:\n");
  auto c1 = mgr.open<ep::connection_scope>(direction::outbound, false, a);
  step("open connection 1 to alpha", c1, accepted);
  auto c2 = mgr.open<ep::connection_scope>(direction::inbound, false, a);
  step("open connection 2 to alpha", c2, accepted);
  step("open connection 3 to alpha, its third", mgr.open<ep::connection_scope>(direction::inbound, false, a),
       refused(errc::limit_exceeded, "peer"));
  auto c3 = mgr.open<ep::connection_scope>(direction::inbound, false, b);
  step("open connection 3 to bravo", c3, accepted);
  if (!c1 || !c2 || !c3) return;
  firmware::check(mgr.live_count<ep::peer_scope>() == 2, "two peers live");

  board::print("streams, charged to connection, peer and device:\n");
  std::array<manager::handle<ep::stream_scope>, 2> streams;
  for (auto& slot : streams) {
    auto s = mgr.open<ep::stream_scope>(direction::outbound, false, *c1);
    if (!step("open a stream on connection 1", s, accepted)) continue;
    step("  reserve 8 KiB on it", s->reserve_memory(8 * kib), accepted);
    slot = std::move(*s);
  }
  step("reserve 16 KiB more on connection 1", c1->reserve_memory(16 * kib), accepted);
  auto s3 = mgr.open<ep::stream_scope>(direction::inbound, false, *c2);
  step("open a stream on connection 2", s3, accepted);
  if (!s3) return;
  step("  reserve 8 KiB on it (alpha reaches 40 KiB)", s3->reserve_memory(8 * kib), accepted);
  step("reserve 1 KiB on connection 2", c2->reserve_memory(1 * kib), refused(errc::limit_exceeded, "peer"));
  step("reserve 1 KiB on connection 3 (bravo)", c3->reserve_memory(1 * kib), accepted);
  print_usage(mgr, "two peers");

  board::print("the peer table (4 slots) fills up:\n");
  step("charlie keeps 1 KiB on its own scope", on_peer(mgr, c, 1 * kib), accepted);
  step("delta keeps 1 KiB on its own scope", on_peer(mgr, d, 1 * kib), accepted);
  step("open connection 4 to echo, a fifth peer", mgr.open<ep::connection_scope>(direction::inbound, false, e),
       refused(errc::too_many_scopes, "peer"));
  print_usage(mgr, "table full");
  firmware::check(mgr.live_count<ep::peer_scope>() == max_scopes, "the peer table is full");
  step("delta releases its 1 KiB and leaves", on_peer(mgr, d, -1 * kib), accepted);
  auto c4 = mgr.open<ep::connection_scope>(direction::inbound, false, e);
  step("open connection 4 to echo", c4, accepted);
  if (!c4) return;
  step("open connection 5 to echo (4 connection slots)", mgr.open<ep::connection_scope>(direction::inbound, false, e),
       refused(errc::too_many_scopes, "connection"));

  board::print("everyone leaves:\n");
  c1->done();  // its streams' charges go with it
  for (auto& h : streams) h = {};
  s3->done();
  c2->done();
  print_usage(mgr, "alpha's connections closed");
  c3->done();
  c4->done();
  step("charlie releases its 1 KiB", on_peer(mgr, c, -1 * kib), accepted);
  print_usage(mgr, "all closed");
  firmware::check(mgr.stat<system_scope>().empty(), "the device holds nothing once everything closed");
  firmware::check(mgr.live_count<ep::peer_scope>() == 0, "no peer scope is left");
}

/// Once every handle is gone, all max_scopes (4) peer, connection and stream slots can be used again.
void slots_free_again(manager& mgr) {
  board::print("every slot free again:\n");
  const peer_id f("12D3KooWFoxtrotPeerOfTheEmbeddedNode"), g("12D3KooWGolfPeerOfTheEmbeddedNode"),
      h("12D3KooWHotelPeerOfTheEmbeddedNode"), i("12D3KooWIndiaPeerOfTheEmbeddedNode");
  auto c1 = mgr.open<ep::connection_scope>(direction::outbound, false, f);
  auto c2 = mgr.open<ep::connection_scope>(direction::outbound, false, g);
  auto c3 = mgr.open<ep::connection_scope>(direction::inbound, false, h);
  auto c4 = mgr.open<ep::connection_scope>(direction::inbound, false, i);
  step("open 4 connections to 4 new peers", !c1 ? c1 : !c2 ? c2 : !c3 ? c3 : c4, accepted);  // the first refused, if any
  if (!c1) return;
  auto s1 = mgr.open<ep::stream_scope>(direction::outbound, false, *c1);
  auto s2 = mgr.open<ep::stream_scope>(direction::outbound, false, *c1);
  auto s3 = mgr.open<ep::stream_scope>(direction::inbound, false, *c1);
  auto s4 = mgr.open<ep::stream_scope>(direction::inbound, false, *c1);
  step("open 4 streams on one of them", !s1 ? s1 : !s2 ? s2 : !s3 ? s3 : s4, accepted);
  firmware::check(mgr.live_count<ep::peer_scope>() == max_scopes, "4 peers live");
}

}  // namespace

int main() {
  board::print("rcmgr firmware (b): system -> peer -> connection -> stream, static limits, single_threaded, "
               "static_storage<4>\n");
  // 64 KiB for network buffers and at most 8 connections on this device (4 fit in the storage)
  auto* mgr = ::new (static_cast<void*>(manager_space)) manager(ep::device_limits(64 * embedded::kib, 8));
  session(*mgr);
  slots_free_again(*mgr);
  std::destroy_at(mgr);
  firmware::print_ram(sizeof(manager));
  board::print(firmware::failures == 0 ? "result: all steps as expected\n" : "result: some steps NOT as expected\n");
  return firmware::failures;
}
