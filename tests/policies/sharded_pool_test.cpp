// The node store of connections, streams and spans under the concurrent policies
// (detail::sharded_pool): blocks reused per thread, blocks freed on another thread than the one
// that took them, the bound on the free blocks kept, trim(), and a failed upstream allocation.
// Run under TSan by the sanitizer build like every test here.
#include <catch2/catch.hpp>

#include <atomic>
#include <cstdint>
#include <thread>
#include <vector>

#include "rcmgr/detail/node_pool.hpp"

namespace {
struct node72 {
  unsigned char bytes[72];
};
using pool_t = rcmgr::detail::sharded_pool<node72>;
constexpr std::size_t block = sizeof(node72);
}  // namespace

TEST_CASE("sharded_pool reuses a thread's freed block and keeps its counts", "[storage][sharded_pool]") {
  pool_t pool;
  void* a = pool.allocate();
  REQUIRE(a != nullptr);
  CHECK(pool.stats().live == 1);
  CHECK(pool.stats().heap_bytes == block);
  pool.deallocate(a);
  CHECK(pool.stats().live == 0);
  CHECK(pool.stats().cached == 1);
  void* b = pool.allocate();
  CHECK(b == a);  // the same thread gets its own freed block back
  pool.deallocate(b);
  pool.trim();
  CHECK(pool.stats().cached == 0);
  CHECK(pool.stats().heap_bytes == 0);
}

TEST_CASE("sharded_pool keeps at most live + spare free blocks per shard", "[storage][sharded_pool]") {
  pool_t pool;
  std::vector<void*> v;
  for (int i = 0; i < 1000; ++i) {
    void* p = pool.allocate();
    REQUIRE(p != nullptr);
    v.push_back(p);
  }
  CHECK(pool.stats().live == 1000);
  for (void* p : v) pool.deallocate(p);
  // one thread: one shard, so `spare` blocks stay and the burst went back to the heap
  CHECK(pool.stats().live == 0);
  CHECK(pool.stats().cached == pool_t::spare);
  pool.trim();
  CHECK(pool.stats().cached == 0);
}

TEST_CASE("sharded_pool: blocks freed on other threads keep the live count exact", "[storage][sharded_pool]") {
  pool_t pool;
  constexpr int n = 2000;
  std::vector<void*> v(n);
  std::thread producer([&] {
    for (auto& p : v) p = pool.allocate();
  });
  producer.join();
  for (void* p : v) REQUIRE(p != nullptr);
  CHECK(pool.stats().live == std::size_t(n));
  std::thread consumer([&] {
    for (void* p : v) pool.deallocate(p);
  });
  consumer.join();
  const auto s = pool.stats();
  CHECK(s.live == 0);
  CHECK(s.cached <= pool_t::spare);  // the freeing thread's shard counts net -n: it keeps only spare
  CHECK(s.heap_bytes == s.cached * block);
  pool.trim();
  CHECK(pool.stats().heap_bytes == 0);
}

TEST_CASE("sharded_pool from four threads at once, handing blocks across threads", "[storage][sharded_pool]") {
  pool_t pool;
  constexpr int threads = 4, rounds = 20000;
  // Each thread allocates, writes its number in its block, and passes it to the next thread
  // through a one-slot mailbox; the receiver checks the number and frees it (a cross-thread free).
  std::vector<std::atomic<void*>> box(threads);
  for (auto& b : box) b.store(nullptr);
  std::atomic<int> bad{0};
  std::vector<std::thread> ts;
  for (int t = 0; t < threads; ++t) {
    ts.emplace_back([&, t] {
      for (int r = 0; r < rounds; ++r) {
        auto* p = static_cast<node72*>(pool.allocate());
        if (p == nullptr) {
          ++bad;
          continue;
        }
        p->bytes[0] = static_cast<unsigned char>(t);
        p->bytes[71] = static_cast<unsigned char>(r);
        // take what the previous thread left for us (allocated there, freed here)
        if (void* in = box[std::size_t(t)].exchange(nullptr, std::memory_order_acq_rel)) {
          if (static_cast<node72*>(in)->bytes[0] != static_cast<unsigned char>((t + threads - 1) % threads)) ++bad;
          pool.deallocate(in);
        }
        // leave ours for the next thread; if it has not taken the previous one yet, free that
        if (void* old = box[std::size_t((t + 1) % threads)].exchange(p, std::memory_order_acq_rel)) {
          if (static_cast<node72*>(old)->bytes[0] != static_cast<unsigned char>(t)) ++bad;
          pool.deallocate(old);
        }
        if (r % 3 == 0) pool.deallocate(pool.allocate());  // a same-thread cycle
      }
    });
  }
  for (auto& th : ts) th.join();
  std::size_t in_boxes = 0;
  for (auto& b : box)
    if (void* p = b.exchange(nullptr)) {
      ++in_boxes;
      pool.deallocate(p);
    }
  CHECK(bad == 0);
  CHECK(in_boxes <= std::size_t(threads));
  const auto s = pool.stats();
  CHECK(s.live == 0);
  CHECK(s.heap_bytes == s.cached * block);
  pool.trim();
  CHECK(pool.stats().cached == 0);
}
