// Limit types as template parameters: compile-time limits take no storage, user-defined limit
// types work in a custom topology, and unlimited never refuses.
#include <catch2/catch.hpp>

#include <cstdint>
#include <type_traits>
#include <vector>

#include "rcmgr/rcmgr.hpp"

namespace lt {
using rcmgr::direction;
using rcmgr::limit;
using rcmgr::resource;

constexpr limit root_values() {
  limit l;
  l.memory = 1 << 20;
  l.streams_inbound = 64;
  l.streams_outbound = 64;
  l.streams = 64;
  return l;
}
constexpr limit peer_values() {
  limit l;
  l.memory = 64 << 10;
  l.streams_inbound = 8;
  l.streams_outbound = 8;
  l.streams = 8;
  return l;
}
constexpr limit stream_values() {
  limit l;
  l.memory = 16 << 10;
  l.streams_inbound = 1;
  l.streams_outbound = 1;
  l.streams = 1;
  return l;
}

using mem_streams = rcmgr::accounts<resource::memory, resource::streams>;

// The same three-level topology twice: once with compile-time limits, once with runtime ones.
struct root_c : rcmgr::scope<rcmgr::singleton, mem_streams, rcmgr::limited_by<rcmgr::static_limit<root_values()>>> {};
struct peer_c : rcmgr::scope<rcmgr::keyed_by<rcmgr::peer_id>, mem_streams, rcmgr::limited_by<rcmgr::static_limit<peer_values()>>> {};
struct stream_c : rcmgr::scope<mem_streams, rcmgr::limited_by<rcmgr::static_limit<stream_values()>>> {};
struct topo_c : rcmgr::topology<rcmgr::kinds<root_c, peer_c, stream_c>, rcmgr::edge<peer_c, root_c>,
                                rcmgr::edge<stream_c, peer_c>> {};

struct root_r : rcmgr::scope<rcmgr::singleton, mem_streams> {};
struct peer_r : rcmgr::scope<rcmgr::keyed_by<rcmgr::peer_id>, mem_streams> {};
struct stream_r : rcmgr::scope<mem_streams> {};
struct topo_r : rcmgr::topology<rcmgr::kinds<root_r, peer_r, stream_r>, rcmgr::edge<peer_r, root_r>,
                                rcmgr::edge<stream_r, peer_r>> {};

// A user-defined limit type: values computed from a constexpr function of a runtime setting
// (the number of cores the node was started with). Stored by value, never changes.
constexpr std::int64_t memory_budget(int cores) { return std::int64_t{cores} * 256 * 1024; }
struct per_core_limit {
  int cores = 1;
  std::int64_t memory_limit() const { return memory_budget(cores); }
  std::int64_t stream_limit(direction d) const { return d == direction::inbound ? 2 * cores : 3 * cores; }
  std::int64_t stream_total_limit() const { return 4 * cores; }
  std::int64_t conn_limit(direction) const { return rcmgr::unlimited; }
  std::int64_t conn_total_limit() const { return rcmgr::unlimited; }
  std::int64_t fd_limit() const { return rcmgr::unlimited; }
};
static_assert(rcmgr::scope_limit<per_core_limit>);
static_assert(!rcmgr::constant_limit<per_core_limit>);

// A user-defined *constant* limit type: its values come from a constexpr function, so it is
// empty and takes part in the topology's compile-time parent check like static_limit does.
struct eight_core_limit {
  static constexpr limit value = [] {
    limit l;
    l.memory = memory_budget(8);
    l.streams = 32;
    return l;
  }();
  static constexpr std::int64_t memory_limit() { return value.memory; }
  static constexpr std::int64_t stream_limit(direction) { return value.streams; }
  static constexpr std::int64_t stream_total_limit() { return value.streams; }
  static constexpr std::int64_t conn_limit(direction) { return rcmgr::unlimited; }
  static constexpr std::int64_t conn_total_limit() { return rcmgr::unlimited; }
  static constexpr std::int64_t fd_limit() { return rcmgr::unlimited; }
};
static_assert(rcmgr::constant_limit<eight_core_limit>);

struct node_root : rcmgr::scope<rcmgr::singleton, mem_streams, rcmgr::limited_by<eight_core_limit>> {};
struct app_scope : rcmgr::scope<rcmgr::keyed_by<std::string>, mem_streams, rcmgr::limited_by<per_core_limit>> {};
struct request_scope : rcmgr::scope<mem_streams> {};
struct app_topology : rcmgr::topology<rcmgr::kinds<node_root, app_scope, request_scope>,
                                      rcmgr::edge<app_scope, node_root>, rcmgr::edge<request_scope, app_scope>> {};

// Everything unlimited.
struct free_root : rcmgr::scope<rcmgr::singleton, rcmgr::limited_by<rcmgr::unlimited_limit>> {};
struct free_conn : rcmgr::scope<rcmgr::limited_by<rcmgr::unlimited_limit>> {};
struct free_topology : rcmgr::topology<rcmgr::kinds<free_root, free_conn>, rcmgr::edge<free_conn, free_root>> {};

// For the validator: a constant child above a constant parent, checked on the graph (a trait),
// without instantiating the topology (which would stop compilation with the diagnostic).
struct big_child : rcmgr::scope<mem_streams, rcmgr::limited_by<rcmgr::static_limit<root_values()>>> {};
}  // namespace lt

