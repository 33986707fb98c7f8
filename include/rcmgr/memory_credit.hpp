// rcmgr::memory_credit: reserve-ahead memory on one scope, for code that reserves and releases
// small amounts at a high rate (a stream's read buffers, say). It is opt-in and local to one
// handle or reference, like gRPC's MemoryAllocator: it reserves from the scope in chunks, serves
// small reservations from the bytes it holds without touching any counter, takes back what is
// released, and returns what it holds when it ends.
//
//   auto s = mgr.open_stream(peer, rcmgr::direction::inbound);
//   rcmgr::memory_credit credit(*s, 64 * 1024);   // chunks of 64 KiB
//   if (credit.reserve_memory(1024)) { ...; credit.release_memory(1024); }
//
// What it guarantees:
//  - No scope ever holds more than its limit: the credit's bytes are reserved on the scope (and
//    so on every scope it is charged to) through the scope's own checked path before they are
//    handed out.
//  - Decisions are those of the scope: a reservation the credit cannot serve from what it holds
//    first tries to take what it lacks plus one chunk; if that is refused, the credit returns
//    every spare byte to the scope and reserves exactly the requested size, so it is refused
//    exactly when the same reservation made directly on the scope would be, with the same error.
//    Only reservations at priority always are served from spare bytes (they were admitted
//    against the whole limit, not a lower priority's share); others go to the scope, after
//    the same return-and-retry on refusal.
//  - Releases: a release of at most what is in use through the credit keeps the bytes as spare
//    (beyond 2 * chunk spare, all but one chunk go back to the scope). Any other release
//    (more than is in use through the credit, zero, negative) returns the spare bytes first and
//    is then made on the scope as it is, so over-releases are clamped and reported exactly as
//    they would be without the credit.
//  - Ending the credit (end(), or its destructor) releases everything reserved through it, in
//    use and spare, from the scope. If the scope ended first, its end already released them.
//
// Usage: the scope's stat() (and every ancestor's) counts the spare bytes as used, because they
// are reserved there; credit.stat() is the scope's usage without them, which is what it would
// be had every reservation been made directly. After a limit is lowered below a scope's usage,
// the credit keeps serving the spare bytes it already holds (they are already counted, so the
// scope's usage does not grow), and takes no new ones.
//
// A credit is used by one thread at a time, like the handle it draws on, and must not outlive
// that handle or reference.
#pragma once

#include <cstdint>
#include <limits>
#include <utility>

#include "rcmgr/errors.hpp"
#include "rcmgr/resources.hpp"
#include "rcmgr/result.hpp"

namespace rcmgr {

/// Reserve-ahead memory on one scope: Scope is a handle or reference with reserve_memory,
/// release_memory and stat (a connection, a stream, a span, a view_* reference).
template <class Scope>
class memory_credit {
 public:
  /// Draws on `scope` in chunks of `chunk` bytes (> 0; 64 KiB if not).
  explicit memory_credit(Scope& scope, std::int64_t chunk = 64 * 1024) noexcept
      : scope_(&scope), chunk_(chunk > 0 ? chunk : 64 * 1024) {}
  memory_credit(memory_credit&& o) noexcept
      : scope_(std::exchange(o.scope_, nullptr)), chunk_(o.chunk_), in_use_(std::exchange(o.in_use_, 0)),
        spare_(std::exchange(o.spare_, 0)) {}
  memory_credit& operator=(memory_credit&& o) noexcept {
    if (this != &o) {
      end();
      scope_ = std::exchange(o.scope_, nullptr);
      chunk_ = o.chunk_;
      in_use_ = std::exchange(o.in_use_, 0);
      spare_ = std::exchange(o.spare_, 0);
    }
    return *this;
  }
  memory_credit(const memory_credit&) = delete;
  memory_credit& operator=(const memory_credit&) = delete;
  ~memory_credit() { end(); }

