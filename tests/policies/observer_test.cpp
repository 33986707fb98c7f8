// The observer policy: what it is told, and that the default costs nothing.
#include <catch2/catch.hpp>

#include <sstream>
#include <string>
#include <type_traits>
#include <vector>

#include "rcmgr/rcmgr.hpp"

namespace {
using rcmgr::direction;
using rcmgr::peer_id;
using rcmgr::scope_event;
namespace lp = rcmgr::libp2p;

struct recording_observer {
  struct entry {
    scope_event::type what;
    std::string scope, parent;
    std::int64_t memory;
    bool has_error;
    rcmgr::errc code;
  };
  std::vector<entry> log;
  void on_event(const scope_event& e) {
    log.push_back({e.what, e.scope.str(), e.parent.str(), e.memory, e.err != nullptr,
                   e.err != nullptr ? e.err->code : rcmgr::errc{}});
  }
};
static_assert(rcmgr::scope_observer<recording_observer>);
static_assert(rcmgr::scope_observer<rcmgr::counting_observer>);
static_assert(rcmgr::scope_observer<rcmgr::stream_logger>);
static_assert(!rcmgr::scope_observer<int>);
}  // namespace

TEST_CASE("the default observer adds no state to the manager") {
  STATIC_REQUIRE(std::is_empty_v<rcmgr::no_observer>);
  STATIC_REQUIRE(sizeof(rcmgr::resource_manager<>) == sizeof(rcmgr::resource_manager<rcmgr::observed_by<rcmgr::no_observer>>));
  STATIC_REQUIRE(!rcmgr::resource_manager<>::core_type::observing);
  STATIC_REQUIRE(rcmgr::resource_manager<rcmgr::observed_by<recording_observer>>::core_type::observing);
}

TEST_CASE("an observer sees every operation in order, with refusals carrying their error") {
  auto limits = lp::default_limits();
  limits.set<lp::stream_scope>(lp::stream_limit(1, 1, 1, 1000));
  rcmgr::resource_manager<rcmgr::single_threaded, rcmgr::observed_by<recording_observer>> mgr(limits);
  const peer_id p("12D3KooWObserved");
  {
    auto s = mgr.open_stream(p, direction::inbound);
    REQUIRE(s);
    REQUIRE(s->set_protocol("/ipfs/id/1.0.0"));
    REQUIRE(s->set_protocol("/again").error().code == rcmgr::errc::already_attached);
    REQUIRE(s->reserve_memory(600));
    REQUIRE_FALSE(s->reserve_memory(600));
    s->release_memory(600);
    auto sp = s->begin_span();
    REQUIRE(sp);
    s->done();
  }
  const auto& log = mgr.observer().log;
  using T = scope_event::type;
  REQUIRE(log.size() >= 8);
  CHECK(log[0].what == T::opened);
  CHECK(log[0].scope == "stream");
  CHECK(log[1].what == T::attached);
  CHECK(log[1].parent == "protocol:/ipfs/id/1.0.0");
  CHECK(log[2].what == T::attach_refused);
  CHECK(log[2].code == rcmgr::errc::already_attached);
  CHECK(log[3].what == T::reserved);
  CHECK(log[3].memory == 600);
  CHECK(log[4].what == T::reserve_refused);
  CHECK(log[4].has_error);
  CHECK(log[4].code == rcmgr::errc::limit_exceeded);
  CHECK(log[5].what == T::released);
  CHECK(log[5].memory == 600);
  CHECK(log[6].what == T::span_begun);
  CHECK(log[7].what == T::ended);
}

TEST_CASE("counting_observer counts refusals by resource") {
  auto limits = lp::default_limits();
  limits.set<lp::transient_scope>({1, 1, 1, 1, 1, 1, 1, 1 << 20});
  rcmgr::resource_manager<rcmgr::observed_by<rcmgr::counting_observer>> mgr(limits);
  auto c1 = mgr.open_connection(direction::inbound, false);
  REQUIRE(c1);
  auto c2 = mgr.open_connection(direction::inbound, false);
  REQUIRE_FALSE(c2);
  auto s1 = mgr.open_stream(peer_id("p"), direction::inbound);
  REQUIRE(s1);
  auto s2 = mgr.open_stream(peer_id("p"), direction::inbound);
  REQUIRE_FALSE(s2);
  const auto& o = mgr.observer();
  CHECK(o.count(scope_event::type::opened) == 2);
  CHECK(o.count(scope_event::type::open_refused) == 2);
  CHECK(o.refusals(rcmgr::resource::conns) == 1);
  CHECK(o.refusals(rcmgr::resource::streams) == 1);
  CHECK(o.refusals(rcmgr::resource::memory) == 0);
}

