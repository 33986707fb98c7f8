// Per-scope counters and the check-and-add primitive. Streams and connections are each packed
// into one 64-bit word (inbound in the low half, outbound in the high half) so that the
// per-direction limits and the total limit are checked against one consistent snapshot and
// updated by one compare-and-swap: two threads can never both pass the total limit.
#pragma once

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdint>
#include <type_traits>

#include "rcmgr/limits.hpp"
#include "rcmgr/resources.hpp"

namespace rcmgr::detail {

inline constexpr std::uint64_t half_mask = 0xffffffffu;
inline constexpr std::int64_t max_count = 0xffffffff;  ///< a packed half holds at most this many

constexpr std::uint64_t pack(std::int64_t in, std::int64_t out) noexcept {
  return std::uint64_t(in) | (std::uint64_t(out) << 32);
}
constexpr std::int64_t packed_in(std::uint64_t w) noexcept { return std::int64_t(w & half_mask); }
constexpr std::int64_t packed_out(std::uint64_t w) noexcept { return std::int64_t(w >> 32); }
constexpr std::uint64_t one(direction d) noexcept { return d == direction::inbound ? 1u : std::uint64_t{1} << 32; }

/// An amount to charge or release. `streams` and `conns` are packed like the counters.
struct amount {
  std::int64_t memory = 0;  ///< bytes, >= 0
  std::uint64_t streams = 0;
  std::uint64_t conns = 0;
  std::int64_t fd = 0;
  constexpr bool empty() const noexcept { return memory == 0 && streams == 0 && conns == 0 && fd == 0; }
};

/// Why a check failed; turned into an rcmgr::error by the caller, who knows the scope.
struct refusal {
  resource res = resource::memory;
  direction dir = direction::inbound;
  bool has_direction = false;
  bool total = false;
  std::int64_t current = 0, attempted = 0, limit_value = 0;
};

template <int I>
struct absent_cell {  // a resource the kind does not account: no storage, always zero
  static constexpr std::int64_t load() noexcept { return 0; }
};

template <resource_set Acc, class Policy>
struct counters {
  template <class T>
  using cell = typename Policy::template cell<T>;
  [[no_unique_address]] std::conditional_t<Acc.contains(resource::memory), cell<std::int64_t>, absent_cell<0>> memory;
  [[no_unique_address]] std::conditional_t<Acc.contains(resource::streams), cell<std::uint64_t>, absent_cell<1>> streams;
  [[no_unique_address]] std::conditional_t<Acc.contains(resource::conns), cell<std::uint64_t>, absent_cell<2>> conns;
  [[no_unique_address]] std::conditional_t<Acc.contains(resource::fd), cell<std::int64_t>, absent_cell<3>> fd;

  scope_stat stat() const noexcept {
    scope_stat s;
    s.memory = memory.load();
    const std::uint64_t sw = std::uint64_t(streams.load()), cw = std::uint64_t(conns.load());
    s.streams_inbound = packed_in(sw);
    s.streams_outbound = packed_out(sw);
    s.conns_inbound = packed_in(cw);
    s.conns_outbound = packed_out(cw);
    s.fd = fd.load();
    return s;
  }
  amount snapshot() const noexcept {
    return {std::int64_t(memory.load()), std::uint64_t(streams.load()), std::uint64_t(conns.load()), std::int64_t(fd.load())};
  }
  bool empty() const noexcept { return snapshot().empty(); }
  void clear() noexcept {
    if constexpr (Acc.contains(resource::memory)) memory.store(0);
    if constexpr (Acc.contains(resource::streams)) streams.store(0);
    if constexpr (Acc.contains(resource::conns)) conns.store(0);
    if constexpr (Acc.contains(resource::fd)) fd.store(0);
  }
};

// ---- per-thread memory caches of shared scopes (the thread_cached policy) ----------------------

/// The calling thread's slot number: threads are numbered in the order they first reserve
/// through a cached scope, and a scope with S slots gives thread t slot t % S.
inline unsigned thread_slot() noexcept {
  static std::atomic<unsigned> next{0};
  thread_local const unsigned mine = next.fetch_add(1, std::memory_order_relaxed);
  return mine;
}

/// Bytes a shared scope has charged to its own memory counter ahead of use, one slot per thread
/// (each on its own cache line, so two threads reserving through the same scope do not contend).
/// The scope's memory counter is always the bytes really in use plus what the slots hold, so it
/// never admits more than its limit; the cost is that up to about 2 * Chunk bytes per slot count
/// as used while nobody uses them. A refusal first returns every slot's bytes to the counter and
/// tries again, so a reservation is refused early only while other threads refill concurrently.
/// Slot values are never negative: takers use compare-and-swap, never a blind subtract.
template <std::int64_t Chunk, unsigned Slots>
struct memory_cache {
  static_assert(Chunk > 0 && Slots > 0, "thread_cached<Chunk, Slots>: both must be positive");
  struct alignas(64) slot {
    std::atomic<std::int64_t> bytes{0};  ///< charged to the counter, not in use; >= 0
  };
  std::array<slot, Slots> slots{};

