// The usage report, operator<< for scope_stat and limit, high-water marks, and the rate-limited
// refusal logger.
#include <catch2/catch.hpp>

#include <chrono>
#include <sstream>
#include <string>

#include "rcmgr/rcmgr.hpp"
#include "rcmgr/refusal_logger.hpp"
#include "rcmgr/report.hpp"

namespace {
namespace lp = rcmgr::libp2p;
using rcmgr::direction;
using rcmgr::peer_id;

std::string str(const auto& x) {
  std::ostringstream os;
  os << x;
  return os.str();
}
std::size_t count(const std::string& s, const std::string& what) {
  std::size_t n = 0;
  for (auto at = s.find(what); at != std::string::npos; at = s.find(what, at + 1)) ++n;
  return n;
}
}  // namespace

TEST_CASE("operator<< prints scope_stat and limit in one line") {
  rcmgr::scope_stat s;
  s.memory = 5048, s.streams_inbound = 3, s.streams_outbound = 1, s.conns_inbound = 2, s.fd = 2;
  CHECK(str(s) == "memory 4.9 KiB, streams 3 in + 1 out, conns 2 in + 0 out, fd 2");
  rcmgr::limit l{256, 512, 512, 8, 8, 8, 4, 64 << 20};
  CHECK(str(l) == "memory 64.0 MiB, streams 256 in / 512 out / 512 total, conns 8 in / 8 out / 8 total, fd 4");
  CHECK(str(rcmgr::limit{}) ==
        "memory unlimited, streams unlimited in / unlimited out / unlimited total, conns unlimited in / unlimited out / "
        "unlimited total, fd unlimited");
  CHECK(rcmgr::format_bytes(512) == "512 B");
  CHECK(rcmgr::format_bytes(3 << 29) == "1.5 GiB");
}

TEST_CASE("the usage report shows usage against limits, highlights scopes over the threshold, ranks peers") {
  auto limits = lp::default_limits();
  limits.set<lp::peer_scope>({16, 16, 32, 8, 8, 8, 4, 64 << 20});
  limits.set<lp::peer_scope>(peer_id("12D3KooWBig"), rcmgr::limit{100, 100, 200, 8, 8, 8, 4, 64 << 20});
  rcmgr::resource_manager<rcmgr::observed_by<rcmgr::high_water_observer>> mgr(limits);
  std::vector<decltype(mgr)::stream> streams;
  for (int i = 0; i < 4; ++i) streams.push_back(std::move(*mgr.open_stream(peer_id("12D3KooWCalm"), direction::outbound)));
  for (int i = 0; i < 16; ++i) streams.push_back(std::move(*mgr.open_stream(peer_id("12D3KooWAbuse"), direction::inbound)));
  for (int i = 0; i < 16; ++i) streams.push_back(std::move(*mgr.open_stream(peer_id("12D3KooWBig"), direction::inbound)));
  REQUIRE(streams[20].reserve_memory(8 << 20));  // the first of 12D3KooWBig's
  for (int i = 0; i < 10; ++i) streams.pop_back();  // a peak higher than now for 12D3KooWBig

  rcmgr::report_options opt;
  opt.limits = &limits;
  opt.top = 2;
  opt.high_water = &mgr.observer();
  const auto rep = rcmgr::make_usage_report(mgr, opt);
  // system, transient and the three peers hold something; nothing else does
  REQUIRE(rep.scopes.size() == 5);
  const auto find = [&](const std::string& n) -> const rcmgr::scope_report& {
    for (const auto& s : rep.scopes)
      if (s.name == n) return s;
    FAIL("no scope " << n);
    return rep.scopes.front();
  };
  CHECK(find("peer:12D3KooWAbuse").streams == Approx(1.0));  // 16 of 16 inbound
  CHECK(rep.above(find("peer:12D3KooWAbuse")));
  CHECK(find("peer:12D3KooWBig").lim.streams_inbound == 100);  // its own limit, not the default
  CHECK(find("peer:12D3KooWBig").streams == Approx(0.06));
  CHECK_FALSE(rep.above(find("peer:12D3KooWBig")));
  CHECK(find("peer:12D3KooWBig").peak.streams_inbound == 16);
  CHECK(find("peer:12D3KooWBig").usage.streams_inbound == 6);
  REQUIRE(rep.top[1].size() == 2);  // by streams: Abuse 16, Big 6 (Calm 4 cut by top = 2)
  CHECK(rep.top[1][0].peer == "12D3KooWAbuse");
  CHECK(rep.top[1][0].value == 16);
  CHECK(rep.top[1][1].peer == "12D3KooWBig");
  REQUIRE(rep.top[0].size() == 1);  // by memory: only Big holds any
  CHECK(rep.top[0][0].value == 8 << 20);

  std::ostringstream text;
  rcmgr::print_text(text, rep);
  const std::string t = text.str();
  CHECK(t.find("! peer:12D3KooWAbuse") != std::string::npos);
  CHECK(t.find("  peer:12D3KooWCalm") != std::string::npos);
  CHECK(t.find("streams  in 16 of 16 (100.0%)") != std::string::npos);
  CHECK(count(t, "\n! ") + (t.rfind("! ", 0) == 0) == 1);  // only the abusive peer is highlighted
  CHECK(t.find("top peers by streams:\n  12D3KooWAbuse  16\n  12D3KooWBig  6\n") != std::string::npos);

  std::ostringstream json;
  rcmgr::print_json(json, rep);
  const std::string j = json.str();
  CHECK(j.rfind("{\"threshold\":0.8,\"scopes\":[{\"name\":\"system\"", 0) == 0);
  CHECK(j.find("{\"name\":\"peer:12D3KooWAbuse\",\"above\":true,\"usage\":{\"Memory\":0,\"StreamsInbound\":16") != std::string::npos);
  CHECK(j.find("\"top_peers\":{\"memory\":[{\"peer\":\"12D3KooWBig\",\"value\":8388608}]") != std::string::npos);
  CHECK(count(j, "{") == count(j, "}"));

  SECTION("all: idle scopes too") {
    streams.clear();
    rcmgr::report_options every;
    every.all = true;
    const auto idle = rcmgr::make_usage_report(mgr, every);
    CHECK(rcmgr::make_usage_report(mgr).scopes.empty());
    CHECK(idle.scopes.size() >= 2);  // system and transient at least
  }
}

