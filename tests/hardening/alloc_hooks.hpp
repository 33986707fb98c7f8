// Replacements for the global operator new and delete, for test binaries that count or fail
// allocations. Include this header in exactly one translation unit of a binary.
//
//   alloc::live_bytes          bytes allocated and not yet freed (every form of new)
//   alloc::allocations         calls to any operator new
//   alloc::fail_after(n)       the n-th allocation from now fails (n >= 1): throwing forms throw
//                              std::bad_alloc, nothrow forms return nullptr; later ones succeed
//   alloc::disarm()            no more failures; returns whether the armed failure happened
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <new>

namespace alloc {
inline std::int64_t live_bytes = 0;
inline std::uint64_t allocations = 0;
inline std::uint64_t countdown = 0;  ///< 0: not armed
inline bool injected = false;

inline void fail_after(std::uint64_t n) {
  countdown = n;
  injected = false;
}
inline bool disarm() {
  countdown = 0;
  return injected;
}

/// Every block carries a header of `align` bytes (at least 16) holding its size, so that every
/// form of delete can subtract exactly what its new added.
// Not inlined: g++ 12 at -O2 would otherwise see through a delete to the matching new and warn
// (-Warray-bounds, -Wmismatched-new-delete) about the header read before the block.
[[gnu::noinline]] inline void* take(std::size_t n, std::size_t align, bool nothrow) {
  ++allocations;
  if (countdown != 0 && --countdown == 0) {
    injected = true;
    if (nothrow) return nullptr;
    throw std::bad_alloc();
  }
  if (align < 16) align = 16;
  const std::size_t total = (n + align + align - 1) / align * align;
  void* raw = std::aligned_alloc(align, total);
  if (raw == nullptr) {
    if (nothrow) return nullptr;
    throw std::bad_alloc();
  }
  *static_cast<std::size_t*>(raw) = n;
  live_bytes += std::int64_t(n);
  return static_cast<unsigned char*>(raw) + align;
}
[[gnu::noinline]] inline void give(void* p, std::size_t align) noexcept {
  if (p == nullptr) return;
  if (align < 16) align = 16;
  void* raw = static_cast<unsigned char*>(p) - align;
  live_bytes -= std::int64_t(*static_cast<std::size_t*>(raw));
  std::free(raw);
}
}  // namespace alloc

// NOLINTBEGIN: the replaceable global allocation functions
void* operator new(std::size_t n) { return alloc::take(n, 16, false); }
void* operator new[](std::size_t n) { return alloc::take(n, 16, false); }
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
  try {
    return alloc::take(n, 16, true);
  } catch (...) {
    return nullptr;
  }
}
void* operator new[](std::size_t n, const std::nothrow_t&) noexcept {
  try {
    return alloc::take(n, 16, true);
  } catch (...) {
    return nullptr;
  }
}
void* operator new(std::size_t n, std::align_val_t a) { return alloc::take(n, std::size_t(a), false); }
void* operator new[](std::size_t n, std::align_val_t a) { return alloc::take(n, std::size_t(a), false); }
void* operator new(std::size_t n, std::align_val_t a, const std::nothrow_t&) noexcept {
  try {
    return alloc::take(n, std::size_t(a), true);
  } catch (...) {
    return nullptr;
  }
}
void* operator new[](std::size_t n, std::align_val_t a, const std::nothrow_t&) noexcept {
  try {
    return alloc::take(n, std::size_t(a), true);
  } catch (...) {
    return nullptr;
  }
}
void operator delete(void* p) noexcept { alloc::give(p, 16); }
void operator delete[](void* p) noexcept { alloc::give(p, 16); }
void operator delete(void* p, std::size_t) noexcept { alloc::give(p, 16); }
void operator delete[](void* p, std::size_t) noexcept { alloc::give(p, 16); }
void operator delete(void* p, const std::nothrow_t&) noexcept { alloc::give(p, 16); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { alloc::give(p, 16); }
void operator delete(void* p, std::align_val_t a) noexcept { alloc::give(p, std::size_t(a)); }
void operator delete[](void* p, std::align_val_t a) noexcept { alloc::give(p, std::size_t(a)); }
void operator delete(void* p, std::size_t, std::align_val_t a) noexcept { alloc::give(p, std::size_t(a)); }
void operator delete[](void* p, std::size_t, std::align_val_t a) noexcept { alloc::give(p, std::size_t(a)); }
void operator delete(void* p, std::align_val_t a, const std::nothrow_t&) noexcept { alloc::give(p, std::size_t(a)); }
void operator delete[](void* p, std::align_val_t a, const std::nothrow_t&) noexcept { alloc::give(p, std::size_t(a)); }
// NOLINTEND