TEST_CASE("a compile-time limit is empty and takes no storage") {
  using namespace lt;
  using P = rcmgr::thread_safe;
  STATIC_REQUIRE(std::is_empty_v<rcmgr::static_limit<peer_values()>>);
  STATIC_REQUIRE(std::is_empty_v<rcmgr::unlimited_limit>);
  STATIC_REQUIRE(std::is_empty_v<rcmgr::detail::limit_store<rcmgr::static_limit<peer_values()>, P>>);
  STATIC_REQUIRE(std::is_empty_v<rcmgr::detail::limit_store<eight_core_limit, P>>);
  STATIC_REQUIRE(sizeof(rcmgr::detail::limit_store<rcmgr::limit, P>) == 8 * sizeof(std::int64_t));

  // A keyed scope with a runtime limit points at its limit (default or per-key override); with a
  // compile-time limit it has nothing to point at.
  using core_c = rcmgr::detail::core<topo_c, P>;
  using core_r = rcmgr::detail::core<topo_r, P>;
  // Complete the engines first: a node names its engine's policy, and the engine's state holds
  // node-sized pools, so the engine is instantiated before its nodes, as a manager does.
  STATIC_REQUIRE(sizeof(core_c) > 0);
  STATIC_REQUIRE(sizeof(core_r) > 0);
  using node_c = rcmgr::detail::node<core_c, peer_c>;
  using node_r = rcmgr::detail::node<core_r, peer_r>;
  STATIC_REQUIRE(sizeof(node_c) < sizeof(node_r));
  // A singleton's state is its node and its limit: with a compile-time limit, just the node.
  STATIC_REQUIRE(sizeof(rcmgr::detail::kind_state<core_c, root_c>) == sizeof(rcmgr::detail::node<core_c, root_c>));
  STATIC_REQUIRE(sizeof(rcmgr::detail::kind_state<core_r, root_r>) ==
                 sizeof(rcmgr::detail::node<core_r, root_r>) + sizeof(rcmgr::detail::limit_store<rcmgr::limit, P>));

  // The limit set: runtime kinds hold a limit (and keyed ones a map of overrides); compile-time
  // kinds hold nothing, so a set of only compile-time kinds is empty apart from its tuple.
  using set_c = rcmgr::limit_set<topo_c>;
  using set_r = rcmgr::limit_set<topo_r>;
  STATIC_REQUIRE(sizeof(set_r) >= 3 * sizeof(rcmgr::limit));
  STATIC_REQUIRE(sizeof(set_c) < sizeof(rcmgr::limit));
  STATIC_REQUIRE(std::is_empty_v<rcmgr::detail::kind_limits<peer_c>>);
  STATIC_REQUIRE(std::is_empty_v<rcmgr::detail::kind_limits<stream_c>>);
}

