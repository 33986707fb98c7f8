// Keys are chosen by remote peers (protocol ids, peer ids, multiaddr text): whatever bytes they
// hold, a log line stays one line without terminal escape sequences, and JSON stays valid UTF-8.
#include <catch2/catch.hpp>

#include <chrono>
#include <sstream>
#include <string>

#include "rcmgr/detail/printable.hpp"
#include "rcmgr/multiaddr.hpp"
#include "rcmgr/rcmgr.hpp"
#include "rcmgr/refusal_logger.hpp"
#include "rcmgr/report.hpp"

namespace {
namespace lp = rcmgr::libp2p;
using rcmgr::direction;
using rcmgr::peer_id;

// A protocol id a peer could send: a newline forging a second log line, a terminal escape
// sequence (clear screen, then red), the 8-bit CSI as UTF-8 (U+009B), a byte that is not UTF-8.
const std::string hostile = "/evil\nrcmgr: refused: forged\x1b[2J\x1b[31m\xc2\x9b\xff\\/1.0";
const std::string hostile_printed = "/evil\\x0arcmgr: refused: forged\\x1b[2J\\x1b[31m\\xc2\\x9b\\xff\\x5c/1.0";

bool has_raw_control(const std::string& s, bool newline_ok) {
  for (std::size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c == '\n' && newline_ok) continue;
    if (c < 0x20 || c == 0x7f || c == 0xff) return true;
    if (c == 0xc2 && i + 1 < s.size() && static_cast<unsigned char>(s[i + 1]) < 0xa0) return true;
  }
  return false;
}
std::size_t lines(const std::string& s) {
  std::size_t n = 0;
  for (char c : s) n += c == '\n';
  return n;
}
}  // namespace

TEST_CASE("error messages write a key's control characters and non-UTF-8 bytes as \\xNN") {
  rcmgr::error e;
  e.code = rcmgr::errc::limit_exceeded;
  e.res = rcmgr::resource::streams;
  e.scope = rcmgr::scope_name("protocol", hostile);
  const std::string m = e.message();
  CHECK(m.find("protocol:" + hostile_printed + " refused") == 0);
  CHECK_FALSE(has_raw_control(m, false));
  // the key itself keeps its bytes (it names the scope)
  CHECK(e.scope.key() == hostile);
  // well-formed UTF-8 is printed as it is
  CHECK(rcmgr::scope_name("protocol", "/chat/\xc3\xa9t\xc3\xa9/\xe2\x82\xac/\xf0\x9f\x98\x80").str() ==
        [] {
          std::ostringstream os;
          os << rcmgr::scope_name("protocol", "/chat/\xc3\xa9t\xc3\xa9/\xe2\x82\xac/\xf0\x9f\x98\x80");
          return os.str();
        }());
}

TEST_CASE("a multiaddr refused for hostile text cannot inject into the message") {
  auto r = rcmgr::parse_multiaddr("/ip4/1.2.3.4/\x1b]0;owned\x07\ntcp/1");
  REQUIRE_FALSE(r);
  const std::string m = r.error().message();
  CHECK_FALSE(has_raw_control(m, false));
  CHECK(m.find("\\x1b]0;owned\\x07\\x0atcp") != std::string::npos);
}

TEST_CASE("refusal_logger lines stay single lines without escape sequences, whatever the protocol id") {
  auto limits = lp::default_limits();
  auto proto = limits.get<lp::protocol_scope>();
  proto.streams_inbound = proto.streams = 1;
  limits.set<lp::protocol_scope>(proto);
  rcmgr::resource_manager<rcmgr::single_threaded, rcmgr::observed_by<rcmgr::refusal_logger>> mgr(limits);
  std::ostringstream out;
  auto now = std::chrono::steady_clock::time_point{} + std::chrono::hours(1);
  mgr.observer().attach(out, std::chrono::seconds(10));
  mgr.observer().set_clock([&] { return now; });
  const peer_id p("12D3KooWEvil");
  auto a = mgr.open_stream(p, direction::inbound);
  REQUIRE(a);
  REQUIRE(a->set_protocol(hostile));
  for (int i = 0; i < 3; ++i) {
    auto b = mgr.open_stream(p, direction::inbound);
    REQUIRE(b);
    REQUIRE_FALSE(b->set_protocol(hostile));
  }
  mgr.observer().flush();  // the suppressed ones: a second line naming the key again
  const std::string log = out.str();
  CHECK(lines(log) == 2);
  CHECK_FALSE(has_raw_control(log, true));
  CHECK(log.find("protocol:" + hostile_printed + " refused") != std::string::npos);
  CHECK(log.find("by protocol:" + hostile_printed + " in the last") != std::string::npos);
}

