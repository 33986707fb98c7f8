// Keys: distinct keys are distinct scopes, and a key that cannot be stored exactly is refused
// (never shortened). Adversarial pairs: long ids with a common prefix, an id spelling another's
// former stored form, ids differing at one byte position. Also empty references and handles.
#include <array>
#include <string>
#include <vector>

#include "support.hpp"

using namespace rt;

namespace {
// One id of each libp2p text form. The longest form is the base32 CIDv1 of a 42-byte identity
// multihash: 75 characters.
const std::vector<std::string> real_ids{
    "12D3KooWRBy97UB99e3J6hiPesre1MZeuNQvfan4gBziswrRJsNK",             // ed25519, base58
    "16Uiu2HAmLhLvBoYaoZfaMUKuibM6ac163GwKY74c5kiSLg5KvLpY",            // secp256k1, base58
    "QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N",                   // RSA (sha256), base58
    "bafzaajaiaejcbzdibmxyzdjbmxvnjqwh7vmkbmxwcemigltrlhl6gyqnzkgfv3o",  // CIDv1, base32
    "bafzaajaiaejc" + std::string(62, 'a'),                             // CIDv1, base32, longest
    "k51qzi5uqu5dhyeyzf5cm4sxdu6ms5njdcvcsesuufctzxsgf16gldbbtyal9e",    // CIDv1, base36
};

template <class M>
std::int64_t peer_memory(M& mgr, const peer_id& p) {
  return mgr.view_peer(p, [](auto& r) { return r.stat().memory; });
}
}  // namespace

// Known at compile time: building a peer id is a constant expression.
static_assert(peer_id("12D3KooW").size() == 8);
static_assert(peer_id("12D3KooW").valid());
static_assert(!peer_id("").valid() && peer_id().empty());
constexpr std::array<char, 80> eighty_bytes = [] {
  std::array<char, 80> a{};
  for (auto& c : a) c = 'x';
  return a;
}();
static_assert(!peer_id(std::string_view(eighty_bytes.data(), 80)).valid());
static_assert(peer_id(std::string_view(eighty_bytes.data(), 80)).input_size() == 80);
static_assert(peer_id(std::string_view(eighty_bytes.data(), 79)).valid());

TEST_CASE("every libp2p peer id form is stored exactly", "[keys]") {
  for (const auto& s : real_ids) {
    INFO(s);
    const peer_id p(s);
    CHECK(p.valid());
    CHECK(p.str() == s);
    CHECK_FALSE(p.problem());
  }
  CHECK(real_ids[4].size() == 75);
}

TEMPLATE_LIST_TEST_CASE("every libp2p peer id form gets its own peer scope", "[keys]", real_managers) {
  TestType mgr{unlimited_limits()};
  std::vector<typename TestType::stream> streams;
  for (const auto& s : real_ids) streams.push_back(take(mgr.open_stream(peer_id(s), direction::inbound)));
  CHECK(live_peers(mgr) == real_ids.size());
  for (std::size_t i = 0; i < real_ids.size(); ++i) {
    RT_OK(streams[i].reserve_memory(std::int64_t(i + 1)));
    CHECK(streams[i].peer_scope().peer().str() == real_ids[i]);
  }
  for (std::size_t i = 0; i < real_ids.size(); ++i) CHECK(peer_memory(mgr, peer_id(real_ids[i])) == std::int64_t(i + 1));
}

TEMPLATE_LIST_TEST_CASE("a peer id longer than a peer id holds is refused everywhere, naming the limit", "[keys]",
                        all_managers) {
  TestType mgr{unlimited_limits()};
  const std::string long_text(120, 'Q');
  const peer_id too_long(long_text);
  CHECK_FALSE(too_long.valid());
  CHECK(too_long.input_size() == 120);
  CHECK(too_long.str().empty());

  auto s = mgr.open_stream(too_long, direction::inbound);
  RT_REFUSED(TestType, errc::invalid_argument, s);
  if constexpr (accounts<TestType>) {
    CHECK(s.error().message() == "peer invalid argument: peer id of 120 bytes exceeds the 79-byte maximum");
    CHECK(system_stat(mgr).empty());
    CHECK(live_peers(mgr) == 0);
  }

  auto c = take(mgr.open_connection(direction::inbound, true));
  RT_REFUSED(TestType, errc::invalid_argument, c.set_peer(too_long));
  if constexpr (accounts<TestType>) {
    CHECK(transient_stat(mgr).conns_inbound == 1);  // still transient, and may retry
    CHECK(live_peers(mgr) == 0);
    CHECK(c.set_peer(too_long).error().message() == "peer invalid argument: peer id of 120 bytes exceeds the 79-byte maximum");
  }
  RT_OK(c.set_peer(peer_a));

  RT_REFUSED(TestType, errc::invalid_argument, mgr.view_peer(too_long, [](auto& p) { return p.reserve_memory(1); }));
  RT_REFUSED(TestType, errc::invalid_argument, mgr.view_peer(too_long, [](auto& p) { return p.begin_span(); }));
  if constexpr (accounts<TestType>) {
    CHECK(mgr.view_peer(too_long, [](auto& p) { return bool(p); }) == false);
    CHECK(live_peers(mgr) == 1);  // peer_a only
  }
}