TEST_CASE("compile-time limits refuse exactly where runtime ones with the same values do") {
  using namespace lt;
  rcmgr::basic_resource_manager<topo_c> mc;
  rcmgr::limit_set<topo_r> lr;
  lr.set<root_r>(root_values()).set<peer_r>(peer_values()).set<stream_r>(stream_values());
  rcmgr::basic_resource_manager<topo_r> mr(lr);
  const rcmgr::peer_id p("12D3KooWLimitTypes");

  // eight streams per peer, then the peer refuses; both flavours alike
  std::vector<decltype(mc)::handle<stream_c>> sc;
  std::vector<decltype(mr)::handle<stream_r>> sr;
  for (int i = 0; i < 8; ++i) {
    auto a = mc.open<stream_c>(rcmgr::direction::inbound, false, p);
    auto b = mr.open<stream_r>(rcmgr::direction::inbound, false, p);
    REQUIRE(a);
    REQUIRE(b);
    sc.push_back(std::move(*a));
    sr.push_back(std::move(*b));
  }
  auto a9 = mc.open<stream_c>(rcmgr::direction::inbound, false, p);
  auto b9 = mr.open<stream_r>(rcmgr::direction::inbound, false, p);
  REQUIRE_FALSE(a9);
  REQUIRE_FALSE(b9);
  CHECK(a9.error().scope.kind == "peer_c");
  CHECK(a9.error().limit_value == 8);
  CHECK(b9.error().limit_value == 8);

  // each stream may hold 16 KiB
  CHECK(sc[0].reserve_memory(16 << 10));
  CHECK_FALSE(sc[1].reserve_memory((16 << 10) + 1));
  CHECK(sr[0].reserve_memory(16 << 10));
  CHECK_FALSE(sr[1].reserve_memory((16 << 10) + 1));
}

TEST_CASE("the validator compares constant limits of child and parent, user-defined ones included") {
  using namespace lt;
  using rcmgr::detail::type_list;
  using bad = rcmgr::detail::graph<type_list<peer_c, big_child>, type_list<rcmgr::edge<big_child, peer_c>>>;
  STATIC_REQUIRE(bad::first_problem().code == rcmgr::detail::problem_code::limit_above_parent);
  using good = rcmgr::detail::graph<type_list<root_c, stream_c>, type_list<rcmgr::edge<stream_c, root_c>>>;
  STATIC_REQUIRE(good::first_problem().code == rcmgr::detail::problem_code::none);
  // a user-defined constant parent with 32 streams under which a 64-stream static child is refused
  struct wide_child : rcmgr::scope<mem_streams, rcmgr::limited_by<rcmgr::static_limit<root_values()>>> {};
  using bad2 = rcmgr::detail::graph<type_list<node_root, wide_child>, type_list<rcmgr::edge<wide_child, node_root>>>;
  STATIC_REQUIRE(bad2::first_problem().code == rcmgr::detail::problem_code::limit_above_parent);
  STATIC_REQUIRE(app_topology::valid);
}

