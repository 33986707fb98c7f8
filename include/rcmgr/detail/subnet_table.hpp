// The state behind per-subnet connection limits and connection rate limits: one entry per
// (subnet, prefix length) seen recently, holding the live connections counted there and a token
// bucket. Entries live in a fixed-size, sharded, open-addressing table: no allocation after
// construction, memory bounded whatever addresses an attacker cycles through, a lock per shard
// (never two at once), and a per-table random seed so collisions cannot be precomputed. All the
// levels of one address (an IPv6 address's /56 and /48) share a shard, so admitting or releasing
// a connection takes one lock once.
#pragma once

#include <array>
#include <bit>
#include <cstring>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <random>
#include <vector>

#include "rcmgr/multiaddr.hpp"

namespace rcmgr {

/// A token bucket's parameters: `per_second` tokens are added each second, up to `burst`; each
/// connection takes one. A bucket starts full. per_second <= 0 means no rate limit.
struct rate_limit {
  double per_second = 0;
  std::int64_t burst = 0;
  constexpr bool limited() const noexcept { return per_second > 0; }
  friend constexpr bool operator==(const rate_limit&, const rate_limit&) = default;
};

namespace detail {

/// A token bucket. Not synchronized: the caller holds the lock that protects it.
struct token_bucket {
  double tokens = 0;
  std::int64_t stamp_ns = 0;
  /// Tokens at time now (ns), without taking any.
  double at(const rate_limit& r, std::int64_t now) const noexcept {
    const double elapsed = now > stamp_ns ? double(now - stamp_ns) * 1e-9 : 0.0;
    const double t = tokens + elapsed * r.per_second;
    return t < double(r.burst) ? t : double(r.burst);
  }
  void start_full(const rate_limit& r, std::int64_t now) noexcept {
    tokens = double(r.burst);
    stamp_ns = now;
  }
  /// Takes one token if there is one. A clock that went backwards refills nothing, and the
  /// bucket refills from the new time on (as go's x/time/rate does): keeping the later stamp
  /// would freeze the bucket, refusing every connection, for as long as the clock went back.
  bool take(const rate_limit& r, std::int64_t now) noexcept {
    tokens = at(r, now);
    stamp_ns = now;
    if (tokens < 1.0) return false;
    tokens -= 1.0;
    return true;
  }
  bool full(const rate_limit& r, std::int64_t now) const noexcept { return at(r, now) >= double(r.burst); }
};

/// One prefix length gated per subnet: a connection limit (conns < 0: none) and/or a rate.
struct subnet_level {
  int len = 32;
  std::int64_t conns = -1;
  rate_limit rate{};
};

/// Why a subnet or network refused.
struct gate_refusal {
  enum class what : std::uint8_t { none, conns, rate, table_full } kind = what::none;
  ip_prefix subnet;
  std::int64_t current = 0;  ///< connections in use (conns) or whole tokens left (rate)
  std::int64_t limit = 0;    ///< the connection limit, or the bucket's burst
};

/// Where subnet_table::admit() counted a connection, so that release() finds the entries
/// without hashing or probing again. Valid while the shard has not been rebuilt since (epoch);
/// otherwise, or when more levels were counted than it remembers, release() looks them up.
struct subnet_ref {
  static constexpr std::size_t remembered = 2;  ///< IPv6 with go's defaults counts at /56 and /48
  std::uint64_t epoch = 0;  ///< 64 bits: a stale ref must never match a later epoch by wrapping
  std::uint16_t shard = 0;
  std::uint8_t count = 0;  ///< connection levels counted; slot[] holds the first `remembered`
  std::uint32_t slot[remembered]{};
};

template <class Mutex>
class subnet_table {
  static constexpr std::size_t inline_levels = 4;  ///< levels whose hash a probe computes up front

