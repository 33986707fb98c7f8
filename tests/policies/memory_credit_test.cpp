// rcmgr::memory_credit: reserve-ahead memory on a handle. Checks that the credit never lets a
// scope exceed its limit, decides every reservation exactly as the scope itself would (a
// differential run against a twin manager used without a credit), reports the scope's usage
// without its spare bytes, and gives everything back when it or its handle ends.
#include <catch2/catch.hpp>

#include <cstdint>
#include <string>

#include "rcmgr/rcmgr.hpp"
#include "support/splitmix.hpp"

namespace {

namespace lp = rcmgr::libp2p;
using rcmgr::direction;
constexpr std::int64_t kib = 1024;

lp::limits tight_limits() {
  lp::limits ls = lp::default_limits();
  auto set_memory = [&](auto kind, std::int64_t bytes) {
    using K = decltype(kind);
    rcmgr::limit l = ls.template get<K>();
    l.memory = bytes;
    ls.template set<K>(l);
  };
  set_memory(lp::system_scope{}, 40 * kib);
  set_memory(lp::peer_scope{}, 24 * kib);
  set_memory(lp::protocol_scope{}, 32 * kib);
  set_memory(lp::stream_scope{}, 20 * kib);
  return ls;
}

template <class Mgr>
struct node {
  Mgr mgr;
  typename Mgr::connection conn;
  typename Mgr::stream stream;
  explicit node(const lp::limits& ls) : mgr(ls) {
    const rcmgr::peer_id p("12D3KooWCredit");
    conn = std::move(*mgr.open_connection(direction::inbound, true));
    REQUIRE(conn.set_peer(p));
    stream = std::move(*mgr.open_stream(p, direction::inbound));
    REQUIRE(stream.set_protocol("/credit/1.0.0"));
  }
  rcmgr::scope_stat system() { return mgr.view_system([](auto& s) { return s.stat(); }); }
  rcmgr::scope_stat peer() { return stream.peer_scope().stat(); }
  rcmgr::scope_stat protocol() { return stream.protocol_scope().stat(); }
};

struct rng : rcmgr_test::splitmix64 {
  std::int64_t below(std::int64_t n) { return std::int64_t(next() % std::uint64_t(n)); }
};

std::string outcome(const rcmgr::result<void>& r) { return r ? std::string("ok") : r.error().message(); }

}  // namespace

TEMPLATE_TEST_CASE("a memory credit decides exactly as its scope and never exceeds a limit", "[memory_credit]",
                   rcmgr::thread_safe, rcmgr::single_threaded, rcmgr::thread_cached<>) {
  using mgr_t = rcmgr::resource_manager<TestType>;
  const lp::limits ls = tight_limits();
  for (std::uint64_t seed = 1; seed <= 20; ++seed) {
    node<mgr_t> with(ls), plain(ls);
    rcmgr::memory_credit credit(with.stream, std::int64_t(1 + seed * 512));
    rng r{seed};
    std::int64_t held = 0;  // what the caller believes it holds
    for (int step = 0; step < 2000; ++step) {
      INFO("seed " << seed << " step " << step << " chunk " << credit.chunk());
      const std::int64_t op = r.below(100);
      if (op < 55) {
        const std::int64_t size = r.below(4 * kib) + (op < 2 ? -r.below(5) : 0);  // a few zero and negative sizes
        const std::uint8_t prio = op % 5 == 0 ? rcmgr::priority::low : op % 7 == 0 ? rcmgr::priority::high : rcmgr::priority::always;
        const auto a = credit.reserve_memory(size, prio);
        const auto b = plain.stream.reserve_memory(size, prio);
        REQUIRE(outcome(a) == outcome(b));
        if (a && size > 0) held += size;
      } else if (op < 97) {
        const std::int64_t size = held > 0 ? 1 + r.below(held) : 0;
        credit.release_memory(size);
        plain.stream.release_memory(size);
        held -= size;
      } else {
        // a misuse: more than is held (over-release), or a negative size
        const std::int64_t size = op == 99 ? -1 - r.below(100) : held + 1 + r.below(kib);
        credit.release_memory(size);
        plain.stream.release_memory(size);
        if (size > 0) held = 0;
      }
      // the usage the credit reports is the twin's exactly; its spare is reserved everywhere
      REQUIRE(credit.in_use() == held);
      REQUIRE(credit.stat().memory == plain.stream.stat().memory);
      REQUIRE(with.stream.stat().memory == plain.stream.stat().memory + credit.spare());
      REQUIRE(with.peer().memory == plain.peer().memory + credit.spare());
      REQUIRE(with.system().memory == plain.system().memory + credit.spare());
      // never above a limit, spare included
      REQUIRE(with.stream.stat().memory <= 20 * kib);
      REQUIRE(with.peer().memory <= 24 * kib);
      REQUIRE(with.protocol().memory <= 32 * kib);
      REQUIRE(with.system().memory <= 40 * kib);
      REQUIRE(credit.spare() >= 0);
      REQUIRE(credit.spare() <= 2 * credit.chunk());
    }
    CHECK(with.mgr.misuse().over_releases == plain.mgr.misuse().over_releases);
    CHECK(with.mgr.misuse().negative_releases == plain.mgr.misuse().negative_releases);
    credit.end();
    plain.stream.release_memory(held);
    CHECK(with.stream.stat().memory == plain.stream.stat().memory);
    CHECK(with.stream.stat().memory == 0);
    CHECK(with.system().memory == 0);
  }
}

