// rcmgr::asio::capacity_queue and rcmgr::capacity_signal: waiting for memory from an event loop.
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include <atomic>
#include <functional>
#include <chrono>
#include <random>
#include <system_error>
#include <thread>
#include <vector>

#include "core/support.hpp"
#include "rcmgr/asio/capacity_queue.hpp"
#include "rcmgr/capacity_signal.hpp"
#include "rcmgr/memory_reservation.hpp"

using namespace rt;
using rcmgr::memory_reservation;
using namespace std::chrono_literals;
namespace net = boost::asio;

using waiting_manager = rcmgr::resource_manager<rcmgr::thread_safe, rcmgr::observed_by<rcmgr::capacity_signal>>;

namespace {
/// What a completion delivered.
struct outcome {
  std::error_code ec;
  memory_reservation r;
  int order = -1;
};

/// Where a handler records its outcome (std::optional would do, but g++ -O2 then warns about
/// the reservation inside it).
struct outcome_slot {
  bool has = false;
  outcome v;
  explicit operator bool() const noexcept { return has; }
  outcome* operator->() noexcept { return &v; }
  void reset() {
    has = false;
    v = outcome{};
  }
};

/// A handler recording into `slot` and the completion order.
auto record(outcome_slot& slot, int& counter) {
  return [&slot, &counter](std::error_code ec, memory_reservation r) {
    slot.v = outcome{ec, std::move(r), counter++};
    slot.has = true;
  };
}

lp::limits stream_memory(std::int64_t bytes) {
  auto limits = unlimited_limits();
  limits.set<lp::stream_scope>(memory_only(bytes));
  return limits;
}

void run_ready(net::io_context& io) {
  io.restart();
  io.poll();
}
}  // namespace

TEST_CASE("a request that fits is granted at once", "[asio]") {
  waiting_manager mgr{stream_memory(1000)};
  net::io_context io;
  auto s = take(mgr.open_stream(peer_a, direction::inbound));
  rcmgr::asio::capacity_queue q(io.get_executor(), s, mgr.observer());
  outcome_slot a;
  int n = 0;
  q.async_reserve(400, rcmgr::priority::always, 1s, record(a, n));
  run_ready(io);
  REQUIRE(a);
  CHECK_FALSE(a->ec);
  CHECK(a->r.size() == 400);
  CHECK(s.stat().memory == 400);
  CHECK(mgr.observer().waiting() == 0);
  a.reset();
  CHECK(s.stat().memory == 0);
}

TEST_CASE("waiters are granted in FIFO order as memory is released", "[asio]") {
  waiting_manager mgr{stream_memory(1000)};
  net::io_context io;
  auto s = take(mgr.open_stream(peer_a, direction::inbound));
  auto hold = take(memory_reservation::reserve(s, 1000));
  rcmgr::asio::capacity_queue q(io.get_executor(), s, mgr.observer());
  outcome_slot a, b, c;
  int n = 0;
  q.async_reserve(600, rcmgr::priority::always, 10s, record(a, n));
  q.async_reserve(300, rcmgr::priority::always, 10s, record(b, n));
  q.async_reserve(100, rcmgr::priority::always, 10s, record(c, n));
  run_ready(io);
  CHECK(q.waiting() == 3);
  CHECK(mgr.observer().waiting() == 1);

  hold.shrink(100);  // c would fit, but must not overtake a and b
  run_ready(io);
  CHECK_FALSE(a);
  CHECK_FALSE(c);
  hold.shrink(500);  // 600 free: a
  run_ready(io);
  REQUIRE(a);
  CHECK_FALSE(a->ec);
  CHECK_FALSE(b);
  hold.reset();  // 400 free: b, then c
  run_ready(io);
  REQUIRE(b);
  REQUIRE(c);
  CHECK(a->order == 0);
  CHECK(b->order == 1);
  CHECK(c->order == 2);
  CHECK(s.stat().memory == 1000);
  CHECK(q.waiting() == 0);
  CHECK(q.granted_after_wait() == 3);
  CHECK(mgr.observer().waiting() == 0);  // unsubscribed once empty: releases take no lock again
}

TEST_CASE("a deadline expires, and lets smaller requests behind it through", "[asio]") {
  waiting_manager mgr{stream_memory(1000)};
  net::io_context io;
  auto s = take(mgr.open_stream(peer_a, direction::inbound));
  auto hold = take(memory_reservation::reserve(s, 900));
  rcmgr::asio::capacity_queue q(io.get_executor(), s, mgr.observer());
  outcome_slot big, small;
  int n = 0;
  q.async_reserve(500, rcmgr::priority::always, 20ms, record(big, n));
  q.async_reserve(50, rcmgr::priority::always, 10s, record(small, n));  // fits now, but waits its turn
  run_ready(io);
  CHECK_FALSE(small);
  io.restart();
  for (int i = 0; i < 500 && !(big && small); ++i) io.run_for(10ms);  // bounded: at most ~5 s
  REQUIRE(big);
  CHECK(big->ec == std::errc::timed_out);
  CHECK_FALSE(big->r.bound());
  REQUIRE(small);
  CHECK_FALSE(small->ec);
  CHECK(s.stat().memory == 950);
}