TEST_CASE("refusal_logger writes one line per scope and resource per interval and counts the rest") {
  auto limits = lp::default_limits();
  limits.set<lp::peer_scope>({2, 2, 4, 8, 8, 8, 4, 1 << 20});
  rcmgr::resource_manager<rcmgr::single_threaded, rcmgr::observed_by<rcmgr::refusal_logger>> mgr(limits);
  std::ostringstream out;
  auto now = std::chrono::steady_clock::time_point{} + std::chrono::hours(1);
  mgr.observer().attach(out, std::chrono::seconds(10));
  mgr.observer().set_clock([&] { return now; });
  const peer_id p("12D3KooWFlood");
  auto a = mgr.open_stream(p, direction::inbound);
  auto b = mgr.open_stream(p, direction::inbound);
  REQUIRE(a);
  REQUIRE(b);
  for (int i = 0; i < 1000; ++i) REQUIRE_FALSE(mgr.open_stream(p, direction::inbound));  // a flood
  REQUIRE_FALSE(a->reserve_memory(2 << 20));  // another resource of the same scope: its own line
  CHECK(count(out.str(), "\n") == 2);
  CHECK(out.str().find("rcmgr: refused: peer:12D3KooWFlood refused 1 inbound stream: 2 inbound in use, inbound limit 2\n") == 0);
  CHECK(mgr.observer().suppressed() == 999);

  now += std::chrono::seconds(5);  // still inside the window
  REQUIRE_FALSE(mgr.open_stream(p, direction::inbound));
  CHECK(count(out.str(), "\n") == 2);
  now += std::chrono::seconds(6);  // the window has passed: one line, with the count
  REQUIRE_FALSE(mgr.open_stream(p, direction::inbound));
  CHECK(count(out.str(), "\n") == 3);
  CHECK(out.str().find("(1000 more refusals of streams by peer:12D3KooWFlood in the last 11.0 s before this one)") != std::string::npos);

  REQUIRE_FALSE(mgr.open_stream(p, direction::inbound));
  mgr.observer().flush();
  CHECK(out.str().find("rcmgr: (1 more refusal of streams by peer:12D3KooWFlood in the last 0.0 s)\n") != std::string::npos);
  CHECK(mgr.observer().lines() == 4);
}

TEST_CASE("refusal_logger bounds the pairs it remembers") {
  auto limits = lp::default_limits();
  limits.set<lp::peer_scope>({0, 0, 0, 8, 8, 8, 4, 1 << 20});  // every peer stream refused
  rcmgr::resource_manager<rcmgr::single_threaded, rcmgr::observed_by<rcmgr::refusal_logger>> mgr(limits);
  std::ostringstream out;
  auto now = std::chrono::steady_clock::time_point{} + std::chrono::hours(1);
  mgr.observer().attach(out, std::chrono::seconds(10));
  mgr.observer().set_clock([&] { return now; });
  const std::size_t n = rcmgr::refusal_logger::max_pairs + 500;
  for (std::size_t i = 0; i < n; ++i) REQUIRE_FALSE(mgr.open_stream(peer_id("P" + std::to_string(i)), direction::inbound));
  // every pair beyond the bound shares the "other scopes" line: one line for it, the rest counted
  CHECK(mgr.observer().lines() == rcmgr::refusal_logger::max_pairs + 1);
  CHECK(mgr.observer().suppressed() == 499);
}