 public:
  /// levels4/levels6: per family, most specific (longest prefix) first. capacity: most entries
  /// tracked at once, rounded up to a multiple of the shard count.
  subnet_table(std::vector<subnet_level> levels4, std::vector<subnet_level> levels6, std::size_t capacity)
      : levels_{std::move(levels4), std::move(levels6)} {
    std::size_t per = 8;
    while (per * shard_count * 3 / 4 < capacity) per *= 2;
    limit_per_shard_ = per * 3 / 4;
    shards_ = std::make_unique<shard[]>(shard_count);
    for (std::size_t i = 0; i < shard_count; ++i) {
      shards_[i].slots.resize(per);
      shards_[i].scratch.resize(per);
    }
    std::random_device rd;
    seed_ = (std::uint64_t(rd()) << 32 | rd()) ^ 0x9e3779b97f4a7c15ull;
    for (std::size_t f = 0; f < 2; ++f)
      for (std::size_t i = 0; i < levels_[f].size() && i < inline_levels; ++i)
        low_zero_[f][i] = mix(seed_ + tag_of(f == 1, i));
  }

  const std::vector<subnet_level>& levels(bool v6) const noexcept { return levels_[v6 ? 1 : 0]; }

  /// An address's keys, computed once: the hash of each level and its shard. Building one starts
  /// loading the most specific entry's cache line, so the miss overlaps what the caller does
  /// before admit() (the clock read, the network checks).
  struct probe {
    std::uint64_t w0 = 0, w1 = 0;  ///< the address as two big-endian words
    bool v6 = false;
    std::uint16_t shard = 0;
    std::uint64_t h[inline_levels]{};
  };
  probe plan(const ip_address& ip) const noexcept {
    probe p;
    const words w = words_of(ip);
    p.w0 = w.w0;
    p.w1 = w.w1;
    p.v6 = ip.v6;
    const auto& lv = levels(ip.v6);
    const std::size_t n = lv.size() < inline_levels ? lv.size() : inline_levels;
    for (std::size_t i = 0; i < n; ++i) p.h[i] = hash_level(w, ip.v6, i);
    if (lv.empty()) return p;
    // Every level of an address lives in one shard, chosen by the least specific level's hash
    // (its top bits; the slot index uses its low bits).
    const std::uint64_t hs = lv.size() <= inline_levels ? p.h[lv.size() - 1] : hash_level(w, ip.v6, lv.size() - 1);
    p.shard = std::uint16_t(hs >> (64 - shard_bits));
#if defined(__GNUC__) || defined(__clang__)
    const shard& sh = shards_[p.shard];
    __builtin_prefetch(&sh.slots[p.h[0] & (sh.slots.size() - 1)]);
#endif
    return p;
  }

  /// Admits one connection from the planned address: takes a token at every rate level (if
  /// `rate`) and counts the connection at every connection level (if `conns`), most specific
  /// level first. On a refusal the connections counted at earlier levels are uncounted; tokens
  /// taken stay taken (a bucket cannot give a token back, as in go-libp2p). One lock, once.
  /// `ref` says where the connection was counted, for release().
  bool admit(const probe& p, bool conns, bool rate, std::int64_t now, gate_refusal& why, subnet_ref& ref) noexcept {
    const auto& lv = levels(p.v6);
    ref.count = 0;
    if (lv.empty()) return true;
    shard& sh = shards_[p.shard];
    std::lock_guard lk(sh.mu);
    ref.shard = p.shard;
    const std::uint64_t epoch = sh.epoch;
    for (std::size_t i = 0; i < lv.size(); ++i) {
      const subnet_level& l = lv[i];
      const bool c = conns && l.conns >= 0, r = rate && l.rate.limited();
      if (!c && !r) continue;
      const key k = key_of(p, i);
      const std::uint64_t h = i < inline_levels ? p.h[i] : hash_level({p.w0, p.w1}, p.v6, i);
      slot* e = find_or_insert(sh, k, h, l, now);
      if (e == nullptr) {
        why = {gate_refusal::what::table_full, prefix_of(p, l.len), 0, 0};
      } else if (r && !e->bucket.take(l.rate, now)) {
        why = {gate_refusal::what::rate, prefix_of(p, l.len), std::int64_t(e->bucket.tokens), l.rate.burst};
      } else if (c && e->conns + 1 > l.conns) {
        why = {gate_refusal::what::conns, prefix_of(p, l.len), e->conns, l.conns};
      } else {
        if (c) {
          ++e->conns;
          if (ref.count < subnet_ref::remembered) ref.slot[ref.count] = std::uint32_t(e - sh.slots.data());
          ++ref.count;
        }
        continue;
      }
      // Uncount what this call counted. find_or_insert may have rebuilt the shard since (which
      // moves entries), so look them up again rather than trust the remembered slots.
      if (ref.count != 0) release_locked(sh, {p.w0, p.w1}, p.v6, i);
      ref.count = 0;
      return false;
    }
    // A rebuild during this call (a full shard) moved the entries counted before it: leave the
    // ref's epoch behind so that release() looks them up.
    ref.epoch = epoch;
    return true;
  }

