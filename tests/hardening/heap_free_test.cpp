// Heap-free proof on the host: managers on static_storage (the libp2p topology under every
// concurrency policy, and the embedded topology of examples/embedded_node.hpp) are built and
// run through a full workload -- connections and streams opened, attached to peers, protocols
// and services, memory reserved and refused, spans, views, caps and bad keys refused, scopes
// ended, thousands of peers coming and going through the same slots -- in a program whose
// global operator new and malloc/calloc/realloc abort the moment the manager exists. A plain
// program, not Catch2 (which allocates); it prints what it checked and exits non-zero on any
// failed check. Only the limit sets are built before the heap is closed: they are the
// caller's input, and a firmware image would hold them as constants.
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <new>

#include "embedded_node.hpp"
#include "rcmgr/rcmgr.hpp"

// ---- the forbidden heap ---------------------------------------------------------------------

namespace {
bool heap_closed = false;
int failures = 0;

[[noreturn]] void heap_used(const char* what) {
  // No stdio here: it may allocate. write(2)-free too: abort is the report.
  (void)what;
  std::abort();
}
void check(bool ok, const char* what) {
  if (!ok) {
    // Report the first few failures (with the heap open: stdio may allocate), count the rest.
    if (++failures <= 5) {
      const bool was = heap_closed;
      heap_closed = false;
      std::printf("FAILED: %s\n", what);
      heap_closed = was;
    }
  }
}
}  // namespace

extern "C" {
void* __libc_malloc(std::size_t);
void* __libc_calloc(std::size_t, std::size_t);
void* __libc_realloc(void*, std::size_t);
void* __libc_memalign(std::size_t, std::size_t);
void __libc_free(void*);

void* malloc(std::size_t n) {
  if (heap_closed) heap_used("malloc");
  return __libc_malloc(n);
}
void* calloc(std::size_t a, std::size_t b) {
  if (heap_closed) heap_used("calloc");
  return __libc_calloc(a, b);
}
void* realloc(void* p, std::size_t n) {
  if (heap_closed) heap_used("realloc");
  return __libc_realloc(p, n);
}
void* aligned_alloc(std::size_t a, std::size_t n) {
  if (heap_closed) heap_used("aligned_alloc");
  return __libc_memalign(a, n);
}
void free(void* p) { __libc_free(p); }
}

