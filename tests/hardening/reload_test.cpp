// Reloading limits has bounded memory: 200,000 reloads alternating with and without a per-peer
// override, while other threads open streams on that peer and reserve through it, leave the
// heap where it was. (Before, each reload that dropped an override parked its limit store until
// the manager died.) This binary counts every byte through a replaced global operator new and
// delete, with an atomic counter (under a sanitizer, through the sanitizer's allocator): run it
// under ThreadSanitizer too (scripts/sanitizers does).
//
//   RCMGR_RELOADS=<n>   reloads in the measured phase (default 200000)
#include <catch2/catch.hpp>

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <new>
#include <string>
#include <thread>
#include <vector>

#include "rcmgr/rcmgr.hpp"

// Under a sanitizer its runtime owns operator new (clang links it statically: a replacement
// would not link), so the heap is read from the sanitizer's allocator instead.
#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
#define RCMGR_RELOAD_SANITIZER_HEAP 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer) || __has_feature(address_sanitizer)
#define RCMGR_RELOAD_SANITIZER_HEAP 1
#endif
#endif

#if defined(RCMGR_RELOAD_SANITIZER_HEAP)
// Declared here rather than through <sanitizer/allocator_interface.h>, which g++ 12 on Debian
// does not ship: the function is part of every sanitizer runtime's C interface.
extern "C" std::size_t __sanitizer_get_current_allocated_bytes();
namespace {
std::int64_t heap_bytes() { return std::int64_t(__sanitizer_get_current_allocated_bytes()); }
}  // namespace
#else
namespace {
std::atomic<std::int64_t> live_bytes{0};

// Not inlined: g++ 12 at -O2 would otherwise see through a delete to the matching new and warn
// (-Warray-bounds, -Wmismatched-new-delete) about the header read before the block.
[[gnu::noinline]] void* take(std::size_t n) {
  // A 16-byte header holds the size, so that every delete subtracts what its new added.
  void* raw = std::malloc(n + 16);
  if (raw == nullptr) throw std::bad_alloc();
  *static_cast<std::size_t*>(raw) = n;
  live_bytes.fetch_add(std::int64_t(n), std::memory_order_relaxed);
  return static_cast<unsigned char*>(raw) + 16;
}
[[gnu::noinline]] void give(void* p) noexcept {
  if (p == nullptr) return;
  void* raw = static_cast<unsigned char*>(p) - 16;
  live_bytes.fetch_sub(std::int64_t(*static_cast<std::size_t*>(raw)), std::memory_order_relaxed);
  std::free(raw);
}
std::int64_t heap_bytes() { return live_bytes.load(); }
}  // namespace

// NOLINTBEGIN: the replaceable global allocation functions (no over-aligned types are used here)
void* operator new(std::size_t n) { return take(n); }
void* operator new[](std::size_t n) { return take(n); }
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
  try {
    return take(n);
  } catch (...) {
    return nullptr;
  }
}
void* operator new[](std::size_t n, const std::nothrow_t&) noexcept {
  try {
    return take(n);
  } catch (...) {
    return nullptr;
  }
}
void operator delete(void* p) noexcept { give(p); }
void operator delete[](void* p) noexcept { give(p); }
void operator delete(void* p, std::size_t) noexcept { give(p); }
void operator delete[](void* p, std::size_t) noexcept { give(p); }
// NOLINTEND
#endif

namespace {
namespace lp = rcmgr::libp2p;
using rcmgr::direction;

const rcmgr::peer_id flipped("12D3KooWFlippedFlippedFlippedFlippedFlippedFlippedFl");
const rcmgr::peer_id steady("12D3KooWSteadySteadySteadySteadySteadySteadySteadySt");

/// Opens streams on both peers, reserves and releases through them and through peer views,
/// until stopped; everything it holds is ended before it returns.
void worker(rcmgr::resource_manager<>& mgr, std::atomic<bool>& stop, std::atomic<std::uint64_t>& admitted, unsigned seed) {
  std::uint64_t x = seed;
  while (!stop.load(std::memory_order_relaxed)) {
    x = x * 6364136223846793005ull + 1442695040888963407ull;
    const rcmgr::peer_id& p = (x >> 33) & 1 ? flipped : steady;
    auto s = mgr.open_stream(p, (x >> 34) & 1 ? direction::inbound : direction::outbound);
    if (s) {
      if (s->reserve_memory(std::int64_t((x >> 40) & 0xfff))) admitted.fetch_add(1, std::memory_order_relaxed);
      if ((x >> 36) & 1) (void)s->set_protocol("/reload/1.0.0");
      s->done();
    }
    mgr.view_peer(p, [&](auto& r) {
      if (r.reserve_memory(100)) r.release_memory(100);
    });
  }
}

std::int64_t run_workers_while(rcmgr::resource_manager<>& mgr, int reloads, const lp::limits& with, const lp::limits& without) {
  std::atomic<bool> stop{false};
  std::atomic<std::uint64_t> admitted{0};
  std::vector<std::thread> ws;
  for (unsigned w = 0; w < 2; ++w) ws.emplace_back(worker, std::ref(mgr), std::ref(stop), std::ref(admitted), 17 + w);
  int refused = 0;
  for (int i = 0; i < reloads; ++i)
    if (!mgr.set_limits(i % 2 == 0 ? with : without)) ++refused;
  stop = true;
  for (auto& t : ws) t.join();
  CHECK(refused == 0);
  return std::int64_t(admitted.load());
}
}  // namespace

TEST_CASE("200,000 reloads alternating a per-peer override leave the heap flat", "[hardening][reload]") {
  const char* env = std::getenv("RCMGR_RELOADS");
  const int reloads = env != nullptr ? std::atoi(env) : 200000;
  lp::limits without = lp::default_limits();
  lp::limits with = without;
  rcmgr::limit tight = without.get<lp::peer_scope>();
  tight.memory = 1 << 16;
  with.set<lp::peer_scope>(flipped, tight);

  rcmgr::resource_manager<> mgr(without);
  // Warm up: tables, pools and the override map reach their working size.
  run_workers_while(mgr, 2000, with, without);
  REQUIRE(mgr.set_limits(without));
  const std::int64_t baseline = heap_bytes();

  const std::int64_t admitted = run_workers_while(mgr, reloads, with, without);
  REQUIRE(mgr.set_limits(without));
  const std::int64_t after = heap_bytes();
  INFO("heap after warm-up " << baseline << " B, after " << reloads << " reloads " << after << " B; "
                             << admitted << " reservations admitted meanwhile");
  CHECK(admitted > 0);
  // Flat: not one byte per reload. (Node pools may keep a few nodes cached: a few KiB.)
  CHECK(after - baseline <= 16 * 1024);
  CHECK(mgr.live_count<lp::peer_scope>() == 0);
  CHECK(mgr.stat<lp::system_scope>().empty());
}