  /// Uncounts the connection admit() counted with `ref` (ip is the address it was admitted for).
  void release(const ip_address& ip, subnet_ref& ref) noexcept {
    if (ref.count == 0) return;
    shard& sh = shards_[ref.shard];
    std::lock_guard lk(sh.mu);
    if (ref.epoch == sh.epoch && ref.count <= subnet_ref::remembered) {
      for (std::size_t j = 0; j < ref.count; ++j)
        if (slot& e = sh.slots[ref.slot[j]]; e.conns > 0) --e.conns;
    } else {
      release_locked(sh, words_of(ip), ip.v6, levels(ip.v6).size());
    }
    ref.count = 0;
  }

  /// Entries tracked now (live connections or unfilled buckets), over all shards.
  std::size_t tracked() const noexcept {
    std::size_t n = 0;
    for (std::size_t i = 0; i < shard_count; ++i) {
      std::lock_guard lk(shards_[i].mu);
      n += shards_[i].used;
    }
    return n;
  }
  /// The most entries that can be tracked at once.
  std::size_t capacity() const noexcept { return limit_per_shard_ * shard_count; }
  /// Drops every idle entry (no live connection, bucket full again at `now`).
  void sweep(std::int64_t now) noexcept {
    for (std::size_t i = 0; i < shard_count; ++i) {
      std::lock_guard lk(shards_[i].mu);
      rebuild(shards_[i], now);
    }
  }
  /// Connections counted for `subnet` at its level (0 when untracked), for tests and listings.
  std::int64_t conns_of(const ip_prefix& subnet) const noexcept {
    const probe p = plan(subnet.addr);
    const auto& lv = levels(p.v6);
    for (std::size_t i = 0; i < lv.size(); ++i)
      if (lv[i].len == subnet.len) {
        shard& sh = shards_[p.shard];
        std::lock_guard lk(sh.mu);
        const slot* e = find(sh, key_of(p, i), i < inline_levels ? p.h[i] : hash_level({p.w0, p.w1}, p.v6, i));
        return e != nullptr ? e->conns : 0;
      }
    return 0;
  }

 private:
  static constexpr unsigned shard_bits = 4;
  static constexpr std::size_t shard_count = std::size_t{1} << shard_bits;
  struct slot {
    std::uint64_t k0 = 0, k1 = 0;
    std::uint32_t tag = 0;  ///< 0: empty; else 1 + (family << 8 | level)
    std::int64_t conns = 0;
    token_bucket bucket{};
  };
  struct alignas(64) shard {
    mutable Mutex mu;
    std::uint64_t epoch = 0;  ///< incremented by every rebuild (entries move): subnet_refs go stale
    std::vector<slot> slots;
    std::vector<slot> scratch;  ///< as large as slots, for rebuild()
    std::size_t used = 0;
  };

