// Replaced global allocation functions (see alloc_counter.hpp). Every form of operator new ends
// in counted_alloc and every form of operator delete in counted_free; live bytes are measured
// with malloc_usable_size, so they include the allocator's rounding (what the heap really spends)
// but not its per-block header.
#include "alloc_counter.hpp"

#include <malloc.h>

#include <atomic>
#include <cstddef>
#include <cstdlib>
#include <new>

namespace {
std::atomic<std::uint64_t> g_allocs{0};
std::atomic<std::uint64_t> g_frees{0};
std::atomic<std::uint64_t> g_bytes{0};
std::atomic<std::int64_t> g_live{0};
thread_local rcmgr_bench::heap_snapshot t_counts;

void* counted_alloc(std::size_t n, std::size_t align) noexcept {
  if (n == 0) n = 1;
  void* p = nullptr;
  if (align <= alignof(std::max_align_t)) {
    p = std::malloc(n);
  } else {
    // aligned_alloc wants a size that is a multiple of the alignment
    p = std::aligned_alloc(align, (n + align - 1) / align * align);
  }
  if (p != nullptr) {
    g_allocs.fetch_add(1, std::memory_order_relaxed);
    g_bytes.fetch_add(n, std::memory_order_relaxed);
    const auto usable = static_cast<std::int64_t>(malloc_usable_size(p));
    g_live.fetch_add(usable, std::memory_order_relaxed);
    ++t_counts.allocs;
    t_counts.bytes += n;
    t_counts.live_bytes += usable;
  }
  return p;
}

void counted_free(void* p) noexcept {
  if (p == nullptr) return;
  const auto usable = static_cast<std::int64_t>(malloc_usable_size(p));
  g_frees.fetch_add(1, std::memory_order_relaxed);
  g_live.fetch_sub(usable, std::memory_order_relaxed);
  ++t_counts.frees;
  t_counts.live_bytes -= usable;
  std::free(p);
}

void* alloc_or_throw(std::size_t n, std::size_t align) {
  void* p = counted_alloc(n, align);
  if (p == nullptr) throw std::bad_alloc();
  return p;
}
}  // namespace

namespace rcmgr_bench {
heap_snapshot heap_now() noexcept {
  return {g_allocs.load(std::memory_order_relaxed), g_frees.load(std::memory_order_relaxed),
          g_bytes.load(std::memory_order_relaxed), g_live.load(std::memory_order_relaxed)};
}
heap_snapshot heap_thread_now() noexcept { return t_counts; }
}  // namespace rcmgr_bench

void* operator new(std::size_t n) { return alloc_or_throw(n, 0); }
void* operator new[](std::size_t n) { return alloc_or_throw(n, 0); }
void* operator new(std::size_t n, std::align_val_t a) { return alloc_or_throw(n, static_cast<std::size_t>(a)); }
void* operator new[](std::size_t n, std::align_val_t a) { return alloc_or_throw(n, static_cast<std::size_t>(a)); }
void* operator new(std::size_t n, const std::nothrow_t&) noexcept { return counted_alloc(n, 0); }
void* operator new[](std::size_t n, const std::nothrow_t&) noexcept { return counted_alloc(n, 0); }
void* operator new(std::size_t n, std::align_val_t a, const std::nothrow_t&) noexcept {
  return counted_alloc(n, static_cast<std::size_t>(a));
}
void* operator new[](std::size_t n, std::align_val_t a, const std::nothrow_t&) noexcept {
  return counted_alloc(n, static_cast<std::size_t>(a));
}

void operator delete(void* p) noexcept { counted_free(p); }
void operator delete[](void* p) noexcept { counted_free(p); }
void operator delete(void* p, std::size_t) noexcept { counted_free(p); }
void operator delete[](void* p, std::size_t) noexcept { counted_free(p); }
void operator delete(void* p, std::align_val_t) noexcept { counted_free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { counted_free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { counted_free(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { counted_free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { counted_free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { counted_free(p); }
void operator delete(void* p, std::align_val_t, const std::nothrow_t&) noexcept { counted_free(p); }
void operator delete[](void* p, std::align_val_t, const std::nothrow_t&) noexcept { counted_free(p); }