void* operator new(std::size_t n) {
  if (heap_closed) heap_used("operator new");
  if (void* p = __libc_malloc(n == 0 ? 1 : n)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t n) { return ::operator new(n); }
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
  if (heap_closed) heap_used("operator new (nothrow)");
  return __libc_malloc(n == 0 ? 1 : n);
}
void* operator new[](std::size_t n, const std::nothrow_t& t) noexcept { return ::operator new(n, t); }
void* operator new(std::size_t n, std::align_val_t a) {
  if (heap_closed) heap_used("operator new (aligned)");
  if (void* p = __libc_memalign(std::size_t(a), n == 0 ? 1 : n)) return p;
  throw std::bad_alloc();
}
void* operator new(std::size_t n, std::align_val_t a, const std::nothrow_t&) noexcept {
  if (heap_closed) heap_used("operator new (aligned, nothrow)");
  return __libc_memalign(std::size_t(a), n == 0 ? 1 : n);
}
void operator delete(void* p) noexcept { __libc_free(p); }
void operator delete[](void* p) noexcept { __libc_free(p); }
void operator delete(void* p, std::size_t) noexcept { __libc_free(p); }
void operator delete[](void* p, std::size_t) noexcept { __libc_free(p); }
void operator delete(void* p, std::align_val_t) noexcept { __libc_free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { __libc_free(p); }

// ---- the workloads --------------------------------------------------------------------------

namespace {
namespace lp = rcmgr::libp2p;
using rcmgr::direction;
using rcmgr::errc;

constexpr std::size_t cap = 16;  // live scopes per kind

rcmgr::peer_id peer_number(unsigned i) {
  char buf[53] = "12D3KooWHeapFreePeer000000AbCdEfGhIjKlMnOpQrStUvWxYz";
  for (int d = 25; d >= 20; --d, i /= 10) buf[d] = char('0' + i % 10);
  return rcmgr::peer_id(std::string_view(buf, 52));
}

lp::limits small_limits() {
  lp::limits ls;  // unlimited except where set
  rcmgr::limit peer;
  peer.memory = 64 * 1024;
  peer.streams_inbound = peer.streams_outbound = peer.streams = 8;
  ls.set<lp::peer_scope>(peer);
  rcmgr::limit sys;
  sys.memory = 1 << 20;
  ls.set<lp::system_scope>(sys);
  return ls;
}

template <class Policy>
struct libp2p_run {
  using mgr_t = rcmgr::resource_manager<Policy, rcmgr::static_storage<cap, 32>>;
  static constexpr const char* protocols[3] = {"/ipfs/id/1.0.0", "/ipfs/kad/1.0.0", "/meshsub/1.1.0"};
  static constexpr const char* services[2] = {"libp2p.identify", "libp2p.autonat"};

  static void run(const char* name, const lp::limits& ls) {
    alignas(mgr_t) static unsigned char place[sizeof(mgr_t)];  // built in place, in static storage
    heap_closed = true;
    auto* mp = ::new (place) mgr_t(ls);
    mgr_t& m = *mp;
    unsigned opened = 0, refused_limit = 0, refused_cap = 0;
    for (unsigned round = 0; round < 400; ++round) {
      // A peer arrives: a connection attached to it and up to three streams.
      const auto p = peer_number(round);
      auto c = m.open_connection(direction::inbound, true);
      check(bool(c), "open_connection");
      if (!c) continue;
      check(bool(c->set_peer(p)), "set_peer");
      typename mgr_t::stream streams[3];
      for (unsigned k = 0; k < 3; ++k) {
        auto s = m.open_stream(p, k % 2 ? direction::outbound : direction::inbound);
        check(bool(s), "open_stream");
        if (!s) continue;
        ++opened;
        check(bool(s->set_protocol(protocols[(round + k) % 3])), "set_protocol");
        check(bool(s->set_service(services[(round + k) % 2])), "set_service");
        check(bool(s->reserve_memory(4096)), "reserve 4 KiB");
        auto big = s->reserve_memory(1 << 20);  // the peer's 64 KiB refuses 1 MiB
        check(!big && big.error().code == errc::limit_exceeded, "a reservation above the peer limit is refused");
        refused_limit += !big;
        auto sp = s->begin_span();
        check(bool(sp), "begin_span");
        if (sp) {
          check(bool(sp->reserve_memory(100)), "span reserve");
          sp->release_memory(100);
        }
        streams[k] = std::move(*s);
      }
      m.view_peer(p, [&](auto& r) {
        check(bool(r) && r.stat().memory == 3 * 4096, "view_peer sees the streams' memory");
        return 0;
      });
      // A bad key: longer than static_storage<.., 32> keeps inline.
      m.view_protocol("/a/protocol/id/longer/than/thirty-two/bytes", [&](auto& r) {
        check(!r && r.empty_reason() == errc::invalid_argument, "a long protocol id is refused");
        return 0;
      });
      // Peers come and go: every 16th round, fill the peer table to its cap and check the next
      // one is refused with too_many_scopes, then let them all go.
      if (round % 16 == 0) {
        typename mgr_t::stream held[cap];
        std::size_t n = 0;
        for (unsigned q = 0; q < 2 * cap; ++q) {
          auto s = m.open_stream(peer_number(100000 + round * 64 + q), direction::inbound);
          if (s) {
            if (n < cap) held[n++] = std::move(*s);
          } else {
            check(s.error().code == errc::too_many_scopes, "a full peer table refuses with too_many_scopes");
            ++refused_cap;
          }
        }
      }
      for (auto& s : streams) s.done();
      c->done();
    }
    check(m.template live_count<lp::peer_scope>() == 0, "every peer is collected");
    check(m.template stat<lp::system_scope>().memory == 0, "system holds nothing at the end");
    check(m.storage_stats().heap_bytes == 0, "no heap bytes held");
    m.~mgr_t();
    heap_closed = false;
    std::printf("libp2p topology, %s, static_storage<%zu, 32>: %u streams opened, %u refused by a limit, %u by the cap; "
                "manager object %zu bytes\n",
                name, cap, opened, refused_limit, refused_cap, sizeof(mgr_t));
    check(refused_cap > 0 && refused_limit > 0, "the workload reached the refusals");
  }
};

void embedded_run(const embedded::limits& ls) {
  using mgr_t = rcmgr::basic_resource_manager<embedded::topology, rcmgr::single_threaded, rcmgr::static_storage<4>>;
  alignas(mgr_t) static unsigned char place[sizeof(mgr_t)];
  heap_closed = true;
  auto* mp = ::new (place) mgr_t(ls);
  mgr_t& m = *mp;
  unsigned opened = 0, refused = 0;
  for (unsigned round = 0; round < 1000; ++round) {
    auto c = m.open<embedded::connection_scope>(direction::inbound, false);
    check(bool(c), "open a connection");
    if (!c) continue;
    mgr_t::handle<embedded::stream_scope> streams[5];
    for (auto& s : streams) {
      auto r = m.open<embedded::stream_scope>(direction::outbound, false, *c);
      if (r) {
        ++opened;
        check(bool(r->reserve_memory(4 * embedded::kib)), "reserve 4 KiB on a stream");
        s = std::move(*r);
      } else {
        // the connection's 4 outbound streams, or the store's 4 stream slots
        check(r.error().code == errc::limit_exceeded || r.error().code == errc::too_many_scopes, "a fifth stream is refused");
        ++refused;
      }
    }
    auto over = streams[0].reserve_memory(16 * embedded::kib);  // a stream holds at most 8 KiB
    check(!over && over.error().code == errc::limit_exceeded, "a stream's limit refuses");
    c->done();
  }
  check(m.stat<embedded::system_scope>().memory == 0, "the device holds nothing at the end");
  m.~mgr_t();
  heap_closed = false;
  std::printf("embedded topology, single_threaded, static_storage<4>: %u streams opened, %u refused; manager object %zu bytes\n",
              opened, refused, sizeof(mgr_t));
  check(refused > 0, "the workload reached the refusals");
}

}  // namespace

int main() {
  std::printf("heap-free workloads (operator new and malloc abort while a manager exists)\n");
  const lp::limits ls = small_limits();
  libp2p_run<rcmgr::single_threaded>::run("single_threaded", ls);
  libp2p_run<rcmgr::thread_safe>::run("thread_safe", ls);
  libp2p_run<rcmgr::thread_cached<4096, 2>>::run("thread_cached<4096, 2>", ls);
  const embedded::limits el = embedded::device_limits(64 * embedded::kib, 4);
  embedded_run(el);
  std::printf("%s\n", failures == 0 ? "all checks passed" : "FAILED");
  return failures == 0 ? 0 : 1;
}
