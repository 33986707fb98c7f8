// embedded_node: a custom scope topology for a small node (system -> connection -> stream), run
// on the single-threaded manager, with the sizes of its scope nodes next to the libp2p ones.
//
// Output: a table of node and handle sizes, then a short session: two connections, streams that
// reserve buffers until a stream, a connection and finally the device limit refuse, and what
// happens to a stream whose connection was closed under it.
#include <cstdio>
#include <string>
#include <vector>

#include "embedded_node.hpp"
#include "rcmgr/rcmgr.hpp"

namespace {

using rcmgr::direction;

template <class M, class K>
constexpr std::size_t node_size = sizeof(rcmgr::detail::node<typename M::core_type, K>);

void print_sizes() {
  using libp2p_st = rcmgr::resource_manager<rcmgr::single_threaded>;
  using libp2p_ts = rcmgr::resource_manager<rcmgr::thread_safe>;
  using embedded_ts = rcmgr::basic_resource_manager<embedded::topology, rcmgr::thread_safe>;
  namespace lp = rcmgr::libp2p;
  std::printf("%-34s %12s %12s\n", "bytes per scope node", "connection", "stream");
  std::printf("%-34s %12zu %12zu\n", "embedded, single_threaded", node_size<embedded::manager, embedded::connection_scope>,
              node_size<embedded::manager, embedded::stream_scope>);
  std::printf("%-34s %12zu %12zu\n", "embedded, thread_safe", node_size<embedded_ts, embedded::connection_scope>,
              node_size<embedded_ts, embedded::stream_scope>);
  std::printf("%-34s %12zu %12zu\n", "libp2p, single_threaded", node_size<libp2p_st, lp::connection_scope>,
              node_size<libp2p_st, lp::stream_scope>);
  std::printf("%-34s %12zu %12zu\n", "libp2p, thread_safe", node_size<libp2p_ts, lp::connection_scope>,
              node_size<libp2p_ts, lp::stream_scope>);
  std::printf("%-34s %12zu %12zu\n", "handle (embedded / libp2p)", sizeof(embedded::manager::handle<embedded::stream_scope>),
              sizeof(libp2p_st::stream));
  std::printf("%-34s %12zu\n\n", "manager (embedded, single_threaded)", sizeof(embedded::manager));
}

template <class R>
void report(const char* what, const R& r) {
  if (r) std::printf("  %-44s ok\n", what);
  else std::printf("  %-44s refused: %s\n", what, r.error().message().c_str());
}

void print_usage(embedded::manager& mgr, const char* when) {
  const auto s = mgr.stat<embedded::system_scope>();
  std::printf("  [%s] device: %lld connection(s), %lld stream(s), %lld B\n", when,
              static_cast<long long>(s.conns()), static_cast<long long>(s.streams()), static_cast<long long>(s.memory));
}

void run() {
  // 40 KiB for network buffers and at most 4 connections on this device
  embedded::manager mgr(embedded::device_limits(40 * embedded::kib, 4));
  auto a = mgr.open<embedded::connection_scope>(direction::outbound, false);
  auto b = mgr.open<embedded::connection_scope>(direction::inbound, false);
  if (!a || !b) return;
  std::vector<embedded::manager::handle<embedded::stream_scope>> streams;
  std::printf("session:\n");
  for (int i = 0; i < 3; ++i) {
    auto s = mgr.open<embedded::stream_scope>(direction::outbound, false, *a);
    report("open a stream on connection A", s);
    if (!s) continue;
    report("  reserve 8 KiB on it", s->reserve_memory(8 * embedded::kib));
    streams.push_back(std::move(*s));
  }
  report("reserve 1 more byte on the first stream", streams.front().reserve_memory(1));
  report("reserve 8 KiB more on connection A", a->reserve_memory(8 * embedded::kib));
  report("reserve 8 KiB more on connection A", a->reserve_memory(8 * embedded::kib));
  auto s = mgr.open<embedded::stream_scope>(direction::inbound, false, *b);
  report("open a stream on connection B", s);
  report("  reserve 8 KiB on it (device is at 32 KiB)", s->reserve_memory(8 * embedded::kib));
  report("reserve 1 byte on connection B", b->reserve_memory(1));
  print_usage(mgr, "before closing A");

  a->done();
  print_usage(mgr, "after closing A");
  report("reserve on a stream of the closed connection", streams.front().reserve_memory(1));
  streams.front().release_memory(8 * embedded::kib);  // harmless: its connection already released it
  streams.clear();
  report("open a stream on the closed connection", mgr.open<embedded::stream_scope>(direction::outbound, false, *a));
  print_usage(mgr, "streams of A ended");
  s->done();
  b->done();
  print_usage(mgr, "all closed");
}

}  // namespace

int main() {
  print_sizes();
  run();
}