TEMPLATE_LIST_TEST_CASE("an empty peer id is refused on open_stream, set_peer and view_peer", "[keys]", all_managers) {
  TestType mgr{unlimited_limits()};
  const peer_id none;
  RT_REFUSED(TestType, errc::invalid_argument, mgr.open_stream(none, direction::outbound));
  auto c = take(mgr.open_connection(direction::inbound, false));
  RT_REFUSED(TestType, errc::invalid_argument, c.set_peer(none));
  RT_REFUSED(TestType, errc::invalid_argument, mgr.view_peer(none, [](auto& p) { return p.reserve_memory(1); }));
  if constexpr (accounts<TestType>) {
    CHECK(mgr.open_stream(none, direction::outbound).error().message() == "peer invalid argument: empty peer id");
    CHECK(live_peers(mgr) == 0);
    CHECK(system_stat(mgr).memory == 0);
  }
}

TEMPLATE_LIST_TEST_CASE("long ids with a common prefix never share a scope", "[keys][adversarial]", real_managers) {
  TestType mgr{unlimited_limits()};
  // Two 100-byte ids sharing their first 62 bytes: once stored as prefix + hash, now refused.
  const std::string prefix(62, 'P');
  const peer_id a(prefix + std::string(38, 'a')), b(prefix + std::string(38, 'b'));
  RT_REFUSED(TestType, errc::invalid_argument, mgr.open_stream(a, direction::inbound));
  RT_REFUSED(TestType, errc::invalid_argument, mgr.open_stream(b, direction::inbound));
  // Two 79-byte ids (the longest stored) differing only in the last byte: two scopes.
  const peer_id x(std::string(78, 'L') + "x"), y(std::string(78, 'L') + "y");
  RT_OK(mgr.view_peer(x, [](auto& p) { return p.reserve_memory(7); }));
  CHECK(peer_memory(mgr, y) == 0);
  CHECK(peer_memory(mgr, x) == 7);
  mgr.view_peer(x, [](auto& p) { p.release_memory(7); });
  CHECK(live_peers(mgr) == 0);
}

TEMPLATE_LIST_TEST_CASE("an id spelling another id's former stored form is its own scope", "[keys][adversarial]",
                        real_managers) {
  TestType mgr{unlimited_limits()};
  // The former encoding kept a long id as its first 62 bytes, '#', and 16 hex digits of a hash.
  const std::string long_text = std::string(62, 'Z') + std::string(40, 'z');
  const std::string spelled = std::string(62, 'Z') + "#0123456789abcdef";
  REQUIRE(spelled.size() == peer_id::capacity);
  auto victim = mgr.open_stream(peer_id(long_text), direction::inbound);
  RT_REFUSED(TestType, errc::invalid_argument, victim);
  auto s = take(mgr.open_stream(peer_id(spelled), direction::inbound));
  CHECK(s.peer_scope().peer().str() == spelled);
  RT_OK(s.reserve_memory(100));
  CHECK(live_peers(mgr) == 1);
  CHECK(peer_memory(mgr, peer_id(spelled)) == 100);
}

TEMPLATE_LIST_TEST_CASE("ids differing at any single byte position are distinct scopes", "[keys][adversarial]",
                        real_managers) {
  TestType mgr{unlimited_limits()};
  for (std::size_t len : {std::size_t{1}, std::size_t{52}, peer_id::capacity}) {
    for (std::size_t i = 0; i < len; ++i) {
      std::string ta(len, 'k'), tb(len, 'k');
      tb[i] = 'm';
      const peer_id a(ta), b(tb);
      INFO("length " << len << ", position " << i);
      RT_OK(mgr.view_peer(a, [](auto& p) { return p.reserve_memory(3); }));
      CHECK(peer_memory(mgr, b) == 0);
      RT_OK(mgr.view_peer(b, [](auto& p) { return p.reserve_memory(5); }));
      CHECK(peer_memory(mgr, a) == 3);
      CHECK(live_peers(mgr) == 2);
      mgr.view_peer(a, [](auto& p) { p.release_memory(3); });
      mgr.view_peer(b, [](auto& p) { p.release_memory(5); });
      CHECK(live_peers(mgr) == 0);
    }
  }
}

