// memory_reservation (RAII bytes on a scope) and the std::pmr adapters that charge a scope.
#include <memory_resource>
#include <new>
#include <string>
#include <type_traits>
#include <vector>

#include "core/support.hpp"
#include "rcmgr/memory_reservation.hpp"
#include "rcmgr/memory_resource.hpp"

using namespace rt;
using rcmgr::memory_reservation;

// What the compiler proves: a reservation is move-only, moving it cannot fail, and it cannot be
// bound to a handle that is about to be destroyed (whose end would release the bytes at once).
using stream_t = thread_safe_manager::stream;
static_assert(!std::is_copy_constructible_v<memory_reservation> && !std::is_copy_assignable_v<memory_reservation>);
static_assert(std::is_nothrow_move_constructible_v<memory_reservation> && std::is_nothrow_move_assignable_v<memory_reservation>);
static_assert(std::is_constructible_v<memory_reservation, const stream_t&>);
static_assert(!std::is_constructible_v<memory_reservation, stream_t&&>);
static_assert(!std::is_convertible_v<const stream_t&, memory_reservation>);  // explicit: binding is visible
template <class H>
concept reserve_from_rvalue = requires(H&& h) { memory_reservation::reserve(std::move(h), 1); };
static_assert(!reserve_from_rvalue<stream_t>);
static_assert(requires(const stream_t& h) { memory_reservation::reserve(h, 1); });
static_assert(rcmgr::reservable_scope<null_manager::stream> && rcmgr::reservable_scope<thread_safe_manager::peer_ref>);
static_assert(!rcmgr::reservable_scope<int>);

namespace {
template <class M>
auto open_proto_stream(M& mgr) {
  auto s = take(mgr.open_stream(peer_a, direction::inbound));
  RT_OK(s.set_protocol(proto_id));
  return s;
}
}  // namespace

TEMPLATE_LIST_TEST_CASE("a reservation releases its bytes when it goes away", "[reservation]", all_managers) {
  TestType mgr{unlimited_limits()};
  auto s = open_proto_stream(mgr);
  {
    auto r = take(memory_reservation::reserve(s, 1000, rcmgr::priority::high));
    CHECK(r.size() == 1000);
    CHECK(s.stat() == expected<TestType>(st().in_streams(1).mem(1000)));
    CHECK(system_stat(mgr) == expected<TestType>(st().in_streams(1).mem(1000)));
    RT_OK(r.grow(500));
    r.shrink(300);
    CHECK(r.size() == 1200);
    CHECK(peer_stat(mgr, peer_a) == expected<TestType>(st().in_streams(1).mem(1200)));
    RT_OK(r.resize(100));
    CHECK(s.stat().memory == expected<TestType>(std::int64_t{100}));
    r.shrink(1 << 20);  // clamps to what is held, and is not misuse
    CHECK(r.size() == 0);
    RT_OK(r.resize(700));
  }
  CHECK(s.stat() == expected<TestType>(st().in_streams(1)));
  if constexpr (accounts<TestType>) CHECK(mgr.misuse().over_releases == 0);
}

TEMPLATE_LIST_TEST_CASE("a refused growth changes nothing and says why", "[reservation]", real_managers) {
  auto limits = unlimited_limits();
  limits.set<lp::stream_scope>(memory_only(1000));
  TestType mgr{limits};
  auto s = open_proto_stream(mgr);
  memory_reservation r(s);
  RT_OK(r.grow(600));
  auto g = r.grow(500);
  REQUIRE_FALSE(g);
  CHECK(g.error().code == errc::limit_exceeded);
  CHECK(g.error().scope.kind == "stream");
  CHECK(r.size() == 600);
  CHECK(system_stat(mgr).memory == 600);
  CHECK_FALSE(memory_reservation::reserve(s, 401));
  CHECK(s.stat().memory == 600);
  CHECK(r.grow(-1).error().code == errc::invalid_argument);
  r.shrink(-5);
  CHECK(r.size() == 600);
  CHECK(mgr.misuse().negative_releases == 0);
}

