// Where scope nodes live. Three stores with one interface (allocate() -> pointer or nullptr,
// deallocate(p), trim(), stats()):
//   node_pool<T>          a free list over the global heap (hashed and bounded storage);
//   sharded_pool<T>       free lists in a few locked shards, a thread using its own shard, for
//                         nodes allocated and freed from many threads at once (concurrent
//                         policies: connections, streams and spans);
//   static_slots<T, N>    N slots inside the owning object: never touches the heap.
// T is the node type. The heap stores read sizeof(T) only in their member functions, so a store
// can be a member of a class that a node type itself refers to (the manager's state, reached
// from a node through its Core parameter) while the node type is still incomplete.
// Every upstream allocation is the nothrow form: a failed allocation is an ordinary result
// (nullptr), turned into errc::out_of_memory by the engine with nothing changed. None of them
// is thread-safe on its own except sharded_pool: the engine locks around them (a keyed kind's
// pool is used under its table lock).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <new>

#include "rcmgr/detail/platform.hpp"
#if RCMGR_HAS_THREADS
#include <thread>
#endif

namespace rcmgr::detail {

/// What a store holds, in nodes and in bytes of heap memory (0 for static_slots).
struct pool_stats {
  std::size_t live = 0;        ///< nodes handed out and not given back
  std::size_t cached = 0;      ///< free nodes kept for reuse
  std::size_t heap_bytes = 0;  ///< bytes of heap memory held for live and cached nodes
};

/// Allocates one block of `size` bytes aligned to `align` from the global heap, or nullptr.
inline void* heap_allocate(std::size_t size, std::size_t align) noexcept {
  if (align > __STDCPP_DEFAULT_NEW_ALIGNMENT__) return ::operator new(size, std::align_val_t(align), std::nothrow);
  return ::operator new(size, std::nothrow);
}
/// The unsized forms: clang enables sized deallocation only with -fsized-deallocation.
inline void heap_free(void* p, std::size_t size, std::size_t align) noexcept {
  (void)size;
  if (align > __STDCPP_DEFAULT_NEW_ALIGNMENT__) ::operator delete(p, std::align_val_t(align));
  else ::operator delete(p);
}

constexpr std::size_t round_block(std::size_t size, std::size_t align) noexcept {
  const std::size_t s = size < sizeof(void*) ? sizeof(void*) : size;
  return (s + align - 1) / align * align;
}

/// A free list of fixed-size blocks over the global heap. Blocks come one at a time from the
/// heap (so any of them can go back on its own: no chunk stays pinned by one live node), and
/// freed blocks are kept for reuse only while the pool is busy: at most `live + spare` free
/// blocks are kept, so when a burst of scopes ends, their blocks go back to the heap as they
/// are freed, and a pool with nothing live keeps at most `spare`. trim() returns every free block.
/// Blocks are not carved from larger chunks: a chunk stays pinned while any of its blocks is
/// live, which after a burst leaves most of the burst's memory held by a few long-lived scopes.
template <class T>
class node_pool {
 public:
  static constexpr std::size_t spare = 32;  ///< free blocks kept beyond the live count

  node_pool() noexcept = default;
  node_pool(const node_pool&) = delete;
  node_pool& operator=(const node_pool&) = delete;
  ~node_pool() { trim(); }  // live blocks are the owner's to free first

  void* allocate() noexcept {
    void* p;
    if (free_ != nullptr) {
      p = free_;
      free_ = free_->next;
      --cached_;
    } else {
      p = heap_allocate(block(), alignof(T));
      if (p == nullptr) return nullptr;
    }
    ++live_;
    return p;
  }
  void deallocate(void* p) noexcept {
    --live_;
    // Keep cached <= live + spare at all times: the bound fell by one, so give back one cached
    // block if it is now over (at most one: it held before), and then p itself if there is no
    // room for it. O(1), and a burst's blocks go back to the heap as its scopes end.
    if (cached_ > live_ + spare) {
      free_block* f = free_;
      free_ = f->next;
      --cached_;
      heap_free(f, block(), alignof(T));
    }
    if (cached_ >= live_ + spare) {
      heap_free(p, block(), alignof(T));
      return;
    }
    auto* f = static_cast<free_block*>(p);
    f->next = free_;
    free_ = f;
    ++cached_;
  }
  /// Returns every free block to the heap.
  void trim() noexcept {
    while (free_ != nullptr) {
      free_block* n = free_->next;
      heap_free(free_, block(), alignof(T));
      free_ = n;
    }
    cached_ = 0;
  }
  pool_stats stats() const noexcept { return {live_, cached_, (live_ + cached_) * block()}; }