  static std::uint64_t mix(std::uint64_t x) noexcept {
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebull;
    return x ^ (x >> 31);
  }
  static constexpr std::uint32_t tag_of(bool v6, std::size_t level) noexcept {
    return 1u + ((v6 ? 1u : 0u) << 8 | std::uint32_t(level));
  }
  /// A subnet as the table keys it: the address's 128 bits as two big-endian words, masked to
  /// the level's prefix length, and a tag naming the family and level.
  struct key {
    std::uint64_t k0, k1;
    std::uint32_t tag;
  };
  static constexpr std::uint64_t byteswap64(std::uint64_t x) noexcept {
    x = (x & 0x00ff00ff00ff00ffull) << 8 | (x >> 8 & 0x00ff00ff00ff00ffull);
    x = (x & 0x0000ffff0000ffffull) << 16 | (x >> 16 & 0x0000ffff0000ffffull);
    return x << 32 | x >> 32;
  }
  /// The address's 128 bits as two big-endian words (IPv4 uses bytes 0-3 and zeros after), so
  /// masks are plain shifts.
  struct words {
    std::uint64_t w0, w1;
  };
  static words words_of(const ip_address& a) noexcept {
    std::uint64_t w0 = 0, w1 = 0;
    std::memcpy(&w0, a.bytes.data(), 8);
    std::memcpy(&w1, a.bytes.data() + 8, 8);
    if constexpr (std::endian::native == std::endian::little) {
      w0 = byteswap64(w0);
      w1 = byteswap64(w1);
    }
    return {w0, w1};
  }
  static words masked(words w, int len) noexcept {
    if (len <= 0) w.w0 = w.w1 = 0;
    else if (len < 64) w.w0 &= ~std::uint64_t{0} << (64 - len), w.w1 = 0;
    else if (len == 64) w.w1 = 0;
    else if (len < 128) w.w1 &= ~std::uint64_t{0} << (128 - len);
    return w;
  }
  key key_of(words w, bool v6, std::size_t level) const noexcept {
    w = masked(w, levels(v6)[level].len);
    return {w.w0, w.w1, tag_of(v6, level)};
  }
  key key_of(const probe& p, std::size_t level) const noexcept { return key_of(words{p.w0, p.w1}, p.v6, level); }
  static ip_prefix prefix_of(const probe& p, int len) noexcept {
    ip_address a;
    a.v6 = p.v6;
    const words m = masked({p.w0, p.w1}, len);
    std::uint64_t b0 = m.w0, b1 = m.w1;
    if constexpr (std::endian::native == std::endian::little) b0 = byteswap64(b0), b1 = byteswap64(b1);
    std::memcpy(a.bytes.data(), &b0, 8);
    std::memcpy(a.bytes.data() + 8, &b1, 8);
    return {a, len};
  }
  /// The slot hash of a key. A key whose low word is zero (every IPv4 subnet, and IPv6 subnets
  /// of /64 or shorter: go's defaults) costs one mix: the other half is a per-level constant.
  std::uint64_t hash(const key& k, std::size_t level) const noexcept {
    const std::size_t f = (k.tag - 1) >> 8;
    const std::uint64_t lo = k.k1 == 0 && level < inline_levels ? low_zero_[f][level] : mix(k.k1 + seed_ + k.tag);
    return mix(k.k0 ^ seed_) ^ lo;
  }
  std::uint64_t hash_level(words w, bool v6, std::size_t level) const noexcept { return hash(key_of(w, v6, level), level); }
  slot* find(shard& sh, const key& k, std::uint64_t h) const noexcept {
    const std::size_t mask = sh.slots.size() - 1;
    for (std::size_t j = h & mask, probes = 0; probes <= mask; j = (j + 1) & mask, ++probes) {
      slot& s = sh.slots[j];
      if (s.tag == 0) return nullptr;
      if (s.tag == k.tag && s.k0 == k.k0 && s.k1 == k.k1) return &s;
    }
    return nullptr;
  }
  slot* insert(shard& sh, const key& k, std::uint64_t h) noexcept {
    const std::size_t mask = sh.slots.size() - 1;
    for (std::size_t j = h & mask;; j = (j + 1) & mask) {
      slot& s = sh.slots[j];
      if (s.tag == 0) {
        s = slot{k.k0, k.k1, k.tag, 0, {}};
        ++sh.used;
        return &s;
      }
    }
  }
  const subnet_level& level_of(const slot& s) const noexcept { return levels_[(s.tag - 1) >> 8][(s.tag - 1) & 0xff]; }
  bool idle(const slot& s, std::int64_t now) const noexcept {
    if (s.conns != 0) return false;
    const subnet_level& l = level_of(s);
    return !l.rate.limited() || s.bucket.full(l.rate, now);
  }
  /// Re-inserts every entry that is not idle (linear probing has no cheap deletion; this runs
  /// only when a shard fills up, or on sweep()). Uses the shard's scratch array: no allocation.
  /// Entries move: the epoch tells subnet_refs taken before to look their entries up again.
  void rebuild(shard& sh, std::int64_t now) noexcept {
    std::size_t n = 0;
    for (auto& s : sh.slots)
      if (s.tag != 0 && !idle(s, now)) sh.scratch[n++] = s;
    for (auto& s : sh.slots) s = slot{};
    sh.used = 0;
    ++sh.epoch;
    for (std::size_t j = 0; j < n; ++j) {
      const slot& s = sh.scratch[j];
      const key k{s.k0, s.k1, s.tag};
      *insert(sh, k, hash(k, (s.tag - 1) & 0xff)) = s;
    }
  }
  slot* find_or_insert(shard& sh, const key& k, std::uint64_t h, const subnet_level& l, std::int64_t now) noexcept {
    if (slot* e = find(sh, k, h)) return e;
    if (sh.used >= limit_per_shard_) {
      rebuild(sh, now);
      if (sh.used >= limit_per_shard_) {
        // Every entry is busy. Forget the idle one whose bucket is fullest (its subnet gets a
        // fresh, full bucket: a weaker limit for it, never a refusal for everyone else).
        slot* victim = nullptr;
        double best = -1;
        for (auto& s : sh.slots)
          if (s.tag != 0 && s.conns == 0) {
            const subnet_level& vl = level_of(s);
            const double t = vl.rate.limited() ? s.bucket.at(vl.rate, now) / double(vl.rate.burst > 0 ? vl.rate.burst : 1) : 1.0;
            if (t > best) best = t, victim = &s;
          }
        if (victim == nullptr) return nullptr;
        victim->bucket.start_full(level_of(*victim).rate, now);  // now idle: the rebuild drops it
        rebuild(sh, now);
      }
    }
    slot* e = insert(sh, k, h);
    e->bucket.start_full(l.rate, now);
    return e;
  }
  /// Uncounts one connection at the connection levels before `upto`; the caller holds sh's lock.
  void release_locked(shard& sh, words w, bool v6, std::size_t upto) noexcept {
    const auto& lv = levels(v6);
    for (std::size_t i = 0; i < upto && i < lv.size(); ++i) {
      if (lv[i].conns < 0) continue;
      const key k = key_of(w, v6, i);
      if (slot* e = find(sh, k, hash(k, i)); e != nullptr && e->conns > 0) --e->conns;
    }
  }

  std::array<std::vector<subnet_level>, 2> levels_;
  std::unique_ptr<shard[]> shards_;
  std::size_t limit_per_shard_ = 0;
  std::uint64_t seed_ = 0;
  /// mix(seed_ + tag) per family and level: the hash's half for a zero low word.
  std::uint64_t low_zero_[2][inline_levels]{};
};

}  // namespace detail
}  // namespace rcmgr
