// Memory reservations: priority thresholds to the byte, argument errors, unlimited and huge
// values, and what happens when a caller releases more than it reserved.
#include <limits>
#include <vector>

#include "support.hpp"

using namespace rt;

namespace {
__extension__ using int128 = __int128;
constexpr std::int64_t int64_max = std::numeric_limits<std::int64_t>::max();

/// floor(lim * (prio + 1) / 256), computed independently of the library with 128-bit integers.
std::int64_t reference_threshold(std::int64_t lim, unsigned prio) {
  if (lim == rcmgr::unlimited) return rcmgr::unlimited;
  return static_cast<std::int64_t>((static_cast<int128>(lim) * (prio + 1)) / 256);
}
}  // namespace

TEST_CASE("memory_threshold is floor(limit * (prio + 1) / 256) without overflow", "[priority]") {
  const std::vector<std::int64_t> limits{0, 1, 255, 256, 257, 1000, 65536, 1000003, (std::int64_t{1} << 40) + 77,
                                         int64_max / 3, int64_max - 256, int64_max - 1};
  for (std::int64_t lim : limits)
    for (unsigned p = 0; p < 256; ++p) {
      INFO("limit " << lim << " prio " << p);
      REQUIRE(rcmgr::memory_threshold(lim, static_cast<std::uint8_t>(p)) == reference_threshold(lim, p));
    }
  CHECK(rcmgr::memory_threshold(rcmgr::unlimited, 0) == rcmgr::unlimited);
  STATIC_REQUIRE(rcmgr::memory_threshold(1024, rcmgr::priority::low) == 408);
  STATIC_REQUIRE(rcmgr::memory_threshold(1024, rcmgr::priority::medium) == 612);
  STATIC_REQUIRE(rcmgr::memory_threshold(1024, rcmgr::priority::high) == 816);
  STATIC_REQUIRE(rcmgr::memory_threshold(1024, rcmgr::priority::always) == 1024);
}

TEMPLATE_LIST_TEST_CASE("a reservation at priority p passes up to the threshold and not one byte more", "[priority]",
                        all_managers) {
  using M = TestType;
  const std::int64_t lim = GENERATE(std::int64_t{1000003}, std::int64_t{65536}, std::int64_t{255},
                                    (std::int64_t{1} << 40) + 77, int64_max - 1);
  const unsigned prio = GENERATE(unsigned{rcmgr::priority::low}, unsigned{rcmgr::priority::medium},
                                 unsigned{rcmgr::priority::high}, unsigned{rcmgr::priority::always}, 0u, 17u, 200u);
  const auto p = static_cast<std::uint8_t>(prio);
  const std::int64_t t = reference_threshold(lim, prio);
  INFO("limit " << lim << " prio " << prio << " threshold " << t);

  // the limit sits on the peer; everything above it is unlimited
  auto ls = unlimited_limits();
  ls.template set<lp::peer_scope>(memory_only(lim));
  M mgr{ls};
  auto s = take(mgr.open_stream(peer_a, direction::inbound));
  if (t > 0) {
    RT_OK(s.reserve_memory(t - 1, p));
    s.release_memory(t - 1);
  }
  RT_OK(s.reserve_memory(t, p));
  CHECK(peer_stat(mgr, peer_a).memory == expected<M>(t));
  s.release_memory(t);
  auto r = s.reserve_memory(t + 1, p);
  RT_REFUSED(M, errc::limit_exceeded, r);
  if constexpr (accounts<M>) {
    CHECK(r.error().prio == p);
    CHECK(r.error().usable() == t);
    CHECK(r.error().limit_value == lim);
  }
  // the same boundary reached in two steps
  if (t >= 2) {
    RT_OK(s.reserve_memory(t / 2, p));
    RT_OK(s.reserve_memory(t - t / 2, p));
    RT_REFUSED(M, errc::limit_exceeded, s.reserve_memory(1, p));
  }
  s.done();
  CHECK(system_stat(mgr) == scope_stat{});
}

