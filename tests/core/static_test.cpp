// What the compiler proves: the analysis of the libp2p topology, the public concepts, the null
// manager compiling to nothing, and "does not compile" facts probed through named traits.
#include <string>
#include <string_view>
#include <type_traits>

#include "support.hpp"

namespace lp = rcmgr::libp2p;
using rcmgr::direction;
using rcmgr::detail::bit;
using rcmgr::detail::mask_t;

namespace {

template <class K, class KL>
struct index_in;
template <class K, class... Ks>
struct index_in<K, rcmgr::detail::type_list<Ks...>> {
  static constexpr int value = rcmgr::detail::index_of<K, Ks...>();
};
template <class K>
constexpr int ix = index_in<K, lp::topology::kind_list>::value;
template <class K>
constexpr mask_t m = bit(ix<K>);

using G = lp::topology::graph_type;

constexpr int position_in_order(int kind) {
  constexpr auto o = G::order();
  for (int i = 0; i < G::n; ++i)
    if (o[std::size_t(i)] == kind) return i;
  return -1;
}
/// Every kind charged (directly or not) to system comes before system in the charge order.
constexpr bool system_last_among_its_descendants() {
  for (int k = 0; k < G::n; ++k)
    if ((G::any_closure(k) & m<lp::system_scope>) && position_in_order(k) > position_in_order(ix<lp::system_scope>))
      return false;
  return true;
}
/// The charge order is a permutation of the kinds and a topological order: parents after children.
constexpr bool order_is_topological() {
  for (int k = 0; k < G::n; ++k) {
    if (position_in_order(k) < 0) return false;
    for (int p = 0; p < G::n; ++p)
      if ((G::any_closure(k) & bit(p)) && position_in_order(p) < position_in_order(k)) return false;
  }
  return true;
}

}  // namespace

TEST_CASE("the libp2p topology, analysed at compile time", "[static][topology]") {
  STATIC_REQUIRE(rcmgr::scope_topology<lp::topology>);
  STATIC_REQUIRE(lp::topology::valid);
  STATIC_REQUIRE(G::n == 9);
  STATIC_REQUIRE(G::first_problem().code == rcmgr::detail::problem_code::none);

  // shared kinds: the closure of each is the system scope, views have none of their own
  STATIC_REQUIRE(G::static_closure(ix<lp::system_scope>) == 0);
  STATIC_REQUIRE(G::static_closure(ix<lp::transient_scope>) == m<lp::system_scope>);
  STATIC_REQUIRE(G::static_closure(ix<lp::peer_scope>) == m<lp::system_scope>);
  STATIC_REQUIRE(G::static_closure(ix<lp::protocol_scope>) == m<lp::system_scope>);
  STATIC_REQUIRE(G::static_closure(ix<lp::service_scope>) == m<lp::system_scope>);
  STATIC_REQUIRE(G::static_closure(ix<lp::protocol_peer_scope>) == 0);
  STATIC_REQUIRE(G::static_closure(ix<lp::service_peer_scope>) == 0);

  // states: a connection has one late parent (2 states), a stream two (4 states, one invalid)
  STATIC_REQUIRE(G::state_count(ix<lp::connection_scope>) == 2);
  STATIC_REQUIRE(G::state_count(ix<lp::stream_scope>) == 4);
  STATIC_REQUIRE(G::state_count(ix<lp::system_scope>) == 1);
  STATIC_REQUIRE(G::late_bit(ix<lp::connection_scope>, ix<lp::peer_scope>) == 0);
  STATIC_REQUIRE(G::late_bit(ix<lp::stream_scope>, ix<lp::protocol_scope>) == 0);
  STATIC_REQUIRE(G::late_bit(ix<lp::stream_scope>, ix<lp::service_scope>) == 1);
  STATIC_REQUIRE(G::late_bit(ix<lp::stream_scope>, ix<lp::peer_scope>) == -1);  // bound at open
  STATIC_REQUIRE(G::valid_state(ix<lp::stream_scope>, 0b11));
  STATIC_REQUIRE_FALSE(G::valid_state(ix<lp::stream_scope>, 0b10));  // a service without a protocol

  // the flat charge masks: the table in anchors.md
  constexpr int conn = ix<lp::connection_scope>, strm = ix<lp::stream_scope>;
  STATIC_REQUIRE(G::flat(conn, 0) == (m<lp::transient_scope> | m<lp::system_scope>));
  STATIC_REQUIRE(G::flat(conn, 1) == (m<lp::peer_scope> | m<lp::system_scope>));
  STATIC_REQUIRE(G::flat(strm, 0) == (m<lp::peer_scope> | m<lp::transient_scope> | m<lp::system_scope>));
  STATIC_REQUIRE(G::flat(strm, 1) ==
                 (m<lp::peer_scope> | m<lp::protocol_peer_scope> | m<lp::protocol_scope> | m<lp::system_scope>));
  STATIC_REQUIRE(G::flat(strm, 3) == (m<lp::peer_scope> | m<lp::protocol_peer_scope> | m<lp::service_peer_scope> |
                                      m<lp::protocol_scope> | m<lp::service_scope> | m<lp::system_scope>));
  // the connection is not an ancestor of the stream
  STATIC_REQUIRE(G::owner(strm) == -1);
  STATIC_REQUIRE((G::any_closure(strm) & m<lp::connection_scope>) == 0);

  // parent slots a node stores: the peer for a connection; peer, protocol, service and both views for a stream
  STATIC_REQUIRE(G::slot_count(conn) == 1);
  STATIC_REQUIRE(G::slot_count(strm) == 5);

  // charge order: children first, system after everything charged to it
  STATIC_REQUIRE(order_is_topological());
  STATIC_REQUIRE(system_last_among_its_descendants());
}

