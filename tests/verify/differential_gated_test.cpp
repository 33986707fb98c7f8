// Differential test of the gated manager: the sequences of differential_test.cpp (memory,
// streams, spans, views, limit changes, misuse) on rcmgr::gated_resource_manager, with
// connections opened from endpoints in a few subnets (an allowlisted network, an address
// allowlisted for one peer, a network with its own count, loopback, IPv6 /56s of one /48,
// endpoints without an address), the clock stepped and allowlist entries added and removed.
// The reference model predicts every outcome (gate refusals by subnet, network and bucket,
// fallbacks to the allowlisted scopes, set_peer leaving them) and every count: every scope's
// usage, the allowlisted scopes', every subnet's and network's connection count.
// The environment variables of differential_test.cpp apply; this test takes a quarter of the
// time budget (RCMGR_VERIFY_SECONDS).
#include <catch2/catch.hpp>

#include "verify/differential.hpp"

TEST_CASE("the gated manager agrees with the reference model on random call sequences", "[verify][differential][gating]") {
  verify::run_sequences<rcmgr::thread_safe, rcmgr::hashed_storage, true>("gated thread_safe", 200);
}

TEST_CASE("the gated manager agrees with the reference model under the other concurrency policies",
          "[verify][differential][gating]") {
  // single_threaded: the gate without locks; thread_cached (the default policy): the shared
  // scopes' per-thread memory stock, which the allowlisted system and transient scopes have too
  verify::run_sequences<rcmgr::single_threaded, rcmgr::hashed_storage, true>("gated single_threaded", 100);
  verify::run_sequences<rcmgr::thread_cached<>, rcmgr::hashed_storage, true>("gated thread_cached", 100);
}