TEMPLATE_LIST_TEST_CASE("the named priorities stop at 40%, 60%, 80% and 100% of a 1000-byte limit", "[priority]",
                        all_managers) {
  using M = TestType;
  auto ls = unlimited_limits();
  ls.template set<lp::system_scope>(memory_only(1000));
  M mgr{ls};
  auto s = take(mgr.open_stream(peer_a, direction::inbound));
  RT_OK(s.reserve_memory(398, rcmgr::priority::low));  // floor(1000*102/256) = 398
  RT_REFUSED(M, errc::limit_exceeded, s.reserve_memory(1, rcmgr::priority::low));
  RT_OK(s.reserve_memory(199, rcmgr::priority::medium));  // floor(1000*153/256) = 597
  RT_REFUSED(M, errc::limit_exceeded, s.reserve_memory(1, rcmgr::priority::medium));
  RT_OK(s.reserve_memory(199, rcmgr::priority::high));  // floor(1000*204/256) = 796
  RT_REFUSED(M, errc::limit_exceeded, s.reserve_memory(1, rcmgr::priority::high));
  RT_OK(s.reserve_memory(204));  // priority always by default: 1000
  RT_REFUSED(M, errc::limit_exceeded, s.reserve_memory(1));
  CHECK(system_stat(mgr).memory == expected<M>(std::int64_t{1000}));
}

TEMPLATE_LIST_TEST_CASE("a negative size is an argument error, not a limit error", "[memory]", all_managers) {
  using M = TestType;
  M mgr{unlimited_limits()};
  auto s = take(mgr.open_stream(peer_a, direction::inbound));
  auto r = s.reserve_memory(-1);
  RT_REFUSED(M, errc::invalid_argument, r);
  RT_REFUSED(M, errc::invalid_argument, s.reserve_memory(std::numeric_limits<std::int64_t>::min()));
  RT_REFUSED(M, errc::invalid_argument, mgr.view_system([](auto& sys) { return sys.reserve_memory(-5); }));
  if constexpr (accounts<M>) CHECK(r.error().message().find("negative") != std::string::npos);
  CHECK(stats(mgr).system == expected<M>(st().in_streams(1)));
}

TEMPLATE_LIST_TEST_CASE("unlimited scopes pass any size and huge sizes never overflow", "[memory]", all_managers) {
  using M = TestType;
  SECTION("unlimited everywhere: INT64_MAX passes, then nothing more fits") {
    M mgr{unlimited_limits()};
    auto s = take(mgr.open_stream(peer_a, direction::inbound));
    RT_OK(s.set_protocol(proto_id));
    RT_OK(s.reserve_memory(int64_max, 0));  // even at the lowest priority
    CHECK(system_stat(mgr).memory == expected<M>(int64_max));
    // the counters cannot go past INT64_MAX; the refusal must not wrap around
    RT_REFUSED(M, errc::limit_exceeded, s.reserve_memory(1));
    RT_REFUSED(M, errc::limit_exceeded, s.reserve_memory(int64_max));
    s.release_memory(int64_max);
    CHECK(stats(mgr) == expected<M>(all_stats{.system = st().in_streams(1),
                                              .peer = st().in_streams(1),
                                              .protocol = st().in_streams(1),
                                              .protocol_peer = st().in_streams(1)}));
  }
  SECTION("a limit just below INT64_MAX") {
    auto ls = unlimited_limits();
    ls.template set<lp::peer_scope>(memory_only(int64_max - 1));
    M mgr{ls};
    auto s = take(mgr.open_stream(peer_a, direction::inbound));
    RT_REFUSED(M, errc::limit_exceeded, s.reserve_memory(int64_max));
    RT_OK(s.reserve_memory(int64_max / 2 + 1));
    RT_REFUSED(M, errc::limit_exceeded, s.reserve_memory(int64_max / 2 + 1));  // cur + size would overflow
    RT_OK(s.reserve_memory(int64_max / 2 - 1));                              // exactly at the limit
    CHECK(peer_stat(mgr, peer_a).memory == expected<M>(int64_max - 1));
    RT_REFUSED(M, errc::limit_exceeded, s.reserve_memory(1));
    s.done();
    CHECK(system_stat(mgr) == scope_stat{});
  }
}

// ---- misuse ------------------------------------------------------------------------------------

namespace {
struct misuse_log {
  std::vector<rcmgr::misuse_event> events;
  std::vector<std::string> scopes;
  static void record(const rcmgr::misuse_event& e, void* self) {
    auto* log = static_cast<misuse_log*>(self);
    log->events.push_back(e);
    log->scopes.push_back(e.scope.str());
  }
};
}  // namespace

