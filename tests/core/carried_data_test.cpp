// carries<T> on a custom topology: the data a scope carries is set at open (open_carrying) or
// written in place (open_filling), its on_end() runs exactly once whatever way the scope ends,
// and an instead_of<> alternative is taken only when the data agrees. This is the mechanism
// connection gating is built on, tested here without it.
#include <string_view>

#include "support.hpp"
#include "rcmgr/manager.hpp"
#include "rcmgr/topology.hpp"

using rcmgr::direction;
using rcmgr::errc;
using rcmgr::resource;

namespace {

/// What a test connection carries: a pass (an external resource the scope holds while it lives,
/// e.g. a slot in a table of remote addresses) and whether it may use the reserve scope.
struct pass {
  int* live = nullptr;     ///< passes handed out and not yet given back
  int* ended = nullptr;    ///< on_end() calls
  bool vip = false;
  int id = 0;
  void on_end() noexcept {
    if (ended != nullptr) ++*ended;
    if (live != nullptr && id != 0) --*live, id = 0;
  }
  bool take_alternative() noexcept { return vip; }
};

struct device_scope : rcmgr::scope<rcmgr::singleton, rcmgr::accounts<resource::memory, resource::conns>> {
  static constexpr std::string_view name = "device";
};
struct reserve_scope : rcmgr::scope<rcmgr::singleton, rcmgr::accounts<resource::memory, resource::conns>> {
  static constexpr std::string_view name = "reserve";
};
struct link_scope : rcmgr::scope<rcmgr::accounts<resource::memory, resource::conns>, rcmgr::carries<pass>> {
  static constexpr std::string_view name = "link";
};
struct topo : rcmgr::topology<rcmgr::kinds<device_scope, reserve_scope, link_scope>, rcmgr::edge<link_scope, device_scope>,
                              rcmgr::edge<link_scope, reserve_scope, rcmgr::instead_of<device_scope>>> {};
using manager = rcmgr::basic_resource_manager<topo, rcmgr::thread_safe>;

rcmgr::limit conns(std::int64_t n) {
  rcmgr::limit l;
  l.conns = l.conns_inbound = l.conns_outbound = n;
  l.memory = 1 << 20;
  return l;
}
rcmgr::limit_set<topo> limits(std::int64_t device, std::int64_t reserve) {
  rcmgr::limit_set<topo> ls;
  ls.set<device_scope>(conns(device));
  ls.set<reserve_scope>(conns(reserve));
  ls.set<link_scope>(conns(1));
  return ls;
}
template <class K>
std::uint64_t conns_of(manager& m) {
  return m.view<K>([](auto r) { return r.stat().conns_inbound; });
}

}  // namespace

TEST_CASE("open_filling writes the data in place; a failed fill opens nothing and ends nothing") {
  manager m(limits(2, 1));
  int live = 0, ended = 0, fills = 0;
  auto give = [&](pass& p) noexcept -> rcmgr::result<void> {
    ++fills;
    p.live = &live;
    p.ended = &ended;
    p.id = 7;
    ++live;
    return {};
  };
  {
    auto c = m.open_filling<link_scope>(give, direction::inbound, false);
    REQUIRE(c);
    CHECK(fills == 1);
    CHECK(c->carried().id == 7);
    CHECK(live == 1);
    CHECK(conns_of<device_scope>(m) == 1);
    c->done();
    CHECK(ended == 1);
    CHECK(live == 0);
  }
  CHECK(ended == 1);  // done() ended it; the handle's destructor does not end it twice

  // A fill that fails: its error comes back as it is, nothing is charged, on_end() is not called.
  auto refuse = [&](pass& p) noexcept -> rcmgr::result<void> {
    ++fills;
    p.ended = &ended;  // must not be used: the scope never existed
    rcmgr::error e;
    e.code = errc::rate_limited;
    e.scope = rcmgr::scope_name("rate", "198.51.100.7/32");
    return e;
  };
  auto r = m.open_filling<link_scope>(refuse, direction::inbound, false);
  REQUIRE_FALSE(r);
  CHECK(r.error().code == errc::rate_limited);
  CHECK(r.error().scope.key() == "198.51.100.7/32");
  CHECK(fills == 2);
  CHECK(ended == 1);
  CHECK(conns_of<device_scope>(m) == 0);
  CHECK(conns_of<reserve_scope>(m) == 0);
}

TEST_CASE("a fill whose scope the limits refuse is ended once: what it took is given back") {
  manager m(limits(1, 0));
  int live = 0, ended = 0;
  auto give = [&](pass& p) noexcept -> rcmgr::result<void> {
    p.live = &live;
    p.ended = &ended;
    p.id = 1;
    ++live;
    return {};
  };
  auto a = m.open_filling<link_scope>(give, direction::inbound, false);
  REQUIRE(a);
  auto b = m.open_filling<link_scope>(give, direction::inbound, false);  // device full, not a vip
  REQUIRE_FALSE(b);
  CHECK(b.error().code == errc::limit_exceeded);
  CHECK(ended == 1);  // b's pass was given back by on_end()
  CHECK(live == 1);   // a's is still held
  a->done();
  CHECK(live == 0);
  CHECK(ended == 2);
}

TEST_CASE("a closed manager never runs the fill") {
  manager m(limits(4, 4));
  int fills = 0;
  m.close();
  auto r = m.open_filling<link_scope>(
      [&](pass&) noexcept -> rcmgr::result<void> {
        ++fills;
        return {};
      },
      direction::inbound, false);
  REQUIRE_FALSE(r);
  CHECK(r.error().code == errc::manager_closed);
  CHECK(fills == 0);
}

TEST_CASE("open_carrying moves the data in; the alternative is taken only when the data agrees") {
  manager m(limits(1, 1));
  int live = 0, ended = 0;
  auto a = m.open_carrying<link_scope>(pass{&live, &ended, false, 1}, direction::inbound, false);
  REQUIRE(a);
  ++live;
  CHECK_FALSE(a->in_alternative());
  pass regular{&live, &ended, false, 2};
  ++live;
  auto b = m.open_carrying<link_scope>(std::move(regular), direction::inbound, false);  // device full
  REQUIRE_FALSE(b);
  CHECK(b.error().scope.kind == "device");
  CHECK(ended == 1);  // the refused open ended its data
  CHECK(live == 1);
  ++live;
  auto c = m.open_carrying<link_scope>(pass{&live, &ended, true, 3}, direction::inbound, false);  // a vip: the reserve
  REQUIRE(c);
  CHECK(c->in_alternative());
  CHECK(conns_of<device_scope>(m) == 1);
  CHECK(conns_of<reserve_scope>(m) == 1);
  // a const lvalue is copied, the original untouched
  const pass copy_me{nullptr, &ended, true, 0};
  auto d = m.open_carrying<link_scope>(copy_me, direction::inbound, false);  // both full
  REQUIRE_FALSE(d);
  CHECK(ended == 2);  // the copy's on_end()
  a->done();
  c->done();
  CHECK(live == 0);
  CHECK(ended == 4);
  CHECK(conns_of<device_scope>(m) == 0);
  CHECK(conns_of<reserve_scope>(m) == 0);
}
