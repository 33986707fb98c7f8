// What the target's standard library offers. Bare-metal toolchains (arm-none-eabi's libstdc++
// on newlib, say) ship <mutex> without std::mutex and <memory_resource> without
// synchronized_pool_resource, since there are no threads to synchronize. rcmgr then offers the
// single-threaded policy only; naming thread_safe there is a compile error that says so.
// Such a target has no operating system either: a caller bug that would be reported on stderr
// before abort() (result::value() of an error) traps at once instead, since stderr would bring
// in the C library's stdio and the heap buffers it allocates.
#pragma once

#include <cstddef>  // defines the library's configuration macros (__GLIBCXX__, _GLIBCXX_HAS_GTHREADS)

/// 1 on a bare-metal standard library (no operating system, hence no threads), else 0.
/// Define it yourself to override the detection.
#ifndef RCMGR_BARE_METAL
#if (defined(__GLIBCXX__) && !defined(_GLIBCXX_HAS_GTHREADS)) || defined(_LIBCPP_HAS_NO_THREADS)
#define RCMGR_BARE_METAL 1
#else
#define RCMGR_BARE_METAL 0
#endif
#endif

/// 1 when the standard library has threads (std::mutex and friends), 0 when it has none.
/// Define it yourself to override the detection.
#ifndef RCMGR_HAS_THREADS
#define RCMGR_HAS_THREADS (!RCMGR_BARE_METAL)
#endif

#include <mutex>  // std::lock_guard is there even without threads

namespace rcmgr::detail {
#if RCMGR_HAS_THREADS
/// The mutex of code that may run on several threads (thread_safe's tables, stream_logger).
using system_mutex = std::mutex;
#else
/// One thread only: nothing to exclude.
struct system_mutex {
  constexpr void lock() noexcept {}
  constexpr void unlock() noexcept {}
};
#endif
}  // namespace rcmgr::detail
