// rcmgr::capacity_signal: tells whoever waits for capacity that some may have been freed.
//
// An observer (use it as the policy `rcmgr::observed_by<rcmgr::capacity_signal>`, or list it
// among several observers where the manager composes them). It reacts to the events that free
// capacity -- memory released, a scope ended, a scope attached to its peer or protocol (which
// moves its usage out of transient) -- by waking its subscribers. A subscriber is a queue of
// waiters (rcmgr::asio::capacity_queue); it is registered only while it has waiters.
//
// The path of a release when nobody waits is one fence and one relaxed load of an atomic counter:
// no lock. The fence pairs with the one in subscribe(): a waiter first registers, then retries
// its reservation; a releaser first releases, then looks for waiters. With both fences, at least
// one of the two sees the other (the waiter sees the freed bytes, or the releaser sees the
// waiter), so a wakeup cannot be lost.
//
// Subscribers' wake() runs on the releasing thread with the signal's lock held: it must be short,
// must not block, and must not call into the manager (post the retry to an event loop instead).
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <vector>

#include "rcmgr/observer.hpp"

namespace rcmgr {

class capacity_signal {
 public:
  /// Something that waits for capacity. `wake(ctx)` is called when capacity may have been freed.
  struct subscriber {
    void (*wake)(void* ctx) noexcept = nullptr;
    void* ctx = nullptr;
  };

  capacity_signal() = default;
  capacity_signal(const capacity_signal&) = delete;
  capacity_signal& operator=(const capacity_signal&) = delete;

  /// The observer hook.
  void on_event(const scope_event& e) noexcept {
    using t = scope_event::type;
    if (e.what != t::released && e.what != t::ended && e.what != t::attached) return;
    std::atomic_thread_fence(std::memory_order_seq_cst);
    if (waiting_.load(std::memory_order_relaxed) == 0) return;
    wake_all();
  }

  /// Registers s (once). Afterwards, retry what you are waiting for: a release that happened
  /// before this call was not signalled to you.
  void subscribe(subscriber* s) {
    {
      std::lock_guard lk(mu_);
      subs_.push_back(s);
      waiting_.fetch_add(1, std::memory_order_relaxed);
    }
    std::atomic_thread_fence(std::memory_order_seq_cst);
  }
  /// Unregisters s; once this returns, s.wake is not running and will not be called.
  void unsubscribe(subscriber* s) noexcept {
    std::lock_guard lk(mu_);
    for (auto it = subs_.begin(); it != subs_.end(); ++it) {
      if (*it == s) {
        *it = subs_.back();
        subs_.pop_back();
        waiting_.fetch_sub(1, std::memory_order_relaxed);
        return;
      }
    }
  }
  /// Wakes every subscriber now (e.g. after raising a limit, which emits no event).
  void wake_all() noexcept {
    std::lock_guard lk(mu_);
    wakes_.fetch_add(1, std::memory_order_relaxed);
    for (subscriber* s : subs_) s->wake(s->ctx);
  }

  /// Subscribers registered now.
  std::uint32_t waiting() const noexcept { return waiting_.load(std::memory_order_relaxed); }
  /// How many times subscribers were woken (a measure of how often releases found waiters).
  std::uint64_t wakes() const noexcept { return wakes_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::uint32_t> waiting_{0};  ///< subs_.size(), readable without the lock
  std::atomic<std::uint64_t> wakes_{0};    ///< wake_all() calls
  std::mutex mu_;                          ///< guards subs_ and serialises wake() with unsubscribe()
  std::vector<subscriber*> subs_;
};

}  // namespace rcmgr
