// The differential test's loop: runs the seeded sequences of one concurrency policy and
// reports the first disagreement with the seed that replays it (see differential_test.cpp).
#pragma once

#include <catch2/catch.hpp>

#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <string>

#include "verify/driver.hpp"

namespace verify {

inline std::uint64_t env_or(const char* name, std::uint64_t fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? std::strtoull(v, nullptr, 0) : fallback;
}

/// Sequence i's seed: spread out so that neighbouring sequences share nothing.
inline std::uint64_t seed_of(std::uint64_t i) { return 0x5eed0000ull + i * 7919ull; }

/// `default_count`: sequences run when RCMGR_SEQUENCES is not set.
template <class Policy, class Storage = rcmgr::hashed_storage>
void run_sequences(const char* policy_name, std::uint64_t default_count = 800) {
  const char* one = std::getenv("RCMGR_SEED");
  const std::uint64_t count = one != nullptr ? 1 : env_or("RCMGR_SEQUENCES", default_count);
  const int steps = int(env_or("RCMGR_STEPS", 300));
  std::uint64_t calls = 0, refusals = 0, state_errors = 0;
  for (std::uint64_t i = 0; i < count; ++i) {
    const std::uint64_t seed = one != nullptr ? std::strtoull(one, nullptr, 0) : seed_of(i);
    rng_source src(seed);
    const config cfg = random_config(src);
    driver<Policy, Storage> d(cfg);
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

}  // namespace verify