TEST_CASE("a user-defined limit type computed from a constexpr function works in a custom topology") {
  using namespace lt;
  rcmgr::limit_set<app_topology> ls;
  ls.set<app_scope>(per_core_limit{2});                      // every app: budget for 2 cores
  ls.set<app_scope>(std::string("indexer"), per_core_limit{4});  // the indexer: 4 cores
  rcmgr::basic_resource_manager<app_topology, rcmgr::single_threaded> mgr(ls);
  CHECK(mgr.get_limit<app_scope>().cores == 2);

  mgr.view<app_scope>(std::string("web"), [&](auto& app) {
    REQUIRE(app.reserve_memory(memory_budget(2)));
    auto e = app.reserve_memory(1);
    REQUIRE_FALSE(e);
    CHECK(e.error().limit_value == memory_budget(2));
    app.release_memory(memory_budget(2));
  });
  mgr.view<app_scope>(std::string("indexer"), [&](auto& app) {
    REQUIRE(app.reserve_memory(memory_budget(4)));
    CHECK_FALSE(app.reserve_memory(1));
    app.release_memory(memory_budget(4));
  });

  // streams: 2 * cores inbound, 4 * cores in total
  std::vector<decltype(mgr)::handle<request_scope>> rs;
  for (int i = 0; i < 4; ++i) {
    auto r = mgr.open<request_scope>(rcmgr::direction::inbound, false, std::string("web"));
    REQUIRE(r);
    rs.push_back(std::move(*r));
  }
  auto fifth_in = mgr.open<request_scope>(rcmgr::direction::inbound, false, std::string("web"));
  REQUIRE_FALSE(fifth_in);
  CHECK(fifth_in.error().has_direction);
  CHECK(fifth_in.error().limit_value == 4);
  for (int i = 0; i < 4; ++i) {
    auto r = mgr.open<request_scope>(rcmgr::direction::outbound, false, std::string("web"));
    REQUIRE(r);
    rs.push_back(std::move(*r));
  }
  auto over_total = mgr.open<request_scope>(rcmgr::direction::outbound, false, std::string("web"));
  REQUIRE_FALSE(over_total);
  CHECK(over_total.error().total);
  CHECK(over_total.error().limit_value == 8);

  // the node-wide constant limit (8 cores' budget) caps the sum over apps, each within its own
  rs.clear();
  mgr.view<app_scope>(std::string("indexer"), [&](auto& indexer) {
    mgr.view<app_scope>(std::string("a"), [&](auto& a) {
      mgr.view<app_scope>(std::string("b"), [&](auto& b) {
        REQUIRE(indexer.reserve_memory(memory_budget(4)));
        REQUIRE(a.reserve_memory(memory_budget(2)));
        REQUIRE(b.reserve_memory(memory_budget(2)));
        CHECK(mgr.stat<node_root>().memory == memory_budget(8));
        mgr.view<app_scope>(std::string("c"), [&](auto& c) {
          auto e = c.reserve_memory(1);  // c itself has room; the node does not
          REQUIRE_FALSE(e);
          CHECK(e.error().scope.kind == "node_root");
          CHECK(e.error().limit_value == memory_budget(8));
        });
        indexer.release_memory(memory_budget(4));
        a.release_memory(memory_budget(2));
        b.release_memory(memory_budget(2));
      });
    });
  });
  rs.clear();
  CHECK(mgr.stat<node_root>().empty());
}

TEST_CASE("unlimited never refuses") {
  using namespace lt;
  STATIC_REQUIRE(rcmgr::memory_threshold(rcmgr::unlimited, 0) == rcmgr::unlimited);
  rcmgr::basic_resource_manager<free_topology, rcmgr::single_threaded> mgr;
  std::vector<decltype(mgr)::handle<free_conn>> conns;
  for (int i = 0; i < 5000; ++i) {
    auto c = mgr.open<free_conn>(i % 2 ? rcmgr::direction::inbound : rcmgr::direction::outbound, true);
    REQUIRE(c);
    conns.push_back(std::move(*c));
  }
  CHECK(mgr.stat<free_root>().conns() == 5000);
  CHECK(mgr.stat<free_root>().fd == 5000);
  // memory at every priority, up to a quarter of the int64 range on one connection
  for (std::uint8_t prio : {std::uint8_t{0}, rcmgr::priority::low, rcmgr::priority::high, rcmgr::priority::always})
    REQUIRE(conns[0].reserve_memory(std::int64_t{1} << 60, prio));
  REQUIRE(conns[1].reserve_memory(std::int64_t{1} << 61, 0));
  CHECK(mgr.stat<free_root>().memory == (std::int64_t{1} << 62) + (std::int64_t{1} << 61));
  conns.clear();
  CHECK(mgr.stat<free_root>().empty());
}