 private:
  static constexpr std::size_t block() noexcept { return round_block(sizeof(T), alignof(T)); }
  struct free_block {
    free_block* next;
  };
  free_block* free_ = nullptr;
  std::size_t live_ = 0;
  std::size_t cached_ = 0;
};

#if RCMGR_HAS_THREADS
/// The calling thread's number (threads are numbered in the order they first ask): picks the
/// shard of a sharded_pool. Constant-initialised, so reading it is one thread-local load.
inline unsigned pool_thread_number() noexcept {
  static constinit std::atomic<unsigned> next{0};
  static constinit thread_local unsigned mine = 0;  // 0: not numbered yet
  if (mine == 0) mine = next.fetch_add(1, std::memory_order_relaxed) + 1;
  return mine - 1;
}

/// node_pool's free list for nodes allocated and freed from many threads at once: Shards
/// independent free lists, each behind its own spin lock on its own cache line, a thread
/// always using shard (its number % Shards). A thread that opens and ends its own scopes
/// reuses its blocks without touching the heap and without sharing a cache line with the
/// other threads (up to Shards threads). Blocks are interchangeable, so a block allocated by
/// one thread may be freed into another's shard; each shard then counts its live blocks net
/// (allocated minus freed through it, which may be negative), the sum over the shards being
/// the pool's live count.
/// The bound of node_pool holds per shard: at most max(net live, 0) + spare free blocks, so a
/// thread that only frees keeps at most `spare`, a burst's blocks go back to the heap as its
/// scopes end on the thread that opened them, and trim() returns every free block. (When
/// scopes are opened on one thread and ended on another, the opening shard's net count stays
/// high and its free list can keep up to that many blocks: at most the peak number of live
/// nodes, until trim().) A failed upstream allocation is nullptr, as in node_pool.
/// The lock is held only for a few pointer moves (never across an allocation or a free of
/// the heap's), so a spin lock is cheaper than a mutex here; it yields after a few spins.
template <class T, std::size_t Shards = 8>
class sharded_pool {
  static_assert(Shards > 0, "sharded_pool: at least one shard");

 public:
  static constexpr std::size_t spare = 8;  ///< free blocks kept per shard beyond its live count

  sharded_pool() noexcept = default;
  sharded_pool(const sharded_pool&) = delete;
  sharded_pool& operator=(const sharded_pool&) = delete;
  ~sharded_pool() { trim(); }  // live blocks are the owner's to free first

