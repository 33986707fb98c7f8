// Differential test: long random call sequences on the real manager and on the reference model,
// compared after every call (see driver.hpp). The two policies are in two files so that they
// compile in parallel (differential_single_test.cpp has single_threaded).
//
//   RCMGR_SEED=<n>        replay one sequence (both policies), e.g. the seed a failure printed
//   RCMGR_SEQUENCES=<n>   exactly n sequences per policy (default: by time, below)
//   RCMGR_VERIFY_SECONDS=<s>  time budget per policy (default 10; at least 100 sequences)
//   RCMGR_STEPS=<n>       calls per sequence (default 300)
//   RCMGR_VERBOSE=1       with RCMGR_SEED: print every call and the system usage after it
#include <catch2/catch.hpp>

#include "verify/differential.hpp"

TEST_CASE("the thread-safe manager agrees with the reference model on random call sequences", "[verify][differential]") {
  verify::run_sequences<rcmgr::thread_safe>("thread_safe");
}
