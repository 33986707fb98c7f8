// rcmgr::asio::capacity_queue: wait for memory on a scope from a Boost.Asio event loop.
//
//   rcmgr::asio::capacity_queue q(io.get_executor(), stream, mgr.observer());
//   q.async_reserve(64 << 10, rcmgr::priority::low, std::chrono::seconds(2),
//                   [](std::error_code ec, rcmgr::memory_reservation r) { ... });
//
// A request that fits is granted at once. One that is refused by a limit waits in the queue, in
// FIFO order (a later request never overtakes an earlier one on the same queue), until a release
// or a scope's end signalled by rcmgr::capacity_signal makes it fit, or its deadline passes
// (std::errc::timed_out), or cancel() is called (std::errc::operation_canceled). A request that
// can never succeed (the scope ended, a negative size) completes at once with the rcmgr error's
// std::error_code. The handler receives the memory_reservation, which gives the bytes back when
// it goes away.
//
// The manager needs rcmgr::capacity_signal as (one of) its observers, and must outlive the
// queue and every reservation it hands out. The queue's operations and
// handlers run on its executor, which must not run them concurrently (an io_context run by one
// thread, or a strand); releases may happen on any thread. Link rcmgr::asio (header-only: Boost
// headers and Threads).
#pragma once

#include <boost/asio/async_result.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <list>
#include <memory>
#include <system_error>
#include <utility>

#include "rcmgr/capacity_signal.hpp"
#include "rcmgr/errors.hpp"
#include "rcmgr/memory_reservation.hpp"
#include "rcmgr/resources.hpp"

namespace rcmgr::asio {

namespace detail {
namespace net = ::boost::asio;

/// A waiting request; the handler type is erased so that one queue holds any handlers.
struct waiter {
  std::int64_t bytes;
  std::uint8_t prio;
  net::steady_timer timer;  ///< the deadline
  bool completed = false;
  waiter(const net::any_io_executor& ex, std::int64_t b, std::uint8_t p) : bytes(b), prio(p), timer(ex) {}
  virtual ~waiter() = default;
  /// Posts the handler with (ec, reservation) to its associated executor.
  virtual void complete(std::error_code ec, memory_reservation r) = 0;
};

template <class Handler>
struct waiter_with : waiter {
  Handler handler;
  net::executor_work_guard<net::associated_executor_t<Handler, net::any_io_executor>> work;
  waiter_with(const net::any_io_executor& ex, std::int64_t b, std::uint8_t p, Handler&& h)
      : waiter(ex, b, p), handler(std::move(h)), work(net::get_associated_executor(handler, ex)) {}
  void complete(std::error_code ec, memory_reservation r) override {
    auto ex = work.get_executor();
    net::post(ex, [h = std::move(handler), ec, r = std::move(r)]() mutable { std::move(h)(ec, std::move(r)); });
    work.reset();
  }
};

/// The queue's state, shared with its pending timers and posted retries so that it outlives the
/// queue object while they are in flight.
struct queue_state : std::enable_shared_from_this<queue_state> {
  net::any_io_executor ex;
  memory_reservation anchor;  ///< bound to the scope, 0 bytes: how requests reach the scope
  capacity_signal* signal;
  capacity_signal::subscriber sub{};
  std::list<std::shared_ptr<waiter>> fifo;
  bool subscribed = false;
  std::atomic<bool> retry_posted{false};
  std::uint64_t granted_after_wait = 0;  ///< requests that waited and were then granted

  queue_state(net::any_io_executor e, memory_reservation a, capacity_signal& s)
      : ex(std::move(e)), anchor(std::move(a)), signal(&s) {
    sub.wake = &wake;
    sub.ctx = this;
  }
  ~queue_state() { unsubscribe(); }

  /// Called by the signal on a releasing thread, under its lock: post one retry.
  static void wake(void* ctx) noexcept {
    auto* self = static_cast<queue_state*>(ctx);
    if (self->retry_posted.exchange(true, std::memory_order_acq_rel)) return;
    // The state's memory is valid here: it unsubscribes (taking the signal's lock) before it is
    // freed. If it is already being destroyed there is nothing to retry. The posted retry keeps
    // it alive from here on.
    auto keep = self->weak_from_this().lock();
    if (!keep) return;
#if defined(__cpp_exceptions)
    try {
      net::post(self->ex, [s = std::move(keep)] { s->on_retry(); });
    } catch (...) {
      self->retry_posted.store(false);  // out of memory: the next release tries again
    }
#else
    net::post(self->ex, [s = std::move(keep)] { s->on_retry(); });
#endif
  }
  void on_retry() {
    retry_posted.store(false, std::memory_order_release);
    drain();
  }

