// Heap accounting for the benchmarks: alloc_counter.cpp replaces the global operator new and
// delete of the benchmark binaries with versions that count calls and bytes, process-wide
// (relaxed atomics) and per thread (so a thread's count is not disturbed by another thread
// setting up its own scopes). A memory resource's upstream allocations are counted too.
#pragma once

#include <cstdint>

namespace rcmgr_bench {

struct heap_snapshot {
  std::uint64_t allocs = 0;      ///< operator new calls since start
  std::uint64_t frees = 0;       ///< operator delete calls (non-null) since start
  std::uint64_t bytes = 0;       ///< bytes requested from operator new since start
  std::int64_t live_bytes = 0;   ///< usable bytes of the blocks now live (malloc_usable_size)
};

/// The process-wide counters now.
heap_snapshot heap_now() noexcept;
/// The calling thread's counters now (live_bytes: what this thread allocated minus what it freed).
heap_snapshot heap_thread_now() noexcept;

}  // namespace rcmgr_bench