TEST_CASE("ending another scope wakes a waiter held back by their shared peer", "[asio]") {
  auto limits = unlimited_limits();
  limits.set<lp::peer_scope>(memory_only(1000));
  waiting_manager mgr{limits};
  net::io_context io;
  auto s1 = take(mgr.open_stream(peer_a, direction::inbound));
  auto s2 = take(mgr.open_stream(peer_a, direction::inbound));
  RT_OK(s1.reserve_memory(800));
  rcmgr::asio::capacity_queue q(io.get_executor(), s2, mgr.observer());
  outcome_slot a;
  int n = 0;
  q.async_reserve(500, rcmgr::priority::always, 10s, record(a, n));
  run_ready(io);
  REQUIRE_FALSE(a);
  s1.done();  // releases the peer's 800 B: an "ended" event
  run_ready(io);
  REQUIRE(a);
  CHECK_FALSE(a->ec);
  CHECK(peer_stat(mgr, peer_a).memory == 500);
}

TEST_CASE("the waited scope ending completes its waiters with scope_closed", "[asio]") {
  waiting_manager mgr{stream_memory(100)};
  net::io_context io;
  auto s = take(mgr.open_stream(peer_a, direction::inbound));
  auto hold = take(memory_reservation::reserve(s, 100));
  rcmgr::asio::capacity_queue q(io.get_executor(), s, mgr.observer());
  outcome_slot a, b;
  int n = 0;
  q.async_reserve(50, rcmgr::priority::always, 10s, record(a, n));
  q.async_reserve(50, rcmgr::priority::always, 10s, record(b, n));
  run_ready(io);
  auto moved = std::move(s);  // the queue does not care where the handle lives
  moved.done();
  run_ready(io);
  REQUIRE(a);
  REQUIRE(b);
  CHECK(a->ec == rcmgr::errc::scope_closed);
  CHECK(b->ec == rcmgr::errc::scope_closed);
  CHECK(system_stat(mgr) == scope_stat{});
  // and a request on the ended scope completes at once
  outcome_slot c;
  q.async_reserve(1, rcmgr::priority::always, 10s, record(c, n));
  run_ready(io);
  REQUIRE(c);
  CHECK(c->ec == rcmgr::errc::scope_closed);
}

TEST_CASE("cancel() and the queue's destruction complete waiters with operation_canceled", "[asio]") {
  waiting_manager mgr{stream_memory(100)};
  net::io_context io;
  auto s = take(mgr.open_stream(peer_a, direction::inbound));
  auto hold = take(memory_reservation::reserve(s, 100));
  outcome_slot a, b;
  int n = 0;
  {
    rcmgr::asio::capacity_queue q(io.get_executor(), s, mgr.observer());
    q.async_reserve(10, rcmgr::priority::always, 10s, record(a, n));
    run_ready(io);
    q.cancel();
    run_ready(io);
    REQUIRE(a);
    CHECK(a->ec == std::errc::operation_canceled);
    q.async_reserve(10, rcmgr::priority::always, 10s, record(b, n));
  }
  run_ready(io);
  REQUIRE(b);
  CHECK(b->ec == std::errc::operation_canceled);
  CHECK(mgr.observer().waiting() == 0);
  hold.reset();  // nobody waits: nothing is woken
  CHECK(s.stat().memory == 0);
  io.restart();
  io.run_for(50ms);  // the cancelled timers drain; nothing else runs
}

TEST_CASE("releases take no lock and wake nobody when nobody waits", "[asio]") {
  waiting_manager mgr{unlimited_limits()};
  auto s = take(mgr.open_stream(peer_a, direction::inbound));
  for (int i = 0; i < 1000; ++i) {
    RT_OK(s.reserve_memory(10));
    s.release_memory(10);
  }
  s.done();
  CHECK(mgr.observer().wakes() == 0);
}

