// Regression tests for limit-file bugs found by fuzz/fuzz_config.cpp.
#include <catch2/catch.hpp>

#include <string>

#include "rcmgr/config/json.hpp"

TEST_CASE("a limit file's peer id longer than a peer id can hold is refused, not silently changed", "[verify][regression]") {
  // Found as: "written limits do not parse back". A 112-character key was accepted, stored as
  // rcmgr::peer_id's prefix-and-hash form, and written back as that form, which no longer reads.
  const std::string longest(rcmgr::peer_id::capacity, 'a');
  const std::string too_long = longest + "b";
  auto bad = rcmgr::config::parse_limits(R"({"Peer": {")" + too_long + R"(": {"Conns": 1}}})");
  REQUIRE_FALSE(bad);
  CHECK_THAT(bad.error().str(), Catch::Contains("Peer") && Catch::Contains("longer than 79 characters"));

  auto ok = rcmgr::config::parse_limits(R"({"Peer": {")" + longest + R"(": {"Conns": 1}}})");
  REQUIRE(ok);
  const std::string written = rcmgr::config::write_limits(*ok);
  CHECK_THAT(written, Catch::Contains(longest));
  auto back = rcmgr::config::parse_limits(written);
  REQUIRE(back);
  CHECK(rcmgr::config::equivalent(*ok, *back));
  CHECK(back->limits.get<rcmgr::libp2p::peer_scope>(rcmgr::peer_id(longest)).conns == 1);
}
