// The differential test's loop: runs the seeded sequences of one concurrency policy and
// reports the first disagreement with the seed that replays it (see differential_test.cpp).
#pragma once

#include <catch2/catch.hpp>

#include <chrono>
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

/// Runs sequences 0, 1, 2, ... of one policy: RCMGR_SEQUENCES of them when it is set; otherwise
/// as many as fit in a time budget: RCMGR_VERIFY_SECONDS (default 10 s) scaled by
/// `default_count` / 800 (a lighter share for variants), at least min(100, default_count)
/// sequences, at most 100000. A slow build (a sanitizer) stays within its time and a fast one
/// tests more; the sequences run are always a prefix of the same list, so any failure replays
/// with the seed it prints.
/// Gated: the sequences drive rcmgr::gated_resource_manager (driver<..., true>), each with a
/// random gate (random_gating) drawn after its limits.
template <class Policy, class Storage = rcmgr::hashed_storage, bool Gated = false>
void run_sequences(const char* policy_name, std::uint64_t default_count = 800) {
  const char* one = std::getenv("RCMGR_SEED");
  const bool by_count = one != nullptr || std::getenv("RCMGR_SEQUENCES") != nullptr;
  const std::uint64_t most = one != nullptr ? 1 : env_or("RCMGR_SEQUENCES", 100000);
  const std::uint64_t least = default_count < 100 ? default_count : 100;
  const auto budget = std::chrono::duration<double>(double(env_or("RCMGR_VERIFY_SECONDS", 10)) * double(default_count) / 800.0);
  const auto start = std::chrono::steady_clock::now();
  const int steps = int(env_or("RCMGR_STEPS", 300));
  std::uint64_t calls = 0, refusals = 0, state_errors = 0, count = 0;
  typename driver<Policy, Storage, Gated>::gate_coverage gc;
  for (std::uint64_t i = 0; i < most; ++i, ++count) {
    if (!by_count && i >= least && std::chrono::steady_clock::now() - start > budget) break;
    const std::uint64_t seed = one != nullptr ? std::strtoull(one, nullptr, 0) : seed_of(i);
    rng_source src(seed);
    const config cfg = random_config(src);
    std::string failure, recent;
    auto run_one = [&](auto& d) {
      d.verbose = one != nullptr && std::getenv("RCMGR_VERBOSE") != nullptr;
      failure = d.run(src, steps);
      recent = d.recent();
      calls += d.steps;
      refusals += d.refusals;
      state_errors += d.state_errors;
      gc.rate += d.gate_cov.rate, gc.subnet += d.gate_cov.subnet, gc.allowlisted_opens += d.gate_cov.allowlisted_opens;
      gc.moved_out += d.gate_cov.moved_out, gc.gated_opens += d.gate_cov.gated_opens;
    };
    if constexpr (Gated) {
      driver<Policy, Storage, true> d(cfg, random_gating(src, nullptr));
      run_one(d);
    } else {
      driver<Policy, Storage> d(cfg);
      run_one(d);
    }
    if (!failure.empty()) {
      FAIL_CHECK(policy_name << " seed " << seed << " (replay: RCMGR_SEED=" << seed << "): " << failure << "\nlast calls:\n"
                             << recent);
      return;
    }
  }
  std::cout << "differential[" << policy_name << "]: " << count << " sequences, " << calls << " calls compared ("
            << refusals << " refused by a limit, " << state_errors << " other errors)\n";
  CHECK(calls > count);
  if constexpr (Gated) {
    std::cout << "  gated opens " << gc.gated_opens << ": refused by a rate limit " << gc.rate << ", by a subnet or network count "
              << gc.subnet << ", let into the allowlisted scopes " << gc.allowlisted_opens << "; moved out of them at set_peer "
              << gc.moved_out << "\n";
    if (!by_count || count >= 100) {  // every gating rule decided some call
      CHECK(gc.rate > 0);
      CHECK(gc.subnet > 0);
      CHECK(gc.allowlisted_opens > 0);
      CHECK(gc.moved_out > 0);
    }
  }
}

}  // namespace verify
