// Peer ids crafted to collide under std::hash, for the hash-flood benchmark and its test.
//
// "Collide" here means the strongest form: equal 64-bit std::hash<std::string_view> values.
// libstdc++ hashes strings with MurmurHash64A under a fixed, public seed (0xc70f6907). Each
// 8-byte block is mixed into the state by steps that can all be undone (multiplication by an
// odd constant, xor-shift by 47), so for any prefix one can compute the next block that brings
// the state to a chosen value; every id of the form prefix(i) + fix-up block(i) + common suffix
// then has the same hash. Equal hashes land in the same bucket of every std::unordered_set, at
// every bucket count, and (since the set caches hashes) each insert or lookup compares the key
// with every id already there: n ids cost O(n^2).
//
// The fix-up block is arbitrary bytes, not base58 text. An attacker limited to valid text ids
// gets the same effect for one table size by brute force (about bucket_count tries per id to
// land in one bucket); the algebraic construction is just instant.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

namespace flood {

inline constexpr std::uint64_t murmur_mul = 0xc6a4a7935bd1e995ull;
inline constexpr std::uint64_t libstdcxx_seed = 0xc70f6907ull;

constexpr std::uint64_t shift_mix(std::uint64_t v) noexcept { return v ^ (v >> 47); }  // its own inverse
constexpr std::uint64_t inverse(std::uint64_t a) noexcept {  // of an odd a, mod 2^64 (Newton)
  std::uint64_t x = a;
  for (int i = 0; i < 6; ++i) x *= 2 - a * x;
  return x;
}
inline constexpr std::uint64_t murmur_inv = inverse(murmur_mul);

inline std::uint64_t load8(const char* p) noexcept {
  std::uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}
/// One block step of MurmurHash64A.
constexpr std::uint64_t step(std::uint64_t h, std::uint64_t k) noexcept { return (h ^ (shift_mix(k * murmur_mul) * murmur_mul)) * murmur_mul; }
/// The block k with step(h, k) == target.
constexpr std::uint64_t block_for(std::uint64_t h, std::uint64_t target) noexcept {
  const std::uint64_t mixed = (target * murmur_inv) ^ h;  // = shift_mix(k * mul) * mul
  return shift_mix(mixed * murmur_inv) * murmur_inv;
}

/// n distinct 52-byte ids, "12D3KooW" + 8 base58 characters unique per id + an 8-byte fix-up
/// block + 28 common base58 characters, all with one std::hash value on libstdc++.
inline std::vector<std::string> colliding_ids(std::size_t n) {
  static constexpr char alphabet[] = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
  const std::string suffix = "QmFloodFloodFloodFloodFlood1";  // 28 bytes: 3 blocks + a 4-byte tail
  const std::size_t len = 8 + 8 + 8 + suffix.size();
  std::uint64_t target = 0;
  std::vector<std::string> out;
  out.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    std::string s = "12D3KooW";
    for (std::size_t j = 0, x = i; j < 8; ++j, x /= 58) s += alphabet[x % 58];
    std::uint64_t h = libstdcxx_seed ^ (len * murmur_mul);
    h = step(h, load8(s.data()));
    h = step(h, load8(s.data() + 8));
    if (i == 0) target = step(h, 0x3132333435363738ull);  // the state every id reaches after block 3
    const std::uint64_t fix = block_for(h, target);
    s.append(reinterpret_cast<const char*>(&fix), 8);
    s += suffix;
    out.push_back(std::move(s));
  }
  return out;
}

/// n distinct random-looking 52-byte base58 ids (splitmix64 from `seed`).
inline std::vector<std::string> random_ids(std::size_t n, std::uint64_t seed = 42) {
  static constexpr char alphabet[] = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
  std::vector<std::string> out;
  out.reserve(n);
  std::uint64_t st = seed;
  auto next = [&] {
    std::uint64_t z = (st += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  };
  for (std::size_t i = 0; i < n; ++i) {
    std::string s = "12D3KooW";
    while (s.size() < 52) s += alphabet[next() % 58];
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace flood
