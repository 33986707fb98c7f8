// memory_reservation and scope_memory_resource::try_allocate without exceptions or RTTI: a plain
// program (Catch2 needs exceptions). Exits non-zero on the first failed check.
#include <cstdio>
#include <utility>

#include "rcmgr/memory_reservation.hpp"
#include "rcmgr/memory_resource.hpp"
#include "rcmgr/rcmgr.hpp"

#define CHECK(c)                                                   \
  do {                                                             \
    if (!(c)) {                                                    \
      std::fprintf(stderr, "%s:%d: failed: %s\n", __FILE__, __LINE__, #c); \
      return 1;                                                    \
    }                                                              \
  } while (0)

int main() {
  namespace lp = rcmgr::libp2p;
  lp::limits limits;
  rcmgr::limit s;
  s.memory = 1000;
  limits.set<lp::stream_scope>(s);
  rcmgr::resource_manager<rcmgr::single_threaded> mgr(limits);
  auto stream = mgr.open_stream(rcmgr::peer_id("12D3KooWNoExceptions"), rcmgr::direction::inbound);
  CHECK(stream.has_value());
  {
    auto r = rcmgr::memory_reservation::reserve(*stream, 600);
    CHECK(r.has_value());
    CHECK(!r->grow(500));
    rcmgr::scope_memory_resource res(*stream);
    CHECK(res.try_allocate(500) == nullptr);
    CHECK(res.last_error().code == rcmgr::errc::limit_exceeded);
    void* p = res.try_allocate(400);
    CHECK(p != nullptr);
    CHECK(stream->stat().memory == 1000);
    res.deallocate(p, 400);
  }
  CHECK(stream->stat().memory == 0);
  std::puts("ok");
  return 0;
}