  std::atomic<std::int64_t>& mine() noexcept { return slots[thread_slot() % Slots].bytes; }

  /// Bytes held by all slots now (a sum of relaxed loads: exact only when nothing is in flight).
  std::int64_t held() const noexcept {
    std::int64_t h = 0;
    for (const auto& s : slots) h += s.bytes.load(std::memory_order_relaxed);
    return h;
  }
  /// Returns every slot's bytes to the counter.
  template <class Cell>
  void drain(Cell& counter) noexcept {
    for (auto& s : slots)
      if (const std::int64_t x = s.bytes.exchange(0, std::memory_order_relaxed); x > 0) counter.fetch_sub(x);
  }
  /// Serves `size` bytes from this thread's slot if it holds that many.
  bool take_local(std::int64_t size) noexcept {
    auto& b = mine();
    std::int64_t cur = b.load(std::memory_order_relaxed);
    while (cur >= size)
      if (b.compare_exchange_weak(cur, cur - size, std::memory_order_relaxed, std::memory_order_relaxed)) return true;
    return false;
  }
  /// Puts released bytes in this thread's slot; beyond 2 * Chunk, gives all but Chunk back.
  template <class Cell>
  void give(Cell& counter, std::int64_t size) noexcept {
    auto& b = mine();
    std::int64_t cur = b.fetch_add(size, std::memory_order_relaxed) + size;
    while (cur > 2 * Chunk) {
      if (b.compare_exchange_weak(cur, Chunk, std::memory_order_relaxed, std::memory_order_relaxed)) {
        counter.fetch_sub(cur - Chunk);
        return;
      }
    }
  }
  /// Puts freshly charged bytes in this thread's slot.
  void stock(std::int64_t size) noexcept { mine().fetch_add(size, std::memory_order_relaxed); }
};

template <class Cell>
inline bool add_memory(Cell& c, std::int64_t size, std::int64_t threshold, refusal& why) noexcept;

/// The counters of a shared scope under the thread_cached policy: memory goes through a
/// per-thread cache (see memory_cache); streams, connections and descriptors stay exact.
/// stat() reports memory without what the slots hold.
template <resource_set Acc, class Policy, std::int64_t Chunk, unsigned Slots>
struct cached_counters : counters<Acc, Policy> {
  static_assert(Acc.contains(resource::memory), "internal: only scopes that account memory get a memory cache");
  static constexpr bool memory_cached = true;
  memory_cache<Chunk, Slots> cache;

