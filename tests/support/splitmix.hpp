// The tests' seeded pseudo-random source: splitmix64 (Steele, Lea, Flood), 64 bits per call,
// the same sequence for the same seed on every platform, so a failing seed replays.
#pragma once

#include <cstdint>

namespace rcmgr_test {

struct splitmix64 {
  std::uint64_t s;
  std::uint64_t next() {
    std::uint64_t z = (s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
};

}  // namespace rcmgr_test
