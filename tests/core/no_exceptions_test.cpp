// The core without exceptions and without RTTI: this TU is compiled with -fno-exceptions
// -fno-rtti. A plain program (Catch2 needs exceptions): it exits non-zero on the first failure.
#if defined(__cpp_exceptions) || defined(__EXCEPTIONS)
#error "this test must be compiled with -fno-exceptions"
#endif
#if defined(__cpp_rtti) || defined(__GXX_RTTI)
#error "this test must be compiled with -fno-rtti"
#endif

#include <cstdio>
#include <cstdlib>
#include <string>

#include "rcmgr/rcmgr.hpp"

namespace {
int failures = 0;
#define EXPECT(...)                                                      \
  do {                                                                   \
    if (!(__VA_ARGS__)) {                                                \
      std::fprintf(stderr, "%s:%d: failed: %s\n", __FILE__, __LINE__, #__VA_ARGS__); \
      ++failures;                                                        \
    }                                                                    \
  } while (0)

template <class Manager>
void session() {
  namespace lp = rcmgr::libp2p;
  lp::limits ls;
  rcmgr::limit peer;
  peer.memory = 1000;
  peer.conns = 1;
  ls.set<lp::peer_scope>(peer);
  Manager mgr(ls);
  const rcmgr::peer_id p("12D3KooWNoExceptions");
  auto c = mgr.open_connection(rcmgr::direction::inbound, true);
  EXPECT(c.has_value());
  if (!c) return;
  EXPECT(c->set_peer(p).has_value());
  auto s = mgr.open_stream(p, rcmgr::direction::outbound);
  EXPECT(s.has_value());
  if (!s) return;
  EXPECT(s->set_protocol("/ipfs/id/1.0.0").has_value());
  EXPECT(s->reserve_memory(600).has_value());
  // over the peer's limit: refused, with the numbers
  auto r = s->reserve_memory(401);
  EXPECT(!r.has_value());
  if (!r) {
    const rcmgr::error& e = r.error();
    EXPECT(e.code == rcmgr::errc::limit_exceeded);
    EXPECT(e.error_code() == rcmgr::errc::limit_exceeded);
    EXPECT(e.scope.str() == "peer:12D3KooWNoExceptions");
    EXPECT(e.current == 600 && e.attempted == 401 && e.limit_value == 1000);
    EXPECT(e.message() ==
           "peer:12D3KooWNoExceptions refused 401 B of memory at priority always (255): 600 B in use, limit 1000 B");
  }
  // a second connection to the same peer is refused by the connection limit
  auto c2 = mgr.open_connection(rcmgr::direction::inbound, false);
  EXPECT(c2.has_value());
  if (c2) EXPECT(c2->set_peer(p).error().res == rcmgr::resource::conns);
  s->done();
  EXPECT(s->reserve_memory(1).error().code == rcmgr::errc::scope_closed);
  c->done();
  if (c2) c2->done();
  EXPECT(mgr.view_system([](auto& sys) { return sys.stat(); }) == rcmgr::scope_stat{});
}
}  // namespace

int main() {
  session<rcmgr::resource_manager<rcmgr::thread_safe>>();
  session<rcmgr::resource_manager<rcmgr::single_threaded>>();
  if (failures != 0) {
    std::fprintf(stderr, "%d check(s) failed\n", failures);
    return EXIT_FAILURE;
  }
  std::puts("ok: reserved, refused and checked the error without exceptions or RTTI");
  return EXIT_SUCCESS;
}