  scope_stat stat() const noexcept {
    scope_stat s = counters<Acc, Policy>::stat();
    s.memory = std::max<std::int64_t>(0, s.memory - cache.held());
    return s;
  }
  /// Charges `size` bytes, checked against `threshold` (the limit at priority `prio`).
  bool take(std::int64_t size, std::int64_t threshold, std::uint8_t prio, refusal& why) noexcept {
    if (prio == priority::always) {
      // Only reservations at priority always are served from the cache: the cached bytes were
      // admitted against the whole limit, not against a lower priority's share of it.
      // Stock is served only while the counter (in use plus stocked) is within the limit. After
      // the limit is lowered below it, bytes released into the stock must not be handed out
      // again: the reservation falls through to the checked path, which drains and refuses.
      if (this->memory.load() <= threshold && cache.take_local(size)) return true;
      refusal ignored;
      if (size <= std::numeric_limits<std::int64_t>::max() - Chunk &&
          add_memory(this->memory, size + Chunk, threshold, ignored)) {
        cache.stock(Chunk);
        return true;
      }
    }
    if (add_memory(this->memory, size, threshold, why)) return true;
    cache.drain(this->memory);
    return add_memory(this->memory, size, threshold, why);
  }
  void give(std::int64_t size) noexcept { cache.give(this->memory, size); }
};

template <class C>
concept memory_cached_counters = C::memory_cached;

/// Releases `size` bytes of memory from one scope's counters (through its cache if it has one).
template <class Counters>
inline void release_memory_bytes(Counters& c, std::int64_t size) noexcept {
  if constexpr (memory_cached_counters<Counters>) c.give(size);
  else c.memory.fetch_sub(size);
}

// ---- the check-and-add primitives --------------------------------------------------------------

template <class Cell>
inline bool add_memory(Cell& c, std::int64_t size, std::int64_t threshold, refusal& why) noexcept {
  std::int64_t cur = c.load();
  do {
    // threshold >= 0 and cur >= 0, so threshold - cur cannot overflow; neither can cur + size.
    if (size > threshold - cur) {
      why.res = resource::memory;
      why.current = cur;
      why.attempted = size;
      return false;
    }
  } while (!c.compare_exchange(cur, cur + size));
  return true;
}

template <class Cell>
inline bool add_counts(Cell& c, std::uint64_t add, std::int64_t lim_in, std::int64_t lim_out, std::int64_t lim_total,
                       resource res, refusal& why) noexcept {
  const std::int64_t ain = packed_in(add), aout = packed_out(add);
  lim_in = std::min(lim_in, max_count);
  lim_out = std::min(lim_out, max_count);
  std::uint64_t w = c.load();
  do {
    const std::int64_t in = packed_in(w), out = packed_out(w);
    why.res = res;
    if (ain > 0 && in + ain > lim_in) {
      why = {res, direction::inbound, true, false, in, ain, lim_in};
      return false;
    }
    if (aout > 0 && out + aout > lim_out) {
      why = {res, direction::outbound, true, false, out, aout, lim_out};
      return false;
    }
    if (in + ain + out + aout > lim_total) {
      why = {res, ain > 0 ? direction::inbound : direction::outbound, true, true, in + out, ain + aout, lim_total};
      return false;
    }
  } while (!c.compare_exchange(w, w + add));
  return true;
}

template <class Cell>
inline bool add_fd(Cell& c, std::int64_t n, std::int64_t lim, refusal& why) noexcept {
  std::int64_t cur = c.load();
  do {
    if (n > lim - cur) {
      why = {resource::fd, direction::inbound, false, false, cur, n, lim};
      return false;
    }
  } while (!c.compare_exchange(cur, cur + n));
  return true;
}

/// Charges `a` (restricted to the resources in R) to one scope, all or nothing. `a` is taken by
/// value: a reference might alias the counters being written, and the compiler then re-read and
/// re-tested it for every scope charged.
template <resource_set R, class Counters, class Limit>
inline bool try_add(Counters& c, const Limit& lim, const amount a, std::uint8_t prio, refusal& why) noexcept {
  constexpr bool mem = R.contains(resource::memory), str = R.contains(resource::streams),
                 con = R.contains(resource::conns), fds = R.contains(resource::fd);
  if constexpr (mem) {
    if (a.memory != 0) {
      const std::int64_t l = lim.memory_limit();
      // memory_threshold(l, always) == l; most reservations are at priority always, and the
      // shortcut saves two multiplications per scope charged.
      const std::int64_t threshold = prio == priority::always ? l : memory_threshold(l, prio);
      bool ok;
      if constexpr (memory_cached_counters<Counters>) ok = c.take(a.memory, threshold, prio, why);
      else ok = add_memory(c.memory, a.memory, threshold, why);
      if (!ok) {
        why.limit_value = l;
        return false;
      }
    }
  }
  if constexpr (str) {
    if (a.streams != 0 && !add_counts(c.streams, a.streams, lim.stream_limit(direction::inbound),
                                      lim.stream_limit(direction::outbound), lim.stream_total_limit(), resource::streams, why)) {
      if constexpr (mem) if (a.memory != 0) release_memory_bytes(c, a.memory);
      return false;
    }
  }
  if constexpr (con) {
    if (a.conns != 0 && !add_counts(c.conns, a.conns, lim.conn_limit(direction::inbound),
                                    lim.conn_limit(direction::outbound), lim.conn_total_limit(), resource::conns, why)) {
      if constexpr (str) if (a.streams != 0) c.streams.fetch_sub(a.streams);
      if constexpr (mem) if (a.memory != 0) release_memory_bytes(c, a.memory);
      return false;
    }
  }
  if constexpr (fds) {
    if (a.fd != 0 && !add_fd(c.fd, a.fd, lim.fd_limit(), why)) {
      if constexpr (con) if (a.conns != 0) c.conns.fetch_sub(a.conns);
      if constexpr (str) if (a.streams != 0) c.streams.fetch_sub(a.streams);
      if constexpr (mem) if (a.memory != 0) release_memory_bytes(c, a.memory);
      return false;
    }
  }
  return true;
}

/// Adds without checking (used for spans, which are bounded by their owner's check).
template <resource_set R, class Counters>
inline void add_unchecked(Counters& c, const amount& a) noexcept {
  if constexpr (R.contains(resource::memory)) if (a.memory != 0) c.memory.fetch_add(a.memory);
  if constexpr (R.contains(resource::streams)) if (a.streams != 0) c.streams.fetch_add(a.streams);
  if constexpr (R.contains(resource::conns)) if (a.conns != 0) c.conns.fetch_add(a.conns);
  if constexpr (R.contains(resource::fd)) if (a.fd != 0) c.fd.fetch_add(a.fd);
}

/// Releases `a` from one scope. Callers only release what they charged, so no counter can go
/// below zero; the entry points clamp user-supplied sizes before they get here.
template <resource_set R, class Counters>
inline void sub(Counters& c, const amount a) noexcept {
  if constexpr (R.contains(resource::memory)) if (a.memory != 0) release_memory_bytes(c, a.memory);
  if constexpr (R.contains(resource::streams)) if (a.streams != 0) c.streams.fetch_sub(a.streams);
  if constexpr (R.contains(resource::conns)) if (a.conns != 0) c.conns.fetch_sub(a.conns);
  if constexpr (R.contains(resource::fd)) if (a.fd != 0) c.fd.fetch_sub(a.fd);
}

}  // namespace rcmgr::detail