TEST_CASE("stream_logger writes one line per refusal, and per operation when tracing") {
  auto limits = lp::default_limits();
  limits.set<lp::stream_scope>(lp::stream_limit(1, 1, 1, 100));
  rcmgr::resource_manager<rcmgr::observed_by<rcmgr::stream_logger>> mgr(limits);
  std::ostringstream out;
  mgr.observer().attach(out);
  auto s = mgr.open_stream(peer_id("12D3KooWLog"), direction::outbound);
  REQUIRE(s);
  REQUIRE(s->reserve_memory(50));
  REQUIRE_FALSE(s->reserve_memory(51));
  const std::string text = out.str();
  CHECK(text == "rcmgr: reserve refused stream refused 51 B of memory at priority always (255): 50 B in use, limit 100 B\n");

  std::ostringstream trace;
  mgr.observer().attach(trace, true);
  s->release_memory(50);
  s->done();
  CHECK(trace.str() == "rcmgr: released stream 50 B\nrcmgr: ended stream\n");
}

TEST_CASE("observed_by<A, B> calls each observer for every event, in order") {
  using both = rcmgr::observed_by<recording_observer, rcmgr::counting_observer>;
  rcmgr::resource_manager<rcmgr::single_threaded, both> mgr;
  STATIC_REQUIRE(decltype(mgr)::core_type::observing);
  {
    auto s = mgr.open_stream(peer_id("12D3KooWBoth"), direction::inbound);
    REQUIRE(s);
    REQUIRE(s->reserve_memory(10));
  }
  auto& rec = mgr.observer().get<recording_observer>();
  auto& cnt = mgr.observer().get<rcmgr::counting_observer>();
  REQUIRE(rec.log.size() == 3);  // opened, reserved, ended
  CHECK(cnt.count(scope_event::type::opened) == 1);
  CHECK(cnt.count(scope_event::type::reserved) == 1);
  CHECK(cnt.count(scope_event::type::ended) == 1);
  CHECK(rcmgr::find_observer<rcmgr::counting_observer>(mgr.observer()) == &cnt);
  CHECK(rcmgr::find_observer<rcmgr::stream_logger>(mgr.observer()) == nullptr);
  const auto& const_set = mgr.observer();
  CHECK(rcmgr::find_observer<rcmgr::counting_observer>(const_set) == &cnt);
  CHECK(rcmgr::find_observer<recording_observer>(rec) == &rec);
}

TEST_CASE("observed_by<> and a set of disabled observers compile away") {
  STATIC_REQUIRE(std::is_same_v<rcmgr::observed_by<>::type, rcmgr::no_observer>);
  STATIC_REQUIRE(!rcmgr::resource_manager<rcmgr::observed_by<>>::core_type::observing);
  STATIC_REQUIRE(!rcmgr::observer_set<rcmgr::no_observer, rcmgr::no_observer>::enabled);
  STATIC_REQUIRE(std::is_empty_v<rcmgr::observer_set<rcmgr::no_observer, rcmgr::no_observer>>);
  STATIC_REQUIRE(!rcmgr::resource_manager<rcmgr::observed_by<rcmgr::no_observer, rcmgr::no_observer>>::core_type::observing);
  STATIC_REQUIRE(sizeof(rcmgr::resource_manager<>) == sizeof(rcmgr::resource_manager<rcmgr::observed_by<>>));
}

TEST_CASE("events carry the object, its usage and the path of scopes it is charged to") {
  struct path_recorder {
    std::vector<std::string> names;
    std::vector<rcmgr::scope_stat> stats;
    const void* object = nullptr;
    rcmgr::scope_stat usage;
    std::vector<std::string> before;
    void on_event(const scope_event& e) {
      if (e.what != scope_event::type::reserved && e.what != scope_event::type::attached) return;
      names.clear();
      stats.clear();
      object = e.object;
      usage = e.usage;
      e.path.for_each([&](const rcmgr::scope_name& n, const rcmgr::scope_stat& u, const void*) {
        names.push_back(n.str());
        stats.push_back(u);
      });
      before.clear();
      e.before.for_each([&](const rcmgr::scope_name& n, const rcmgr::scope_stat&, const void*) { before.push_back(n.str()); });
    }
  };
  rcmgr::resource_manager<rcmgr::single_threaded, rcmgr::observed_by<path_recorder>> mgr;
  auto s = mgr.open_stream(peer_id("P1"), direction::inbound);
  REQUIRE(s);
  REQUIRE(s->set_protocol("/x"));
  auto& o = mgr.observer();
  CHECK(o.before == std::vector<std::string>{"stream", "transient", "peer:P1", "system"});
  CHECK(o.names == std::vector<std::string>{"stream", "protocol-peer:/x@P1", "protocol:/x", "peer:P1", "system"});
  REQUIRE(s->reserve_memory(100));
  CHECK(o.usage.memory == 100);
  REQUIRE(o.names.size() == 5);
  for (const auto& st : o.stats) CHECK(st.memory == 100);
  CHECK(o.object != nullptr);
}