TEMPLATE_LIST_TEST_CASE("a reservation follows its scope when the handle moves", "[reservation]", real_managers) {
  TestType mgr{unlimited_limits()};
  std::vector<typename TestType::stream> streams;
  std::vector<memory_reservation> held;
  auto first = open_proto_stream(mgr);
  held.emplace_back(first);
  RT_OK(held.back().grow(10));
  streams.push_back(std::move(first));  // the handle the reservation was made from is now empty
  CHECK_FALSE(first);
  CHECK(first.stat() == scope_stat{});
  // grow the vector until it reallocates: every handle moves again
  for (int i = 0; i < 40; ++i) {
    auto s = take(mgr.open_stream(peer_a, direction::outbound));
    held.emplace_back(s);
    RT_OK(held.back().grow(1 + i));
    streams.push_back(std::move(s));
  }
  CHECK(streams[0].stat().memory == 10);
  held[0].shrink(4);
  CHECK(streams[0].stat().memory == 6);  // reached through the node, not the (moved-from) handle
  RT_OK(held[0].grow(4));
  CHECK(streams[0].stat().memory == 10);
  std::int64_t total = 10;
  for (int i = 0; i < 40; ++i) total += 1 + i;
  CHECK(system_stat(mgr).memory == total);
  held.clear();
  CHECK(system_stat(mgr).memory == 0);
  for (auto& s : streams) CHECK(s.stat().memory == 0);
  CHECK(mgr.misuse().over_releases == 0);
}

TEMPLATE_LIST_TEST_CASE("when the scope ends first, the reservation is inert", "[reservation]", real_managers) {
  TestType mgr{unlimited_limits()};
  memory_reservation r;
  memory_reservation twin;
  {
    auto s = open_proto_stream(mgr);
    r = take(memory_reservation::reserve(s, 4096));
    twin = r.split(1000);
    CHECK(r.size() == 3096);
    CHECK(twin.size() == 1000);
    CHECK(twin.same_scope(r));
    CHECK(s.stat().memory == 4096);  // split moves no counter
    s.done();
    CHECK(system_stat(mgr) == scope_stat{});
    CHECK(r.scope_ended());
    CHECK(r.size() == 0);
    auto g = r.grow(1);
    REQUIRE_FALSE(g);
    CHECK(g.error().code == errc::scope_closed);
  }  // the handle is destroyed here; the reservations keep the node (not its usage) alive
  CHECK(r.bound());
  r.shrink(100);
  twin.reset();
  CHECK(system_stat(mgr) == scope_stat{});
  CHECK(live_peers(mgr) == 0);
  r = memory_reservation{};  // drops the last reference: the node is freed (checked by ASan)
  CHECK_FALSE(r.bound());
  CHECK(mgr.misuse().over_releases == 0);
  CHECK(mgr.misuse().negative_releases == 0);
}

TEMPLATE_LIST_TEST_CASE("a reservation on a span, a peer and the system", "[reservation]", real_managers) {
  TestType mgr{unlimited_limits()};
  auto s = open_proto_stream(mgr);
  {
    auto span = take(s.begin_span());
    memory_reservation on_span(span);
    RT_OK(on_span.grow(300));
    CHECK(s.stat().memory == 300);
    span.done();
    CHECK(s.stat().memory == 0);
    CHECK(on_span.scope_ended());
    CHECK(on_span.grow(1).error().code == errc::scope_closed);
  }
  memory_reservation on_peer = mgr.view_peer(peer_b, [](auto& p) { return memory_reservation(p); });
  RT_OK(on_peer.grow(77));
  CHECK(live_peers(mgr) == 2);  // peer_b is kept alive by the reservation alone
  CHECK(peer_stat(mgr, peer_b).memory == 77);
  on_peer.reset();
  CHECK(live_peers(mgr) == 1);
  auto on_system = mgr.view_system([](auto& sys) { return memory_reservation::reserve(sys, 5); });
  REQUIRE(on_system);
  CHECK(system_stat(mgr).memory == 5);
  CHECK(on_system->merge(memory_reservation::reserve(s, 0).value()) == false);  // another scope
  on_system->reset();
  CHECK(system_stat(mgr) == st().in_streams(1));
}