TEST_CASE("the public concepts", "[static][concepts]") {
  STATIC_REQUIRE(rcmgr::scope_topology<lp::topology>);
  STATIC_REQUIRE_FALSE(rcmgr::scope_topology<int>);
  STATIC_REQUIRE_FALSE(rcmgr::scope_topology<lp::system_scope>);
  STATIC_REQUIRE(rcmgr::scope_kind<lp::peer_scope>);
  STATIC_REQUIRE(rcmgr::scope_kind<rcmgr::span_of<lp::stream_scope>>);
  STATIC_REQUIRE_FALSE(rcmgr::scope_kind<int>);
  STATIC_REQUIRE_FALSE(rcmgr::scope_kind<lp::topology>);

  using small = rcmgr::static_limit<rcmgr::limit{1, 1, 1, 0, 0, 0, 0, 4096}>;
  STATIC_REQUIRE(rcmgr::scope_limit<rcmgr::limit>);
  STATIC_REQUIRE(rcmgr::scope_limit<small>);
  STATIC_REQUIRE(rcmgr::scope_limit<rcmgr::unlimited_limit>);
  STATIC_REQUIRE_FALSE(rcmgr::scope_limit<int>);
  STATIC_REQUIRE_FALSE(rcmgr::scope_limit<rcmgr::scope_stat>);
  STATIC_REQUIRE(rcmgr::constant_limit<small>);
  STATIC_REQUIRE_FALSE(rcmgr::constant_limit<rcmgr::limit>);
  STATIC_REQUIRE(std::is_empty_v<small>);
  STATIC_REQUIRE(small::memory_limit() == 4096);
  STATIC_REQUIRE(small::conn_total_limit() == 0);

  STATIC_REQUIRE(rcmgr::scope_key<rcmgr::peer_id>);
  STATIC_REQUIRE(rcmgr::scope_key<std::string>);
  STATIC_REQUIRE_FALSE(rcmgr::scope_key<std::string_view*>);
}

// ---- "does not compile", probed in a compiling TU ----------------------------------------------

namespace probe {
template <class Handle, class P, class... Key>
concept can_set = requires(Handle& h, const Key&... k) { h.template set<P>(k...); };
template <class M, class K, class... Args>
concept can_open = requires(M& m, Args&&... a) { m.template open<K>(direction::inbound, false, a...); };
template <class M, class K>
concept can_view_without_key = requires(M& m) { m.template view<K>([](auto&) {}); };
template <class M, class K>
concept can_stat = requires(M& m) { m.template stat<K>(); };
template <class H>
concept can_set_peer = requires(H& h) { h.set_peer(rt::peer_a); };
template <class H>
concept can_set_protocol = requires(H& h) { h.set_protocol("/x"); };
}  // namespace probe