namespace {
/// Asks for the lifetime of shared scopes (and the opening of streams, for the limits).
struct lifetime_recorder {
  static constexpr bool wants(scope_event::type t, std::string_view kind) {
    return t == scope_event::type::created || t == scope_event::type::destroyed ||
           (t == scope_event::type::opened && kind == "stream");
  }
  std::vector<std::string> log;
  std::vector<rcmgr::limit> limits;
  void on_event(const scope_event& e) {
    log.push_back(std::string(rcmgr::to_string(e.what)) + ' ' + e.scope.str());
    if (e.lim != nullptr) limits.push_back(*e.lim);
  }
};
}  // namespace

TEST_CASE("keyed and view scopes are announced when created and collected, to the observers that ask") {
  auto limits = lp::default_limits();
  limits.set<lp::peer_scope>(peer_id("P1"), {5, 5, 10, 2, 2, 4, 4, 1 << 20});
  rcmgr::resource_manager<rcmgr::single_threaded, rcmgr::observed_by<lifetime_recorder, recording_observer>> mgr(limits);
  {
    auto s = mgr.open_stream(peer_id("P1"), direction::inbound);
    REQUIRE(s);
    REQUIRE(s->set_protocol("/x"));
  }
  auto& o = mgr.observer().get<lifetime_recorder>();
  CHECK(o.log == std::vector<std::string>{"created peer:P1", "opened stream", "created protocol:/x",
                                          "created protocol-peer:/x@P1", "destroyed protocol-peer:/x@P1",
                                          "destroyed peer:P1"});  // the protocol is kept
  REQUIRE(o.limits.size() == 4);
  CHECK(o.limits[0] == rcmgr::limit{5, 5, 10, 2, 2, 4, 4, 1 << 20});  // the peer's own limit
  CHECK(o.limits[1].memory == limits.get<lp::stream_scope>().memory);
  CHECK(o.limits[2].memory == limits.get<lp::protocol_scope>().memory);
  CHECK(o.limits[3].memory == limits.get<lp::protocol_peer_scope>().memory);
  // an observer that does not say what it wants gets every operation, and no lifetime event
  for (const auto& e : mgr.observer().get<recording_observer>().log) {
    CHECK(e.what != scope_event::type::created);
    CHECK(e.what != scope_event::type::destroyed);
  }
  STATIC_REQUIRE(!rcmgr::detail::observer_wants<recording_observer>(scope_event::type::created, "peer"));
  STATIC_REQUIRE(rcmgr::detail::observer_wants<recording_observer>(scope_event::type::reserved, "peer"));
}

TEST_CASE("a refusal carries the refusing scope's whole usage; a span's events its owner's") {
  struct refusal_recorder {
    rcmgr::scope_stat refuser, owner;
    std::string owner_kind;
    void on_event(const scope_event& e) {
      if (e.err != nullptr) refuser = e.refuser_usage;
      if (e.what == scope_event::type::reserved && e.scope.kind == "span") {
        owner = e.owner_usage;
        owner_kind = std::string(e.owner_kind);
      }
    }
  };
  auto limits = lp::default_limits();
  limits.set<lp::peer_scope>({1, 5, 10, 2, 2, 4, 4, 1 << 20});
  rcmgr::resource_manager<rcmgr::single_threaded, rcmgr::observed_by<refusal_recorder>> mgr(limits);
  auto a = mgr.open_stream(peer_id("P1"), direction::inbound);
  auto b = mgr.open_stream(peer_id("P1"), direction::outbound);
  REQUIRE(a);
  REQUIRE(b);
  REQUIRE(a->reserve_memory(300));
  REQUIRE_FALSE(mgr.open_stream(peer_id("P1"), direction::inbound));
  auto& o = mgr.observer();
  CHECK(o.refuser.streams_inbound == 1);
  CHECK(o.refuser.streams_outbound == 1);  // the error carries only the inbound count
  CHECK(o.refuser.memory == 300);
  auto c = mgr.open_connection(direction::inbound, false);
  REQUIRE(c);
  REQUIRE(c->reserve_memory(50));
  auto sp = c->begin_span();
  REQUIRE(sp);
  auto inner = sp->begin_span();
  REQUIRE(inner);
  REQUIRE(inner->reserve_memory(7));
  CHECK(o.owner_kind == "connection");
  CHECK(o.owner.memory == 57);
  CHECK(o.owner.conns_inbound == 1);
}