TEMPLATE_LIST_TEST_CASE("protocol ids and service names: empty or above 1023 bytes is refused", "[keys]", all_managers) {
  TestType mgr{unlimited_limits()};
  const std::string longest(rcmgr::max_protocol_id_size, 'p'), too_long(rcmgr::max_protocol_id_size + 1, 'p');
  auto s = take(mgr.open_stream(peer_a, direction::inbound));
  RT_REFUSED(TestType, errc::invalid_argument, s.set_protocol(""));
  RT_REFUSED(TestType, errc::invalid_argument, s.set_protocol(too_long));
  if constexpr (accounts<TestType>) {
    CHECK(s.set_protocol(too_long).error().message() ==
          "protocol invalid argument: key of 1024 bytes exceeds the 1023-byte maximum");
    CHECK(s.set_protocol("").error().message() == "protocol invalid argument: empty key");
    CHECK(mgr.template live_count<lp::protocol_scope>() == 0);
    CHECK(transient_stat(mgr).streams_inbound == 1);
  }
  RT_REFUSED(TestType, errc::invalid_argument, mgr.view_protocol(too_long, [](auto& p) { return p.reserve_memory(1); }));
  RT_OK(s.set_protocol(longest));
  RT_REFUSED(TestType, errc::invalid_argument, s.set_service(std::string(rcmgr::max_service_name_size + 1, 's')));
  RT_REFUSED(TestType, errc::invalid_argument, s.set_service(""));
  RT_REFUSED(TestType, errc::invalid_argument, mgr.view_service("", [](auto& p) { return p.reserve_memory(1); }));
  RT_OK(s.set_service(std::string(rcmgr::max_service_name_size, 's')));
  if constexpr (accounts<TestType>) {
    CHECK(mgr.template live_count<lp::protocol_scope>() == 1);
    CHECK(mgr.template live_count<lp::service_scope>() == 1);
  }
}

TEMPLATE_LIST_TEST_CASE("every call on an empty reference has a defined result", "[keys][empty]", real_managers) {
  TestType mgr{unlimited_limits()};
  auto c = take(mgr.open_connection(direction::inbound, true));
  auto p = c.peer_scope();  // before set_peer
  CHECK_FALSE(p);
  CHECK(p.key().empty());
  CHECK(p.peer().empty());
  CHECK(p.stat().empty());
  CHECK(p.id().str() == "peer");
  RT_REFUSED(TestType, errc::not_attached, p.reserve_memory(1));
  RT_REFUSED(TestType, errc::not_attached, p.begin_span());
  p.release_memory(1);  // does nothing
  auto copy = p;
  CHECK_FALSE(copy);
  CHECK(mgr.misuse().over_releases == 0);

  auto s = take(mgr.open_stream(peer_a, direction::inbound));
  auto proto = s.protocol_scope();
  CHECK(proto.protocol().empty());
  CHECK(proto.stat().empty());
  auto svc = s.service_scope();
  CHECK(svc.name().empty());
  typename TestType::template ref<lp::protocol_peer_scope> view;
  CHECK(view.keys().first.empty());
  CHECK(view.keys().second.empty());
  CHECK(view.stat().empty());
  RT_REFUSED(TestType, errc::not_attached, view.reserve_memory(1));
  CHECK(system_stat(mgr).conns_inbound == 1);
}

TEMPLATE_LIST_TEST_CASE("every call on an empty handle has a defined result", "[keys][empty]", real_managers) {
  TestType mgr{unlimited_limits()};
  typename TestType::stream s;  // never opened
  CHECK_FALSE(s);
  CHECK(s.is_done());
  CHECK(s.stat().empty());
  CHECK(s.id().str() == "stream");
  RT_REFUSED(TestType, errc::scope_closed, s.reserve_memory(1));
  RT_REFUSED(TestType, errc::scope_closed, s.begin_span());
  RT_REFUSED(TestType, errc::scope_closed, s.set_protocol(proto_id));
  CHECK_FALSE(s.peer_scope());
  CHECK(s.peer_scope().peer().empty());
  CHECK_FALSE(s.protocol_scope());
  s.release_memory(1);
  s.done();
  typename TestType::connection c;
  RT_REFUSED(TestType, errc::scope_closed, c.set_peer(peer_a));
  CHECK(c.peer_scope().key().empty());
  CHECK(system_stat(mgr).empty());
  CHECK(mgr.misuse().over_releases == 0);
}
