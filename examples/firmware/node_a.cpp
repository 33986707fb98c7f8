// Firmware (a): the embedded node of examples/embedded_node.hpp (system -> connection -> stream,
// compile-time limits on connections and streams) on the single-threaded manager with
// static_storage<4> (at most 4 live connections and 4 live streams, their nodes inside the
// manager object: no heap), run on a Cortex-M4. The session is examples/embedded_node.cpp's:
// streams reserve buffers until a stream, a connection and finally the device refuse, then a
// connection is closed under its streams; once everything has ended, all 4 slots of each kind
// are used again. Every step is checked; the exit status is the number of steps that went
// otherwise.
#include <array>
#include <memory>
#include <new>

#include "board.hpp"
#include "embedded_node.hpp"
#include "rcmgr/rcmgr.hpp"
#include "report.hpp"

namespace {

using firmware::accepted;
using firmware::refused;
using firmware::step;
using rcmgr::direction;
using rcmgr::errc;
namespace em = embedded;

/// At most this many live scopes of each kind, kept inside the manager.
constexpr std::size_t max_scopes = 4;
using manager = rcmgr::basic_resource_manager<em::topology, rcmgr::single_threaded, rcmgr::static_storage<max_scopes>>;

// The manager lives in .bss, built in place by main: a global with a constructor would also
// register its destructor with atexit, which this firmware does without.
alignas(manager) unsigned char manager_space[sizeof(manager)];

void print_usage(manager& mgr, std::string_view when) {
  firmware::print_device_usage(mgr.stat<em::system_scope>(), when);
  board::print("\n");
}

void session(manager& mgr) {
  constexpr std::int64_t kib = em::kib;
  auto a = mgr.open<em::connection_scope>(direction::outbound, false);
  auto b = mgr.open<em::connection_scope>(direction::inbound, false);
  step("open connection A", a, accepted);
  step("open connection B", b, accepted);
  if (!a || !b) return;
  std::array<manager::handle<em::stream_scope>, 3> streams;
  for (auto& slot : streams) {
    auto s = mgr.open<em::stream_scope>(direction::outbound, false, *a);
    if (!step("open a stream on connection A", s, accepted)) continue;
    step("  reserve 8 KiB on it", s->reserve_memory(8 * kib), accepted);
    slot = std::move(*s);
  }
  step("reserve 1 more byte on the first stream", streams[0].reserve_memory(1), refused(errc::limit_exceeded, "stream"));
  step("reserve 8 KiB more on connection A", a->reserve_memory(8 * kib), accepted);
  step("reserve 8 KiB more on connection A", a->reserve_memory(8 * kib), refused(errc::limit_exceeded, "connection"));
  auto s = mgr.open<em::stream_scope>(direction::inbound, false, *b);
  step("open a stream on connection B", s, accepted);
  if (!s) return;
  step("  reserve 8 KiB on it (device is at 32 KiB)", s->reserve_memory(8 * kib), accepted);
  step("reserve 1 byte on connection B", b->reserve_memory(1), refused(errc::limit_exceeded, "system"));
  print_usage(mgr, "before closing A");
  const auto before = mgr.stat<em::system_scope>();
  firmware::check(before.conns() == 2 && before.streams() == 4 && before.memory == 40 * kib, "device usage before closing A");

  a->done();
  print_usage(mgr, "after closing A");
  step("reserve on a stream of the closed connection", streams[0].reserve_memory(1), refused(errc::scope_closed, "connection"));
  streams[0].release_memory(8 * kib);  // harmless: its connection already released it
  for (auto& h : streams) h = {};  // ends each stream and frees its node (done() alone keeps the node for the handle)
  step("open a stream on the closed connection", mgr.open<em::stream_scope>(direction::outbound, false, *a),
       refused(errc::scope_closed, "connection"));
  print_usage(mgr, "streams of A ended");
  const auto after = mgr.stat<em::system_scope>();
  firmware::check(after.conns() == 1 && after.streams() == 1 && after.memory == 8 * kib, "device usage after closing A");
  s->done();
  b->done();
  print_usage(mgr, "all closed");
  firmware::check(mgr.stat<em::system_scope>().empty(), "the device holds nothing once everything closed");
}

/// Once every handle is gone, all max_scopes (4) connection and stream slots can be used again.
void slots_free_again(manager& mgr) {
  board::print("every slot free again:\n");
  auto c1 = mgr.open<em::connection_scope>(direction::outbound, false);
  auto c2 = mgr.open<em::connection_scope>(direction::outbound, false);
  auto c3 = mgr.open<em::connection_scope>(direction::inbound, false);
  auto c4 = mgr.open<em::connection_scope>(direction::inbound, false);
  step("open 4 connections", !c1 ? c1 : !c2 ? c2 : !c3 ? c3 : c4, accepted);  // the first refused, if any
  if (!c1) return;
  auto s1 = mgr.open<em::stream_scope>(direction::outbound, false, *c1);
  auto s2 = mgr.open<em::stream_scope>(direction::outbound, false, *c1);
  auto s3 = mgr.open<em::stream_scope>(direction::inbound, false, *c1);
  auto s4 = mgr.open<em::stream_scope>(direction::inbound, false, *c1);
  step("open 4 streams on one of them", !s1 ? s1 : !s2 ? s2 : !s3 ? s3 : s4, accepted);
}

}  // namespace

int main() {
  board::print("rcmgr firmware (a): system -> connection -> stream, static limits, single_threaded\n");
  // 40 KiB for network buffers and at most 4 connections on this device
  auto* mgr = ::new (static_cast<void*>(manager_space)) manager(em::device_limits(40 * em::kib, 4));
  session(*mgr);
  slots_free_again(*mgr);
  std::destroy_at(mgr);
  firmware::print_ram(sizeof(manager));
  board::print(firmware::failures == 0 ? "result: all steps as expected\n" : "result: some steps NOT as expected\n");
  return firmware::failures;
}
