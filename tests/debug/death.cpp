// Programs that must die with a report (see CMakeLists.txt): argv[1] names the case. Each case
// makes the mistake, and returning from main afterwards would mean the check did not fire.
#include <cstdio>
#include <cstring>
#include <memory>

#include "rcmgr/rcmgr.hpp"

namespace {
namespace lp = rcmgr::libp2p;
using manager = rcmgr::resource_manager<>;
const rcmgr::peer_id peer("12D3KooWDebugChecks");

lp::limits small_stream() {
  lp::limits l{};
  rcmgr::limit s{};
  s.memory = 1024;
  l.set<lp::stream_scope>(s);
  return l;
}

// The handles are kept in heap objects that are never destroyed, so that the manager dies first.
int outlived_handles() {
  auto mgr = std::make_unique<manager>();
  auto* conn = new manager::connection(std::move(*mgr->open_connection(rcmgr::direction::inbound, true)));
  if (!conn->set_peer(peer)) return 2;
  auto* s1 = new manager::stream(std::move(*mgr->open_stream(peer, rcmgr::direction::inbound)));
  auto* s2 = new manager::stream(std::move(*mgr->open_stream(peer, rcmgr::direction::outbound)));
  s2->done();  // ended, but the handle still points into the manager
  auto* ref = new manager::peer_ref(conn->peer_scope());
  (void)s1;
  (void)ref;
  mgr.reset();  // must abort here
  return 3;
}

int outlived_span() {
  auto mgr = std::make_unique<manager>();
  auto s = mgr->open_stream(peer, rcmgr::direction::inbound);
  auto* span = new manager::span<lp::stream_scope>(std::move(*s->begin_span()));
  (void)span;
  s->done();
  { auto gone = std::move(*s); }  // the stream handle is gone; its span is not
  mgr.reset();
  return 3;
}

int value_of_error() {
  manager mgr(small_stream());
  auto s = mgr.open_stream(peer, rcmgr::direction::inbound);
  auto r = s->reserve_memory(2048);
  // a result<T> holding the refusal
  rcmgr::result<int> v = r ? rcmgr::result<int>(1) : rcmgr::result<int>(r.error());
  std::printf("%d\n", v.value());  // must abort here
  return 3;
}

int value_of_error_void() {
  lp::limits l{};
  rcmgr::limit sys{};
  sys.memory = 10;
  l.set<lp::system_scope>(sys);
  manager mgr(l);
  mgr.view_system([](auto& s) { s.reserve_memory(11).value(); });  // must abort here
  return 3;
}
}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) return 1;
  if (!std::strcmp(argv[1], "outlived_handles")) return outlived_handles();
  if (!std::strcmp(argv[1], "outlived_span")) return outlived_span();
  if (!std::strcmp(argv[1], "value_of_error")) return value_of_error();
  if (!std::strcmp(argv[1], "value_of_error_void")) return value_of_error_void();
  return 1;
}