TEMPLATE_LIST_TEST_CASE("merging a reservation into itself keeps it whole", "[reservation]", real_managers) {
  TestType mgr{unlimited_limits()};
  auto s = open_proto_stream(mgr);
  auto r = memory_reservation::reserve(s, 100);
  REQUIRE(r);
  memory_reservation& same = *r;
  CHECK(r->merge(std::move(same)));
  CHECK(r->bound());
  CHECK(r->size() == 100);
  CHECK(s.stat().memory == 100);
  r->reset();
  CHECK(s.stat().memory == 0);
}

TEST_CASE("an unbound reservation refuses clearly and does nothing else", "[reservation]") {
  memory_reservation r;
  auto g = r.grow(1);
  REQUIRE_FALSE(g);
  CHECK(g.error().code == errc::scope_closed);
  r.shrink(1);
  r.release();
  CHECK(r.size() == 0);
  CHECK_FALSE(r.split(1).bound());
  thread_safe_manager::stream empty;
  CHECK_FALSE(memory_reservation(empty).bound());
}

TEST_CASE("scope_memory_resource charges a scope for a pmr vector and string", "[reservation][pmr]") {
  auto limits = unlimited_limits();
  limits.set<lp::stream_scope>(memory_only(64 << 10));
  thread_safe_manager mgr{limits};
  auto s = open_proto_stream(mgr);
  rcmgr::scope_memory_resource res(s, rcmgr::priority::high);
  {
    std::pmr::vector<std::uint32_t> v(&res);
    v.reserve(1000);
    CHECK(s.stat().memory == std::int64_t(1000 * sizeof(std::uint32_t)));
    CHECK(res.charged() == s.stat().memory);
    std::pmr::string str("a string long enough to live on the heap, not in the small buffer", &res);
    CHECK(s.stat().memory > std::int64_t(1000 * sizeof(std::uint32_t)));
    bool refused = false;
    try {
      for (int i = 0; i < 100000; ++i) v.push_back(std::uint32_t(i));
    } catch (const std::bad_alloc&) {
      refused = true;
    }
    CHECK(refused);
    REQUIRE(res.has_error());
    CHECK(res.last_error().code == errc::limit_exceeded);
    CHECK(res.last_error().scope.kind == "stream");
    CHECK(res.last_error().prio == rcmgr::priority::high);
    CHECK(s.stat().memory <= rcmgr::memory_threshold(64 << 10, rcmgr::priority::high));
    CHECK(s.stat().memory == res.charged());
  }
  CHECK(s.stat().memory == 0);
  CHECK(system_stat(mgr).memory == 0);
}

TEST_CASE("try_allocate returns null when refused", "[reservation][pmr]") {
  auto limits = unlimited_limits();
  limits.set<lp::stream_scope>(memory_only(1000));
  single_threaded_manager mgr{limits};
  auto s = open_proto_stream(mgr);
  rcmgr::scope_memory_resource res(s);
  void* a = res.try_allocate(800, 8);
  REQUIRE(a != nullptr);
  CHECK(res.try_allocate(300, 8) == nullptr);
  CHECK_THROWS_AS(res.allocate(300, 8), std::bad_alloc);
  CHECK(res.last_error().code == errc::limit_exceeded);
  CHECK(s.stat().memory == 800);
  res.deallocate(a, 800, 8);
  CHECK(s.stat().memory == 0);
  s.done();  // the scope ends: allocations are refused, nothing leaks
  CHECK(res.try_allocate(1, 1) == nullptr);
  CHECK(res.last_error().code == errc::scope_closed);
  CHECK(res.is_equal(res));
}

TEST_CASE("memory resources on the null manager always allocate", "[reservation][pmr]") {
  null_manager mgr;
  auto s = take(mgr.open_stream(peer_a, direction::inbound));
  rcmgr::scope_memory_resource res(s);
  std::pmr::vector<int> v(&res);
  for (int i = 0; i < 10000; ++i) v.push_back(i);
  CHECK(v.size() == 10000);
  CHECK_FALSE(res.has_error());
}