TEMPLATE_LIST_TEST_CASE("releasing more than was reserved is clamped and reported", "[misuse]", real_managers) {
  TestType mgr{unlimited_limits()};
  misuse_log log;
  mgr.on_misuse(&misuse_log::record, &log);
  auto other = take(mgr.open_stream(peer_a, direction::inbound));  // its memory must survive the misuse
  RT_OK(other.reserve_memory(1000));
  auto s = take(mgr.open_stream(peer_a, direction::outbound));
  RT_OK(s.set_protocol(proto_id));
  RT_OK(s.reserve_memory(100));

  SECTION("on a stream") {
    s.release_memory(150);
    CHECK(s.stat() == st().out_streams(1));
    CHECK(peer_stat(mgr, peer_a) == st().in_streams(1).out_streams(1).mem(1000));
    CHECK(protocol_stat(mgr, proto_id) == st().out_streams(1));
    CHECK(system_stat(mgr).memory == 1000);
    CHECK(mgr.misuse().over_releases == 1);
    CHECK(mgr.misuse().over_released_bytes == 50);
    REQUIRE(log.events.size() == 1);
    CHECK(log.events[0].kind == rcmgr::misuse_event::what::over_release);
    CHECK(log.scopes[0] == "stream");
    CHECK(log.events[0].requested == 150);
    CHECK(log.events[0].available == 100);
    // nothing left to release: the whole request is over
    s.release_memory(7);
    CHECK(mgr.misuse().over_releases == 2);
    CHECK(mgr.misuse().over_released_bytes == 57);
    CHECK(log.events[1].available == 0);
    CHECK(system_stat(mgr).memory == 1000);
  }
  SECTION("on a peer, through view_peer") {
    RT_OK(mgr.view_peer(peer_a, [](auto& p) { return p.reserve_memory(40); }));
    mgr.view_peer(peer_a, [](auto& p) { p.release_memory(100); });
    // the peer gives back its own 40 bytes, not the streams' usage
    CHECK(peer_stat(mgr, peer_a) == st().in_streams(1).out_streams(1).mem(1100));
    CHECK(system_stat(mgr).memory == 1100);
    REQUIRE(log.events.size() == 1);
    CHECK(log.scopes[0] == "peer:" + std::string(peer_a.str()));
    CHECK(log.events[0].requested == 100);
    CHECK(log.events[0].available == 40);
    CHECK(mgr.misuse().over_released_bytes == 60);
  }
  SECTION("on the system scope") {
    mgr.view_system([](auto& sys) { sys.release_memory(1); });
    CHECK(system_stat(mgr).memory == 1100);
    REQUIRE(log.events.size() == 1);
    CHECK(log.scopes[0] == "system");
  }
  SECTION("a stream's release cannot take what its spans hold") {
    auto sp = take(s.begin_span());
    RT_OK(sp.reserve_memory(30));
    s.release_memory(120);
    CHECK(s.stat().memory == 30);
    CHECK(system_stat(mgr).memory == 1030);
    sp.release_memory(31);
    CHECK(s.stat().memory == 0);
    CHECK(system_stat(mgr).memory == 1000);
    CHECK(mgr.misuse().over_releases == 2);
    CHECK(mgr.misuse().over_released_bytes == 21);
  }
  SECTION("a negative release is ignored and counted") {
    s.release_memory(-5);
    CHECK(s.stat().memory == 100);
    CHECK(system_stat(mgr).memory == 1100);
    CHECK(mgr.misuse().negative_releases == 1);
    CHECK(mgr.misuse().over_releases == 0);
    REQUIRE(log.events.size() == 1);
    CHECK(log.events[0].kind == rcmgr::misuse_event::what::negative_release);
    CHECK(log.events[0].requested == -5);
  }
  // every counter stays non-negative whatever happened above
  s.done();
  other.done();
  CHECK(stats(mgr) == all_stats{});
}

TEMPLATE_LIST_TEST_CASE("misuse is counted without a handler", "[misuse]", real_managers) {
  TestType mgr{unlimited_limits()};
  auto c = take(mgr.open_connection(direction::inbound, false));
  c.release_memory(1);
  c.release_memory(-1);
  CHECK(mgr.misuse().over_releases == 1);
  CHECK(mgr.misuse().over_released_bytes == 1);
  CHECK(mgr.misuse().negative_releases == 1);
  CHECK(c.stat() == st().in_conns(1));
}