TEST_CASE("no wakeup is lost between a releasing thread and a waiting event loop", "[asio]") {
  // Each round: the releaser holds the whole limit; the loop asks for it and waits; the releaser
  // frees it at a random moment (before the loop's first try, between that try and its
  // registration, or after). Every request must be granted; a lost wakeup would leave it to its
  // 10 s deadline and fail the round.
  // The releaser's memory is on streams of its own, charged to the same peer as the waiter's:
  // each thread touches only its own streams' handles, as the threading rules require.
  constexpr int rounds = 2000;
  auto limits = unlimited_limits();
  limits.set<lp::peer_scope>(memory_only(1000));
  waiting_manager mgr{limits};
  auto s = take(mgr.open_stream(peer_a, direction::inbound));
  net::io_context io;
  rcmgr::asio::capacity_queue q(io.get_executor(), s, mgr.observer());
  std::vector<waiting_manager::stream> streams;
  std::vector<memory_reservation> holds(rounds);
  for (int r = 0; r < rounds; ++r) {
    streams.push_back(take(mgr.open_stream(peer_a, direction::outbound)));
    holds[std::size_t(r)] = memory_reservation(streams.back());
  }
  std::atomic<int> round{-1};
  std::atomic<bool> stop{false};
  std::thread releaser([&] {
    std::mt19937 rng(7);
    for (int r = 0; r < rounds && !stop.load(); ++r) {
      while (round.load() < r && !stop.load()) std::this_thread::yield();
      for (int spin = int(rng() % 2000); spin > 0; --spin) std::atomic_signal_fence(std::memory_order_seq_cst);
      holds[std::size_t(r)].reset();  // the release happens on this thread
    }
  });
  int granted = 0, failed = 0;
  for (int r = 0; r < rounds; ++r) {
    REQUIRE(holds[std::size_t(r)].grow(1000));
    outcome_slot got;
    int n = 0;
    round.store(r);  // the releaser may now free the memory at any point of async_reserve
    q.async_reserve(1000, rcmgr::priority::always, 10s, record(got, n));
    io.restart();
    while (!got) io.run_one_for(1s);  // ends by the request's own deadline at worst
    if (got->ec) ++failed;
    else ++granted;
    got.reset();  // gives the 1000 B back for the next round
  }
  stop.store(true);
  releaser.join();
  CHECK(granted == rounds);
  CHECK(failed == 0);
  CHECK(peer_stat(mgr, peer_a).memory == 0);
}

namespace {
/// capacity_signal plus a hook run on the waiting thread right after a refusal: the moment
/// between a waiter's failed try and its registration.
struct racing_signal : rcmgr::capacity_signal {
  std::function<void()> after_refusal;
  void on_event(const rcmgr::scope_event& e) noexcept {
    if (e.what == rcmgr::scope_event::type::reserve_refused && after_refusal) after_refusal();
    capacity_signal::on_event(e);
  }
};
}  // namespace

TEST_CASE("a release between a waiter's refusal and its registration is not lost", "[asio]") {
  // Deterministic: another thread releases while the waiting thread is stopped just after its
  // reservation was refused, before the queue registers with the signal. Only the queue's retry
  // after registering can see that release.
  using manager = rcmgr::resource_manager<rcmgr::thread_safe, rcmgr::observed_by<racing_signal>>;
  auto limits = unlimited_limits();
  limits.set<lp::peer_scope>(memory_only(1000));
  manager mgr{limits};
  auto s = take(mgr.open_stream(peer_a, direction::inbound));
  auto other = take(mgr.open_stream(peer_a, direction::outbound));
  auto hold = take(memory_reservation::reserve(other, 1000));
  net::io_context io;
  rcmgr::asio::capacity_queue q(io.get_executor(), s, mgr.observer());
  std::atomic<bool> go{false}, released{false};
  std::thread releaser([&] {
    while (!go.load()) std::this_thread::yield();
    hold.reset();  // nobody is registered yet: this release wakes nobody
    released.store(true);
  });
  bool once = false;
  mgr.observer().after_refusal = [&] {
    if (std::exchange(once, true)) return;
    go.store(true);
    while (!released.load()) std::this_thread::yield();
  };
  outcome_slot got;
  int n = 0;
  q.async_reserve(600, rcmgr::priority::always, 2s, record(got, n));
  releaser.join();
  io.restart();
  for (int i = 0; i < 300 && !got; ++i) io.run_one_for(10ms);  // bounded by the 2 s deadline
  REQUIRE(got);
  CHECK_FALSE(got->ec);
  CHECK(mgr.observer().wakes() == 0);  // granted by the retry, not by a wake
}

TEST_CASE("on the null manager every request is granted at once", "[asio]") {
  rcmgr::null_resource_manager mgr;
  rcmgr::capacity_signal signal;  // the null manager has no observer; nothing ever waits
  net::io_context io;
  auto s = take(mgr.open_stream(peer_a, direction::inbound));
  rcmgr::asio::capacity_queue q(io.get_executor(), s, signal);
  outcome_slot a;
  int n = 0;
  q.async_reserve(std::int64_t{1} << 40, rcmgr::priority::low, 1s, record(a, n));
  run_ready(io);
  REQUIRE(a);
  CHECK_FALSE(a->ec);
  CHECK(a->r.size() == std::int64_t{1} << 40);
  CHECK(signal.waiting() == 0);
}
