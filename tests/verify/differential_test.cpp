// Differential test: long random call sequences on the real manager (both concurrency policies)
// and on the reference model, compared after every call (see driver.hpp).
//
//   RCMGR_SEED=<n>        replay one sequence (both policies), e.g. the seed a failure printed
//   RCMGR_SEQUENCES=<n>   sequences per policy (default 1000)
//   RCMGR_STEPS=<n>       calls per sequence (default 300)
//   RCMGR_VERBOSE=1       with RCMGR_SEED: print every call and the system usage after it
#include <catch2/catch.hpp>

#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <string>

#include "verify/driver.hpp"

namespace {

std::uint64_t env_or(const char* name, std::uint64_t fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? std::strtoull(v, nullptr, 0) : fallback;
}

/// Sequence i's seed: spread out so that neighbouring sequences share nothing.
std::uint64_t seed_of(std::uint64_t i) { return 0x5eed0000ull + i * 7919ull; }

template <class Policy>
void run_sequences(const char* policy_name) {
  const char* one = std::getenv("RCMGR_SEED");
  const std::uint64_t count = one != nullptr ? 1 : env_or("RCMGR_SEQUENCES", 1000);
  const int steps = int(env_or("RCMGR_STEPS", 300));
  std::uint64_t calls = 0, refusals = 0, state_errors = 0;
  for (std::uint64_t i = 0; i < count; ++i) {
    const std::uint64_t seed = one != nullptr ? std::strtoull(one, nullptr, 0) : seed_of(i);
    verify::rng_source src(seed);
    const verify::config cfg = verify::random_config(src);
    verify::driver<Policy> d(cfg);
    d.verbose = one != nullptr && std::getenv("RCMGR_VERBOSE") != nullptr;
    const std::string failure = d.run(src, steps);
    calls += d.steps;
    refusals += d.refusals;
    state_errors += d.state_errors;
    if (!failure.empty()) {
      FAIL_CHECK(policy_name << " seed " << seed << " (replay: RCMGR_SEED=" << seed << "): " << failure << "\nlast calls:\n"
                             << d.recent());
      return;
    }
  }
  std::cout << "differential[" << policy_name << "]: " << count << " sequences, " << calls << " calls compared ("
            << refusals << " refused by a limit, " << state_errors << " other errors)\n";
  CHECK(calls > count);
}

}  // namespace

TEST_CASE("the thread-safe manager agrees with the reference model on random call sequences", "[verify][differential]") {
  run_sequences<rcmgr::thread_safe>("thread_safe");
}

TEST_CASE("the single-threaded manager agrees with the reference model on random call sequences", "[verify][differential]") {
  run_sequences<rcmgr::single_threaded>("single_threaded");
}