  /// Reserves `size` bytes: from the spare bytes when it can, else from the scope (see above).
  result<void> reserve_memory(std::int64_t size, std::uint8_t prio = priority::always) noexcept {
    if (prio == priority::always && size > 0 && size <= spare_ && !scope_ended()) {  // no atomics
      spare_ -= size;
      in_use_ += size;
      return {};
    }
    return reserve_slow(size, prio);
  }

  /// Releases `size` bytes reserved through this credit (see above for other releases).
  void release_memory(std::int64_t size) noexcept {
    if (size > 0 && size <= in_use_) {
      in_use_ -= size;
      spare_ += size;
      if (spare_ > 2 * chunk_) {
        scope_->release_memory(spare_ - chunk_);
        spare_ = chunk_;
      }
      return;
    }
    release_slow(size);
  }

  /// The scope's usage as it would be without the credit: its stat() less the spare bytes.
  scope_stat stat() const noexcept {
    scope_stat s = scope_ != nullptr ? scope_->stat() : scope_stat{};
    s.memory -= spare_;
    if (s.memory < 0) s.memory = 0;  // the scope ended and released everything
    return s;
  }
  /// Bytes reserved through this credit and not released.
  std::int64_t in_use() const noexcept { return in_use_; }
  /// Bytes reserved on the scope ahead of use (counted as used by the scope's stat()).
  std::int64_t spare() const noexcept { return spare_; }
  /// The chunk size, in bytes.
  std::int64_t chunk() const noexcept { return chunk_; }

  /// Returns the spare bytes to the scope now (e.g. before a long idle period).
  void give_back() noexcept {
    if (spare_ > 0 && scope_ != nullptr) scope_->release_memory(spare_);
    spare_ = 0;
  }
  /// Releases everything reserved through the credit (in use and spare) and detaches it from
  /// the scope; further reservations fail with errc::scope_closed. Idempotent.
  void end() noexcept {
    if (scope_ == nullptr) return;
    if (const std::int64_t all = in_use_ + spare_; all > 0) scope_->release_memory(all);
    in_use_ = spare_ = 0;
    scope_ = nullptr;
  }

 private:
  /// A handle that has ended refuses reservations; the credit must not serve them either.
  bool scope_ended() const noexcept {
    if constexpr (requires(const Scope& sc) { sc.is_done(); }) return scope_->is_done();
    else return false;
  }
  result<void> reserve_slow(std::int64_t size, std::uint8_t prio) noexcept {
    if (scope_ == nullptr) {
      error e;
      e.code = errc::scope_closed;
      e.detail = "memory credit ended";
      return e;
    }
    if (size <= 0) return scope_->reserve_memory(size, prio);  // the scope's answer (a no-op or an error)
    if (prio == priority::always && size - spare_ <= std::numeric_limits<std::int64_t>::max() - chunk_) {
      // Take what is missing plus one chunk in one reservation.
      const std::int64_t take = size - spare_ + chunk_;
      if (scope_->reserve_memory(take, prio)) {
        spare_ = spare_ + take - size;  // == chunk_
        in_use_ += size;
        return {};
      }
    } else {
      auto r = scope_->reserve_memory(size, prio);
      if (r) in_use_ += size;
      if (r || spare_ == 0) return r;
    }
    // Refused with spare bytes counted (or with a chunk on top): return them, try exactly.
    give_back();
    auto r = scope_->reserve_memory(size, prio);
    if (r) in_use_ += size;
    return r;
  }
  void release_slow(std::int64_t size) noexcept {
    if (scope_ == nullptr) return;
    give_back();
    scope_->release_memory(size);
    if (size > 0) in_use_ = size < in_use_ ? in_use_ - size : 0;
  }

  Scope* scope_ = nullptr;
  std::int64_t chunk_ = 64 * 1024;  ///< bytes taken beyond a reservation's need, > 0
  std::int64_t in_use_ = 0;         ///< reserved through the credit, not released; >= 0
  std::int64_t spare_ = 0;          ///< reserved on the scope ahead of use; >= 0
};

}  // namespace rcmgr
