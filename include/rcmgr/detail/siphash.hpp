// The keyed hash of keyed-scope tables: SipHash-1-3 (one compression round per 8-byte word,
// three finalization rounds; the variant Rust's HashMap uses), with a 128-bit key drawn per
// manager. Peer ids, protocol ids and service names come from the network: with an unseeded
// hash (std::hash) anyone can compute, offline, thousands of ids that land in one bucket and
// make every lookup a linear scan. With a secret per-manager key, colliding ids cannot be
// computed without the key, and the key never leaves the manager.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

#if defined(__linux__) && __has_include(<sys/random.h>)
#include <sys/random.h>
#define RCMGR_HAVE_GETRANDOM 1
#endif

namespace rcmgr::detail {

/// The 128-bit key of a SipHash instance.
struct hash_seed {
  std::uint64_t k0 = 0, k1 = 0;
};

constexpr std::uint64_t rotl64(std::uint64_t x, int b) noexcept { return (x << b) | (x >> (64 - b)); }

/// SipHash-1-3 of `len` bytes at `p` under `key`. About 1 ns per byte plus ~10 ns (x86-64).
inline std::uint64_t siphash13(const hash_seed& key, const void* p, std::size_t len) noexcept {
  std::uint64_t v0 = 0x736f6d6570736575ull ^ key.k0;
  std::uint64_t v1 = 0x646f72616e646f6dull ^ key.k1;
  std::uint64_t v2 = 0x6c7967656e657261ull ^ key.k0;
  std::uint64_t v3 = 0x7465646279746573ull ^ key.k1;
  auto round = [&]() noexcept {
    v0 += v1; v1 = rotl64(v1, 13); v1 ^= v0; v0 = rotl64(v0, 32);
    v2 += v3; v3 = rotl64(v3, 16); v3 ^= v2;
    v0 += v3; v3 = rotl64(v3, 21); v3 ^= v0;
    v2 += v1; v1 = rotl64(v1, 17); v1 ^= v2; v2 = rotl64(v2, 32);
  };
  const auto* in = static_cast<const unsigned char*>(p);
  const std::size_t words = len / 8;
  for (std::size_t i = 0; i < words; ++i) {
    std::uint64_t m;
    std::memcpy(&m, in + 8 * i, 8);  // little-endian hosts; the hash need only be stable per process
    v3 ^= m;
    round();
    v0 ^= m;
  }
  std::uint64_t b = std::uint64_t(len) << 56;
  const unsigned char* tail = in + 8 * words;
  for (std::size_t i = 0; i < (len & 7); ++i) b |= std::uint64_t(tail[i]) << (8 * i);
  v3 ^= b;
  round();
  v0 ^= b;
  v2 ^= 0xff;
  round();
  round();
  round();
  return v0 ^ v1 ^ v2 ^ v3;
}

inline std::uint64_t siphash13(const hash_seed& key, std::string_view s) noexcept { return siphash13(key, s.data(), s.size()); }

/// A fresh secret key for one manager. Drawn from the kernel's random source (getrandom, which
/// neither allocates nor opens a file) where there is one; mixed in every case with the address
/// of `where` (ASLR), the steady and system clocks (hosted targets) and a process-wide counter, so two managers
/// never share a key even without a random source. Without a random source (bare-metal targets)
/// the key is only as unpredictable as those inputs: see docs/guarantees.md.
inline hash_seed make_hash_seed(std::uintptr_t where) noexcept {
  static std::uint64_t counter = 0;  // races are harmless: it only perturbs the mix
  std::uint64_t r[2] = {0, 0};
#ifdef RCMGR_HAVE_GETRANDOM
  (void)::getrandom(r, sizeof r, GRND_NONBLOCK);
#endif
#if defined(__unix__) || defined(__APPLE__) || defined(_WIN32)
  const std::uint64_t t1 = std::uint64_t(std::chrono::steady_clock::now().time_since_epoch().count());
  const std::uint64_t t2 = std::uint64_t(std::chrono::system_clock::now().time_since_epoch().count());
#else
  // Bare metal: no clock the library may assume (newlib's stubs fail at link or run time).
  const std::uint64_t t1 = 0x243f6a8885a308d3ull, t2 = 0x13198a2e03707344ull;
#endif
  const std::uint64_t mix[4] = {std::uint64_t(where), t1, t2, ++counter};
  const hash_seed pre{r[0] ^ 0x9e3779b97f4a7c15ull, r[1] ^ 0xbf58476d1ce4e5b9ull};
  hash_seed k;
  k.k0 = siphash13(pre, mix, sizeof mix);
  k.k1 = siphash13(hash_seed{k.k0, pre.k1}, mix, sizeof mix) ^ r[1];
  return k;
}

}  // namespace rcmgr::detail
