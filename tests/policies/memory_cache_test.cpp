// The thread_cached policy: per-thread memory stock on the shared scopes (system, transient,
// services, protocols). It must decide every reservation as thread_safe does when one thread
// runs, report the same usage at rest, never let a scope hold more than its limit under
// concurrency, and really keep stock (else the first two facts prove nothing).
#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "rcmgr/rcmgr.hpp"

namespace {
using rcmgr::direction;
using rcmgr::peer_id;
namespace lp = rcmgr::libp2p;

constexpr std::int64_t kib = 1024;
using cached = rcmgr::thread_cached<4 * kib, 2>;

/// Tight memory limits on the shared scopes, loose ones below them.
lp::limits tight_limits() {
  lp::limits ls;  // everything unlimited
  rcmgr::limit sys;
  sys.memory = 40 * kib;
  ls.set<lp::system_scope>(sys);
  rcmgr::limit proto;
  proto.memory = 24 * kib;
  ls.set<lp::protocol_scope>(proto);
  rcmgr::limit svc;
  svc.memory = 30 * kib;
  ls.set<lp::service_scope>(svc);
  return ls;
}

template <class M>
struct node_setup {
  M mgr{tight_limits()};
  std::vector<typename M::connection> conns;
  std::vector<typename M::stream> streams;
  explicit node_setup(int n) {
    for (int i = 0; i < n; ++i) {
      const peer_id p("peer-" + std::to_string(i));
      auto c = mgr.open_connection(direction::inbound, true);
      REQUIRE(c);
      REQUIRE(c->set_peer(p));
      conns.push_back(std::move(*c));
      auto s = mgr.open_stream(p, direction::inbound);
      REQUIRE(s);
      // streams 0 and 1 share a protocol and a service; stream 2 has the protocol only
      REQUIRE(s->set_protocol("/echo/1.0.0"));
      if (i != 2) REQUIRE(s->set_service("echo"));
      streams.push_back(std::move(*s));
    }
  }
  std::vector<rcmgr::scope_stat> shared_stats() {
    std::vector<rcmgr::scope_stat> out{mgr.template stat<lp::system_scope>(), mgr.template stat<lp::transient_scope>()};
    mgr.view_protocol("/echo/1.0.0", [&](auto& r) { out.push_back(r.stat()); });
    mgr.view_service("echo", [&](auto& r) { out.push_back(r.stat()); });
    return out;
  }
};

/// The raw memory counter of the system scope: bytes in use plus the stock.
template <class M>
std::int64_t system_counter(M& mgr) {
  return mgr.view_system([](auto& r) { return r.rcmgr_node()->rc.memory.load(); });
}

}  // namespace

TEST_CASE("thread_cached is a concurrency policy of the thread-safe kind") {
  using set = rcmgr::detail::policy_set<cached>;
  STATIC_REQUIRE(set::concurrent);
  STATIC_REQUIRE(set::memory_cache_chunk == 4 * kib);
  STATIC_REQUIRE(set::memory_cache_slots == 2);
  STATIC_REQUIRE(rcmgr::detail::policy_set<rcmgr::thread_safe>::memory_cache_chunk == 0);
}

TEST_CASE("thread_cached keeps stock on shared scopes and leaves per-peer scopes exact") {
  node_setup<rcmgr::resource_manager<cached>> n(1);
  auto& s = n.streams[0];
  REQUIRE(s.reserve_memory(1 * kib));
  // system took the reservation plus one chunk of stock; stat() shows only what is in use
  CHECK(system_counter(n.mgr) == 1 * kib + 4 * kib);
  CHECK(n.mgr.template stat<lp::system_scope>().memory == 1 * kib);
  // the peer scope is collected-when-idle: no cache, its counter is exact
  CHECK(s.peer_scope().rcmgr_node()->rc.memory.load() == 1 * kib);
  // the next reservations come from stock: the counter does not move
  REQUIRE(s.reserve_memory(2 * kib));
  CHECK(system_counter(n.mgr) == 5 * kib);
  CHECK(n.mgr.template stat<lp::system_scope>().memory == 3 * kib);
  // releases go back to stock; beyond two chunks, all but one chunk goes back to the counter
  s.release_memory(3 * kib);
  CHECK(n.mgr.template stat<lp::system_scope>().memory == 0);
  CHECK(system_counter(n.mgr) == 5 * kib);
  REQUIRE(s.reserve_memory(9 * kib));
  s.release_memory(9 * kib);
  CHECK(system_counter(n.mgr) <= 8 * kib);
  CHECK(n.mgr.template stat<lp::system_scope>().memory == 0);
}

