// The debug checks through the documented hook (set_outlived_handler): the report names each kind
// and count, and nothing is reported when every handle ended before the manager. Exits non-zero
// on a wrong report.
#include <iostream>
#include <memory>
#include <string>
#include <string_view>

#include "rcmgr/rcmgr.hpp"

namespace {
namespace lp = rcmgr::libp2p;
using manager = rcmgr::resource_manager<rcmgr::single_threaded>;
const rcmgr::peer_id peer("12D3KooWDebugChecks");

struct seen {
  int calls = 0;
  std::string report;
};
void record(std::string_view report, void* user) {
  auto* s = static_cast<seen*>(user);
  ++s->calls;
  s->report = report;
}

int expect(const seen& s, int calls, std::string_view report, int code) {
  if (s.calls == calls && s.report == report) return 0;
  std::cerr << "case " << code << ": " << s.calls << " call(s), report \"" << s.report << "\"; expected " << calls
            << " call(s), \"" << report << "\"\n";
  return code;
}
}  // namespace

int main() {
  int rc = 0;
  {
    // Handles alive when the manager goes: they live in heap objects that are never destroyed
    // (destroying them after the manager would be the use-after-free the check prevents).
    seen s;
    auto mgr = std::make_unique<manager>();
    mgr->set_outlived_handler(record, &s);
    auto* c = new manager::connection(std::move(*mgr->open_connection(rcmgr::direction::inbound, true)));
    if (!c->set_peer(peer)) return 11;
    auto* ref = new manager::peer_ref(c->peer_scope());
    auto* ref2 = new manager::peer_ref(*ref);
    (void)ref2;
    mgr.reset();
    rc |= expect(s, 1, "2 peer references, 1 connection handle", 1);
  }
  {
    seen s;
    {
      manager mgr;
      mgr.set_outlived_handler(record, &s);
      auto c = mgr.open_connection(rcmgr::direction::inbound, true);
      if (!c || !c->set_peer(peer)) return 12;
      auto st = mgr.open_stream(peer, rcmgr::direction::inbound);
      auto span = st->begin_span();
      auto ref = c->peer_scope();
      (void)mgr.view_peer(peer, [](auto& p) { return p.stat(); });
      span->done();
      // everything below ends in reverse order, before the manager
      auto empty = std::move(*st);  // the moved-from handle counts nothing
    }
    rc |= expect(s, 0, "", 2);
  }
  if (rc == 0) std::cout << "debug checks: ok\n";
  return rc;
}