TEMPLATE_LIST_TEST_CASE("misuse of the API is rejected at compile time", "[static][probe]", rt::real_managers) {
  using M = TestType;
  using conn = typename M::connection;
  using stream = typename M::stream;
  // set<P>: only late parents, with the right key
  STATIC_REQUIRE(probe::can_set<conn, lp::peer_scope, rcmgr::peer_id>);
  STATIC_REQUIRE(probe::can_set<stream, lp::protocol_scope, std::string_view>);
  STATIC_REQUIRE(probe::can_set<stream, lp::service_scope, std::string>);
  STATIC_REQUIRE_FALSE(probe::can_set<conn, lp::protocol_scope, std::string>);  // not a parent of a connection
  STATIC_REQUIRE_FALSE(probe::can_set<stream, lp::peer_scope, rcmgr::peer_id>);  // bound at open, not late
  STATIC_REQUIRE_FALSE(probe::can_set<stream, lp::transient_scope>);              // until<>, not settable
  STATIC_REQUIRE_FALSE(probe::can_set<conn, lp::peer_scope>);                     // the key is missing
  STATIC_REQUIRE_FALSE(probe::can_set<conn, lp::peer_scope, rcmgr::peer_id, rcmgr::peer_id>);
  STATIC_REQUIRE_FALSE(probe::can_set<conn, lp::peer_scope, int>);                // not a peer id
  STATIC_REQUIRE_FALSE(probe::can_set<conn, int, int>);                           // not a kind
  STATIC_REQUIRE_FALSE(probe::can_set<typename M::template span<lp::stream_scope>, lp::protocol_scope, std::string>);
  // the libp2p names exist only where they mean something
  STATIC_REQUIRE(probe::can_set_peer<conn>);
  STATIC_REQUIRE_FALSE(probe::can_set_peer<stream>);
  STATIC_REQUIRE(probe::can_set_protocol<stream>);
  STATIC_REQUIRE_FALSE(probe::can_set_protocol<conn>);

  // open<K>: per-object kinds only, with their keyed parents' keys
  STATIC_REQUIRE(probe::can_open<M, lp::connection_scope>);
  STATIC_REQUIRE(probe::can_open<M, lp::stream_scope, rcmgr::peer_id>);
  STATIC_REQUIRE_FALSE(probe::can_open<M, lp::system_scope>);
  STATIC_REQUIRE_FALSE(probe::can_open<M, lp::peer_scope, rcmgr::peer_id>);
  STATIC_REQUIRE_FALSE(probe::can_open<M, lp::protocol_peer_scope>);
  STATIC_REQUIRE_FALSE(probe::can_open<M, lp::stream_scope>);                        // its peer is missing
  STATIC_REQUIRE_FALSE(probe::can_open<M, lp::stream_scope, int>);                   // not a peer id
  STATIC_REQUIRE_FALSE(probe::can_open<M, lp::connection_scope, rcmgr::peer_id>);  // takes no key
  STATIC_REQUIRE_FALSE(probe::can_open<M, rcmgr::span_of<lp::stream_scope>>);
  STATIC_REQUIRE_FALSE(probe::can_open<M, int>);

  // view<K>(f) without a key: singletons only; stat<K>(): singletons only
  STATIC_REQUIRE(probe::can_view_without_key<M, lp::system_scope>);
  STATIC_REQUIRE_FALSE(probe::can_view_without_key<M, lp::connection_scope>);
  STATIC_REQUIRE_FALSE(probe::can_view_without_key<M, lp::peer_scope>);
  STATIC_REQUIRE(probe::can_stat<M, lp::transient_scope>);
  STATIC_REQUIRE_FALSE(probe::can_stat<M, lp::peer_scope>);

  // handles own their scope: move-only; references to shared scopes copy
  STATIC_REQUIRE_FALSE(std::is_copy_constructible_v<stream>);
  STATIC_REQUIRE_FALSE(std::is_copy_assignable_v<conn>);
  STATIC_REQUIRE(std::is_nothrow_move_constructible_v<stream>);
  STATIC_REQUIRE(std::is_nothrow_move_assignable_v<stream>);
  STATIC_REQUIRE(std::is_copy_constructible_v<typename M::peer_ref>);
  // managers are pinned: handles point into them
  STATIC_REQUIRE_FALSE(std::is_copy_constructible_v<M>);
  STATIC_REQUIRE_FALSE(std::is_move_constructible_v<M>);
  // reservations never throw
  STATIC_REQUIRE(noexcept(std::declval<stream&>().reserve_memory(1)));
  STATIC_REQUIRE(noexcept(std::declval<stream&>().release_memory(1)));
  STATIC_REQUIRE(noexcept(std::declval<stream&>().done()));
  STATIC_REQUIRE(noexcept(std::declval<typename M::peer_ref&>().reserve_memory(1)));
}

// ---- the null manager compiles to nothing ----------------------------------------------------