TEST_CASE("the text report escapes hostile keys; the JSON report stays valid UTF-8 JSON") {
  auto limits = lp::default_limits();
  rcmgr::resource_manager<> mgr(limits);
  const peer_id p("12D3KooW\x1b[2J\xff");  // a peer id a careless transport passed through
  auto s = mgr.open_stream(p, direction::inbound);
  REQUIRE(s);
  REQUIRE(s->set_protocol(hostile));
  REQUIRE(s->reserve_memory(1024));
  rcmgr::report_options opt;
  opt.limits = &limits;
  const auto rep = rcmgr::make_usage_report(mgr, opt);

  std::ostringstream text;
  rcmgr::print_text(text, rep);
  CHECK_FALSE(has_raw_control(text.str(), true));
  CHECK(text.str().find("protocol:" + hostile_printed) != std::string::npos);
  CHECK(text.str().find("12D3KooW\\x1b[2J\\xff") != std::string::npos);

  std::ostringstream json;
  rcmgr::print_json(json, rep);
  const std::string j = json.str();
  CHECK_FALSE(has_raw_control(j, false));
  // every byte of the document is ASCII or part of well-formed UTF-8
  for (std::size_t i = 0; i < j.size(); ++i)
    if (static_cast<unsigned char>(j[i]) >= 0x80) {
      const std::size_t n = rcmgr::detail::utf8_sequence(j, i);
      REQUIRE(n != 0);
      i += n - 1;
    }
  CHECK(j.find(R"("peer:12D3KooW\u001b[2J\u00ff")") != std::string::npos);
  CHECK(j.find(R"(\u001b[31m\u009b\u00ff\\/1.0")") != std::string::npos);
}

TEST_CASE("utf8_sequence accepts well-formed UTF-8 only") {
  using rcmgr::detail::utf8_sequence;
  CHECK(utf8_sequence("\xc3\xa9", 0) == 2);
  CHECK(utf8_sequence("\xe2\x82\xac", 0) == 3);
  CHECK(utf8_sequence("\xf0\x9f\x98\x80", 0) == 4);
  CHECK(utf8_sequence("\xc0\xaf", 0) == 0);          // overlong '/'
  CHECK(utf8_sequence("\xe0\x80\xaf", 0) == 0);      // overlong
  CHECK(utf8_sequence("\xed\xa0\x80", 0) == 0);      // a surrogate
  CHECK(utf8_sequence("\xf4\x90\x80\x80", 0) == 0);  // above U+10FFFF
  CHECK(utf8_sequence("\xe2\x82", 0) == 0);          // truncated
  CHECK(utf8_sequence("\x80", 0) == 0);              // a stray continuation byte
}

TEST_CASE("high_water_observer remembers a bounded number of scopes, whatever peer ids a remote makes up") {
  rcmgr::resource_manager<rcmgr::single_threaded, rcmgr::observed_by<rcmgr::high_water_observer>> mgr(lp::default_limits());
  const std::size_t n = rcmgr::high_water_observer::max_marks + 1000;
  for (std::size_t i = 0; i < n; ++i) {
    auto s = mgr.open_stream(peer_id("12D3KooWMadeUp" + std::to_string(i)), direction::inbound);
    REQUIRE(s);
    REQUIRE(s->reserve_memory(static_cast<std::int64_t>(i % 7 + 1)));
  }
  const auto marks = mgr.observer().marks();
  CHECK(marks.size() <= rcmgr::high_water_observer::max_marks + 1);
  REQUIRE(marks.count("other scopes") == 1);
  CHECK(marks.at("other scopes").memory == 7);
  CHECK(marks.at("system").memory == 7);  // shared scopes seen early keep their own mark
}