TEMPLATE_TEST_CASE("a memory credit serves small reservations from one chunk and returns it when it ends", "[memory_credit]",
                   rcmgr::thread_safe, rcmgr::single_threaded, rcmgr::thread_cached<>) {
  using mgr_t = rcmgr::resource_manager<TestType>;
  node<mgr_t> n(tight_limits());
  {
    rcmgr::memory_credit credit(n.stream, 8 * kib);
    REQUIRE(credit.reserve_memory(1 * kib));
    CHECK(credit.spare() == 8 * kib);
    CHECK(n.stream.stat().memory == 9 * kib);  // the chunk is reserved on the stream and above
    CHECK(n.peer().memory == 9 * kib);
    CHECK(n.system().memory == 9 * kib);
    CHECK(credit.stat().memory == 1 * kib);
    for (int i = 0; i < 8; ++i) REQUIRE(credit.reserve_memory(1 * kib));  // all from the chunk
    CHECK(credit.spare() == 0);
    CHECK(n.stream.stat().memory == 9 * kib);
    credit.release_memory(9 * kib);
    CHECK(credit.spare() == 9 * kib);
    CHECK(n.stream.stat().memory == 9 * kib);
    // a reservation that does not fit with the spare bytes, but does without: the spare is returned
    REQUIRE(credit.reserve_memory(20 * kib));
    CHECK(credit.spare() == 0);
    CHECK(n.stream.stat().memory == 20 * kib);
    credit.release_memory(20 * kib);
    CHECK(credit.spare() == 8 * kib);  // beyond 2 chunks spare, all but one go back
    CHECK(n.stream.stat().memory == 8 * kib);
  }
  // the destructor released everything
  CHECK(n.stream.stat().memory == 0);
  CHECK(n.peer().memory == 0);
  CHECK(n.system().memory == 0);
  CHECK(n.mgr.misuse().over_releases == 0);
}

TEMPLATE_TEST_CASE("a memory credit whose handle ended first releases nothing twice", "[memory_credit]",
                   rcmgr::thread_safe, rcmgr::single_threaded, rcmgr::thread_cached<>) {
  using mgr_t = rcmgr::resource_manager<TestType>;
  node<mgr_t> n(tight_limits());
  rcmgr::memory_credit credit(n.stream, 4 * kib);
  REQUIRE(credit.reserve_memory(3 * kib));
  CHECK(n.system().memory == 7 * kib);
  n.stream.done();  // ending the stream releases what it holds, the credit's bytes included
  CHECK(n.system().memory == 0);
  CHECK(n.peer().memory == 0);
  CHECK_FALSE(credit.reserve_memory(8 * kib));  // the stream has ended: scope_closed
  const auto r = credit.reserve_memory(1 * kib);  // even what the credit still holds is refused
  REQUIRE_FALSE(r);
  CHECK(r.error().code == rcmgr::errc::scope_closed);
  credit.release_memory(3 * kib);
  credit.end();
  CHECK(n.system().memory == 0);
  CHECK(n.mgr.misuse().over_releases == 0);
  CHECK_FALSE(credit.reserve_memory(1));  // an ended credit refuses
}