TEST_CASE("one thread: thread_cached decides every reservation as thread_safe does") {
  // The same random script on both managers: reservations at every priority, releases, and
  // streams ending, against limits the script runs into often.
  node_setup<rcmgr::resource_manager<rcmgr::thread_safe>> exact(3);
  node_setup<rcmgr::resource_manager<cached>> cache(3);
  std::mt19937 rng(20261122);
  std::vector<std::vector<std::int64_t>> held(3);
  const std::uint8_t prios[] = {rcmgr::priority::low, rcmgr::priority::medium, rcmgr::priority::high,
                                rcmgr::priority::always, rcmgr::priority::always};
  int refused = 0, admitted = 0;
  for (int step = 0; step < 20000; ++step) {
    const std::size_t i = rng() % 3;
    const int what = int(rng() % 10);
    if (what < 6) {
      const std::int64_t size = std::int64_t(1 + rng() % (6 * kib));
      const std::uint8_t prio = prios[rng() % 5];
      auto a = exact.streams[i].reserve_memory(size, prio);
      auto b = cache.streams[i].reserve_memory(size, prio);
      REQUIRE(a.has_value() == b.has_value());
      if (a) {
        held[i].push_back(size);
        ++admitted;
      } else {
        ++refused;
        CHECK(a.error().scope.kind == b.error().scope.kind);
        CHECK(a.error().current == b.error().current);
        CHECK(a.error().limit_value == b.error().limit_value);
      }
    } else if (!held[i].empty()) {
      const std::size_t k = rng() % held[i].size();
      exact.streams[i].release_memory(held[i][k]);
      cache.streams[i].release_memory(held[i][k]);
      held[i].erase(held[i].begin() + std::ptrdiff_t(k));
    }
    REQUIRE(exact.shared_stats() == cache.shared_stats());
  }
  CHECK(refused > 1000);  // the limits were really reached
  CHECK(admitted > 1000);
  for (std::size_t i = 0; i < 3; ++i) {
    exact.streams[i].done();
    cache.streams[i].done();
  }
  CHECK(exact.shared_stats() == cache.shared_stats());
  CHECK(cache.mgr.template stat<lp::system_scope>().memory == 0);
}

TEST_CASE("several threads: a cached scope never holds more than its limit, and ends at zero") {
  constexpr int threads = 4;
  constexpr std::int64_t limit = 64 * kib;
  lp::limits ls;
  rcmgr::limit sys;
  sys.memory = limit;
  ls.set<lp::system_scope>(sys);
  // chunk 8 KiB with 2 slots for 4 threads: threads share slots, so slots see contention too
  rcmgr::resource_manager<rcmgr::thread_cached<8 * kib, 2>> mgr(ls);

  std::atomic<std::int64_t> outstanding{0};  // bytes the threads hold by their own count
  std::atomic<std::int64_t> worst{0};
  std::atomic<std::int64_t> worst_counter{0};
  std::atomic<int> refusals{0};
  std::atomic<bool> stop{false};
  auto worker = [&](int t) {
    const peer_id p("peer-" + std::to_string(t));
    auto c = mgr.open_connection(direction::inbound, true);
    auto s = mgr.open_stream(p, direction::inbound);
    if (!c || !s || !c->set_peer(p) || !s->set_protocol("/p") || !s->set_service("svc")) return;
    std::mt19937 rng(unsigned(t) + 1);
    std::vector<std::int64_t> mine;
    for (int step = 0; step < 30000; ++step) {
      if (rng() % 2 == 0) {
        const std::int64_t size = std::int64_t(1 + rng() % (3 * kib));
        if (s->reserve_memory(size)) {
          mine.push_back(size);
          const std::int64_t now = outstanding.fetch_add(size) + size;
          std::int64_t w = worst.load();
          while (now > w && !worst.compare_exchange_weak(w, now)) {
          }
        } else {
          refusals.fetch_add(1);
        }
      } else if (!mine.empty()) {
        outstanding.fetch_sub(mine.back());
        s->release_memory(mine.back());
        mine.pop_back();
      }
    }
    for (auto b : mine) {
      outstanding.fetch_sub(b);
      s->release_memory(b);
    }
  };
  std::thread watcher([&] {
    while (!stop.load()) {
      const std::int64_t v = system_counter(mgr);
      if (v > worst_counter.load()) worst_counter.store(v);
    }
  });
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) pool.emplace_back(worker, t);
  for (auto& th : pool) th.join();
  stop.store(true);
  watcher.join();

  // what the threads held together never exceeded the limit, nor did the counter with stock
  CHECK(worst.load() <= limit);
  CHECK(worst_counter.load() <= limit);
  CHECK(refusals.load() > 0);  // the limit was reached
  // every stream ended with its handle: nothing is in use, only stock remains
  CHECK(mgr.template stat<lp::system_scope>().memory == 0);
  CHECK(mgr.template stat<lp::system_scope>().streams() == 0);
  mgr.view_protocol("/p", [](auto& r) { CHECK(r.stat().memory == 0); });
  mgr.view_service("svc", [](auto& r) { CHECK(r.stat().memory == 0); });
}