namespace {
using null_conn = rcmgr::null_resource_manager::connection;
using null_stream = rcmgr::null_resource_manager::stream;
using null_span = rcmgr::null_handle<rcmgr::span_of<lp::stream_scope>>;
using null_peer = rcmgr::null_ref<lp::peer_scope>;

struct with_null_member {
  int payload;
  [[no_unique_address]] null_stream scope;
};
struct with_null_members {
  void* p;
  [[no_unique_address]] null_conn c;
  [[no_unique_address]] null_stream s;
  [[no_unique_address]] rcmgr::null_resource_manager mgr;
};

/// A whole session on the null manager, evaluated by the compiler.
constexpr bool null_session() {
  rcmgr::null_resource_manager mgr;
  const rcmgr::peer_id p{};
  auto c = mgr.open_connection(direction::inbound, true);
  if (!c || !c->set_peer(p)) return false;
  auto s = mgr.open_stream(p, direction::outbound);
  if (!s || !s->set_protocol("/ipfs/id/1.0.0") || !s->set_service("identify")) return false;
  if (!s->reserve_memory(1 << 20, rcmgr::priority::low)) return false;
  s->release_memory(1 << 20);
  auto sp = s->begin_span();
  if (!sp || !sp->reserve_memory(rcmgr::unlimited)) return false;
  auto nested = sp->begin_span();
  nested->done();
  sp->done();
  if (!mgr.view_peer(p, [](auto& r) { return r.reserve_memory(-1); })) return false;  // even this "succeeds"
  if (!(s->stat() == rcmgr::scope_stat{})) return false;
  s->done();
  c->done();
  mgr.close();
  return !mgr.closed() && mgr.live_count<lp::peer_scope>() == 0;
}
}  // namespace

TEST_CASE("null handles and results are empty, trivial and constant", "[static][null]") {
  STATIC_REQUIRE(std::is_empty_v<rcmgr::null_resource_manager>);
  STATIC_REQUIRE(std::is_empty_v<null_conn>);
  STATIC_REQUIRE(std::is_empty_v<null_stream>);
  STATIC_REQUIRE(std::is_empty_v<null_span>);
  STATIC_REQUIRE(std::is_empty_v<null_peer>);
  STATIC_REQUIRE(std::is_empty_v<rcmgr::null_result<void>>);
  STATIC_REQUIRE(std::is_empty_v<rcmgr::null_result<null_stream>>);
  STATIC_REQUIRE(sizeof(rcmgr::null_result<void>) == 1);

  STATIC_REQUIRE(std::is_trivially_destructible_v<null_stream>);
  STATIC_REQUIRE(std::is_trivially_destructible_v<null_peer>);
  STATIC_REQUIRE(std::is_trivially_destructible_v<rcmgr::null_resource_manager>);
  STATIC_REQUIRE(std::is_trivially_copyable_v<null_conn>);
  STATIC_REQUIRE(std::is_trivially_copyable_v<rcmgr::null_result<null_stream>>);
  STATIC_REQUIRE(std::is_trivially_default_constructible_v<null_stream>);

  STATIC_REQUIRE(sizeof(with_null_member) == sizeof(int));
  STATIC_REQUIRE(sizeof(with_null_members) == sizeof(void*));

  STATIC_REQUIRE(noexcept(std::declval<null_stream&>().reserve_memory(1)));
  STATIC_REQUIRE(noexcept(std::declval<null_stream&>().release_memory(1)));
  STATIC_REQUIRE(noexcept(std::declval<null_stream&>().begin_span()));
  STATIC_REQUIRE(noexcept(std::declval<null_stream&>().done()));
  STATIC_REQUIRE(noexcept(std::declval<null_conn&>().set<lp::peer_scope>(rt::peer_a)));
  STATIC_REQUIRE(noexcept(std::declval<rcmgr::null_resource_manager&>().open<lp::connection_scope>(direction::inbound, true)));
  STATIC_REQUIRE(noexcept(std::declval<null_peer&>().reserve_memory(1)));

  STATIC_REQUIRE(null_session());
}

TEST_CASE("result<void> is the error plus a flag, and trivially destructible", "[static][result]") {
  STATIC_REQUIRE(std::is_trivially_destructible_v<rcmgr::result<void>>);
  STATIC_REQUIRE(std::is_trivially_destructible_v<rcmgr::error>);
  STATIC_REQUIRE(sizeof(rcmgr::result<void>) <= sizeof(rcmgr::error) + alignof(rcmgr::error));
  STATIC_REQUIRE(std::is_nothrow_copy_constructible_v<rcmgr::result<void>>);
  // success costs nothing to build
  constexpr rcmgr::result<void> ok{};
  STATIC_REQUIRE(std::is_nothrow_default_constructible_v<rcmgr::result<void>>);
  CHECK(ok.has_value());
}