  void subscribe() {
    if (subscribed) return;
    signal->subscribe(&sub);
    subscribed = true;
  }
  void unsubscribe() noexcept {
    if (!subscribed) return;
    signal->unsubscribe(&sub);
    subscribed = false;
  }

  /// Grants waiters from the head while they fit; stops at the first that does not.
  void drain() {
    while (!fifo.empty()) {
      auto w = fifo.front();
      memory_reservation r = anchor.split(0);
      auto g = r.grow(w->bytes, w->prio);
      if (!g && g.error().code == errc::limit_exceeded) break;
      fifo.pop_front();
      finish(*w, g ? std::error_code{} : g.error().error_code(), std::move(r));
      if (g) ++granted_after_wait;
    }
    if (fifo.empty()) unsubscribe();
  }
  void finish(waiter& w, std::error_code ec, memory_reservation r) {
    w.completed = true;
    w.timer.cancel();
    w.complete(ec, std::move(r));
  }
  void expire(const std::shared_ptr<waiter>& w) {
    if (w->completed) return;
    const bool was_head = !fifo.empty() && fifo.front() == w;
    fifo.remove(w);
    finish(*w, std::make_error_code(std::errc::timed_out), memory_reservation{});
    // A large request at the head may have held back smaller ones that fit now.
    if (was_head) drain();
    if (fifo.empty()) unsubscribe();
  }
  void cancel_all() {
    auto all = std::move(fifo);
    fifo.clear();
    unsubscribe();
    for (auto& w : all) finish(*w, std::make_error_code(std::errc::operation_canceled), memory_reservation{});
  }
};
}  // namespace detail

/// A FIFO of requests for memory on one scope, granted as capacity is freed.
class capacity_queue {
  using executor_type_ = ::boost::asio::any_io_executor;

 public:
  using executor_type = executor_type_;

  /// Waits on `scope` (a handle, span or reference; it may be moved afterwards), woken by
  /// `signal` (the manager's capacity_signal observer).
  template <class Executor, reservable_scope S>
  capacity_queue(const Executor& ex, const S& scope, capacity_signal& signal)
      : st_(std::make_shared<detail::queue_state>(executor_type(ex), memory_reservation(scope), signal)) {}
  capacity_queue(const capacity_queue&) = delete;
  capacity_queue& operator=(const capacity_queue&) = delete;
  /// Cancels what still waits (handlers get std::errc::operation_canceled).
  ~capacity_queue() {
    if (st_) st_->cancel_all();
  }

  /// Asks for `bytes` at priority `prio`, waiting at most `timeout`. Completion signature:
  /// void(std::error_code, rcmgr::memory_reservation). Call it from the queue's executor.
  template <class CompletionToken>
  auto async_reserve(std::int64_t bytes, std::uint8_t prio, std::chrono::steady_clock::duration timeout, CompletionToken&& token) {
    return ::boost::asio::async_initiate<CompletionToken, void(std::error_code, memory_reservation)>(
        [this](auto handler, std::int64_t b, std::uint8_t p, std::chrono::steady_clock::duration t) {
          start(std::move(handler), b, p, t);
        },
        token, bytes, prio, timeout);
  }

  /// Completes every waiting request with std::errc::operation_canceled.
  void cancel() { st_->cancel_all(); }
  /// Requests waiting now.
  std::size_t waiting() const noexcept { return st_->fifo.size(); }
  /// Requests that had to wait and were granted later.
  std::uint64_t granted_after_wait() const noexcept { return st_->granted_after_wait; }
  executor_type get_executor() const noexcept { return st_->ex; }

 private:
  template <class Handler>
  void start(Handler&& handler, std::int64_t bytes, std::uint8_t prio, std::chrono::steady_clock::duration timeout) {
    auto& s = *st_;
    auto w = std::make_shared<detail::waiter_with<std::decay_t<Handler>>>(s.ex, bytes, prio, std::forward<Handler>(handler));
    if (s.fifo.empty()) {
      memory_reservation r = s.anchor.split(0);
      auto g = r.grow(bytes, prio);
      if (g || g.error().code != errc::limit_exceeded) {
        s.finish(*w, g ? std::error_code{} : g.error().error_code(), std::move(r));
        return;
      }
    }
    s.fifo.push_back(w);
    w->timer.expires_after(timeout);
    w->timer.async_wait([st = st_, w](const ::boost::system::error_code& ec) {
      if (ec != ::boost::asio::error::operation_aborted) st->expire(w);
    });
    // Register, then retry: a release between the refusal above and the registration found no
    // waiter to wake, so look at the counters once more (see capacity_signal).
    s.subscribe();
    s.drain();
  }

  std::shared_ptr<detail::queue_state> st_;
};

}  // namespace rcmgr::asio
