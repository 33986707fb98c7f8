// Differential test of connection gating: random sequences of connection opens from a small pool
// of IPv4 and IPv6 addresses (loopback, allowlisted networks, an allowlisted peer's address, a
// network with its own count, IPv4-mapped addresses, endpoints without an IP), set_peer with
// allowed and other peers, done, and clock steps, run on rcmgr::gated_resource_manager and on
// the reference model (gating_model.hpp) by gating_driver.hpp. After every call the outcome, the
// connection counts of transient, system, the allowlisted scopes and every peer, and the count of
// every subnet and network must agree. Tight limits make every rule fire.
#include <catch2/catch.hpp>

#include <cstdint>
#include <random>

#include "gating_driver.hpp"

TEST_CASE("gated manager and gating model agree on random sequences") {
  rcmgr_verify::coverage cov;
  for (std::uint64_t seed = 1; seed <= 300; ++seed) {
    std::mt19937_64 rng(seed);
    rcmgr_verify::run_gating_sequence([&] { return rng(); }, 300, cov, [&](bool ok, const char* what) {
      INFO("seed " << seed << ": " << what);
      REQUIRE(ok);
    });
  }
  CHECK(cov.rate > 0);
  CHECK(cov.subnet > 0);
  CHECK(cov.scope > 0);
  CHECK(cov.alt_opens > 0);
  CHECK(cov.moves > 0);
  CHECK(cov.peer_refusals > 0);
  WARN("rate " << cov.rate << ", subnet " << cov.subnet << ", scope " << cov.scope << ", allowlisted opens " << cov.alt_opens
               << ", moves " << cov.moves << ", set_peer refusals " << cov.peer_refusals);
}