  void* allocate() noexcept {
    shard& s = mine();
    s.lock();
    free_block* f = s.free;
    if (f != nullptr) {
      s.free = f->next;
      --s.cached;
      ++s.live;
      s.unlock();
      return f;
    }
    ++s.live;  // counted before the heap is asked, so a concurrent trim() cannot undercount
    s.unlock();
    void* p = heap_allocate(block(), alignof(T));
    if (p == nullptr) {
      // Undo the count; the bound fell by one, so give back one cached block if it is now over.
      free_block* over = nullptr;
      s.lock();
      --s.live;
      if (s.cached > (s.live > 0 ? std::size_t(s.live) : 0) + spare) {
        over = s.free;
        s.free = over->next;
        --s.cached;
      }
      s.unlock();
      if (over != nullptr) heap_free(over, block(), alignof(T));
    }
    return p;
  }
  void deallocate(void* p) noexcept {
    shard& s = mine();
    void* give_back[2] = {nullptr, nullptr};  // freed after the lock is dropped
    s.lock();
    --s.live;
    const std::size_t bound = (s.live > 0 ? std::size_t(s.live) : 0) + spare;
    if (s.cached > bound) {  // the bound fell by one: at most one block over it
      free_block* f = s.free;
      s.free = f->next;
      --s.cached;
      give_back[0] = f;
    }
    if (s.cached >= bound) {
      give_back[1] = p;
    } else {
      auto* f = static_cast<free_block*>(p);
      f->next = s.free;
      s.free = f;
      ++s.cached;
    }
    s.unlock();
    for (void* b : give_back)
      if (b != nullptr) heap_free(b, block(), alignof(T));
  }
  /// Returns every free block of every shard to the heap.
  void trim() noexcept {
    for (shard& s : shards_) {
      s.lock();
      free_block* f = s.free;
      s.free = nullptr;
      s.cached = 0;
      s.unlock();
      while (f != nullptr) {
        free_block* n = f->next;
        heap_free(f, block(), alignof(T));
        f = n;
      }
    }
  }
  pool_stats stats() const noexcept {
    std::ptrdiff_t live = 0;
    std::size_t cached = 0;
    for (const shard& s : shards_) {
      s.lock();
      live += s.live;
      cached += s.cached;
      s.unlock();
    }
    const std::size_t l = live > 0 ? std::size_t(live) : 0;
    return {l, cached, (l + cached) * block()};
  }

 private:
  static constexpr std::size_t block() noexcept { return round_block(sizeof(T), alignof(T)); }
  struct free_block {
    free_block* next;
  };
  struct alignas(64) shard {
    mutable std::atomic<bool> locked{false};
    free_block* free = nullptr;
    std::size_t cached = 0;
    std::ptrdiff_t live = 0;  ///< allocated minus freed through this shard (may be negative)

    void lock() const noexcept {
      for (unsigned spins = 0; locked.exchange(true, std::memory_order_acquire); ++spins) {
        while (locked.load(std::memory_order_relaxed)) {
          if (++spins > 64) std::this_thread::yield();
        }
      }
    }
    void unlock() const noexcept { locked.store(false, std::memory_order_release); }
  };
  shard& mine() noexcept { return shards_[pool_thread_number() % Shards]; }
  shard shards_[Shards];
};
#else
/// Without threads, nothing is shared: the plain pool (no concurrent policy exists there).
template <class T, std::size_t Shards = 8>
class sharded_pool : public node_pool<T> {};
#endif

/// N blocks inside the owning object. Construction touches nothing (slots are handed out in
/// order until each has been used once, then from a free list), so a large N costs no time at
/// start-up, and nothing here ever calls the heap. allocate() returns nullptr when all N are live.
template <class T, std::size_t N>
class static_slots {
 public:
  static constexpr std::size_t block = round_block(sizeof(T), alignof(T));

  static_slots() noexcept {}
  static_slots(const static_slots&) = delete;
  static_slots& operator=(const static_slots&) = delete;

  void* allocate() noexcept {
    void* p;
    if (free_ != nullptr) {
      p = free_;
      free_ = free_->next;
    } else if (used_ < N) {
      p = &slots_[used_++ * block];
    } else {
      return nullptr;
    }
    ++live_;
    return p;
  }
  void deallocate(void* p) noexcept {
    --live_;
    auto* f = static_cast<free_block*>(p);
    f->next = free_;
    free_ = f;
  }
  static void trim() noexcept {}
  pool_stats stats() const noexcept { return {live_, used_ - live_, 0}; }
  /// True when p is one of this store's slots (for tests).
  bool owns(const void* p) const noexcept {
    const auto* b = static_cast<const unsigned char*>(p);
    return b >= slots_ && b < slots_ + N * block;
  }

 private:
  struct free_block {
    free_block* next;
  };
  alignas(T) unsigned char slots_[N * block];
  free_block* free_ = nullptr;
  std::size_t used_ = 0;  ///< slots handed out at least once: slots_[0, used_)
  std::size_t live_ = 0;
};

}  // namespace rcmgr::detail
