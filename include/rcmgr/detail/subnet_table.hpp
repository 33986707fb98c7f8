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

template <class Mutex>
class subnet_table {
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
    shard_seed_ = (std::uint64_t(rd()) << 32 | rd()) ^ 0xd1b54a32d192ed03ull;
  }

  const std::vector<subnet_level>& levels(bool v6) const noexcept { return levels_[v6 ? 1 : 0]; }

  /// Admits one connection from ip: takes a token at every rate level (if `rate`) and counts
  /// the connection at every connection level (if `conns`), most specific level first. On a
  /// refusal the connections counted at earlier levels are uncounted; tokens taken stay taken
  /// (a bucket cannot give a token back, as in go-libp2p). Every level of an address lives in
  /// the same shard (chosen by the address's least specific level), so this is one lock and
  /// one visit, whatever the number of levels.
  bool admit(const ip_address& ip, bool conns, bool rate, std::int64_t now, gate_refusal& why) noexcept {
    const auto& lv = levels(ip.v6);
    if (lv.empty()) return true;
    const words w = words_of(ip);
    shard& sh = shard_for(w, ip.v6);
    std::lock_guard lk(sh.mu);
    for (std::size_t i = 0; i < lv.size(); ++i) {
      const subnet_level& l = lv[i];
      const bool c = conns && l.conns >= 0, r = rate && l.rate.limited();
      if (!c && !r) continue;
      const key k = key_of(w, ip.v6, l.len, i);
      slot* e = find_or_insert(sh, k, l, now);
      if (e == nullptr) {
        why = {gate_refusal::what::table_full, {ip.masked(l.len), l.len}, 0, 0};
      } else if (r && !e->bucket.take(l.rate, now)) {
        why = {gate_refusal::what::rate, {ip.masked(l.len), l.len}, std::int64_t(e->bucket.tokens), l.rate.burst};
      } else if (c && e->conns + 1 > l.conns) {
        why = {gate_refusal::what::conns, {ip.masked(l.len), l.len}, e->conns, l.conns};
      } else {
        if (c) ++e->conns;
        continue;
      }
      if (conns) release_locked(sh, w, ip.v6, i);
      return false;
    }
    return true;
  }

  /// Starts loading the cache line of ip's most specific entry (a hint; changes nothing).
  void prefetch(const ip_address& ip) const noexcept {
#if defined(__GNUC__) || defined(__clang__)
    const auto& lv = levels(ip.v6);
    if (lv.empty()) return;
    const words w = words_of(ip);
    const shard& sh = const_cast<subnet_table*>(this)->shard_for(w, ip.v6);
    const key k = key_of(w, ip.v6, lv.front().len, 0);
    __builtin_prefetch(&sh.slots[hash(k.k0, k.k1, k.tag) & (sh.slots.size() - 1)]);
#else
    (void)ip;
#endif
  }

  /// Uncounts one connection from ip at every connection level.
  void release(const ip_address& ip) noexcept {
    const auto& lv = levels(ip.v6);
    if (lv.empty()) return;
    const words w = words_of(ip);
    shard& sh = shard_for(w, ip.v6);
    std::lock_guard lk(sh.mu);
    release_locked(sh, w, ip.v6, lv.size());
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
    const auto& lv = levels(subnet.addr.v6);
    for (std::size_t i = 0; i < lv.size(); ++i)
      if (lv[i].len == subnet.len) {
        const words w = words_of(subnet.addr);
        const key k = key_of(w, subnet.addr.v6, subnet.len, i);
        shard& sh = const_cast<subnet_table*>(this)->shard_for(w, subnet.addr.v6);
        std::lock_guard lk(sh.mu);
        const slot* e = find(sh, k);
        return e != nullptr ? e->conns : 0;
      }
    return 0;
  }

 private:
  static constexpr std::size_t shard_count = 16;
  struct slot {
    std::uint64_t k0 = 0, k1 = 0;
    std::uint32_t tag = 0;  ///< 0: empty; else 1 + (family << 8 | level)
    std::int64_t conns = 0;
    token_bucket bucket{};
  };
  struct alignas(64) shard {
    mutable Mutex mu;
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
  static key key_of(words w, bool v6, int len, std::size_t level) noexcept {
    w = masked(w, len);
    return {w.w0, w.w1, 1u + ((v6 ? 1u : 0u) << 8 | std::uint32_t(level))};
  }
  std::uint64_t hash(std::uint64_t k0, std::uint64_t k1, std::uint32_t tag) const noexcept {
    return mix(k0 ^ seed_) ^ mix(k1 + seed_ + tag);
  }
  /// The shard of every level of an address: chosen by the address masked to its family's least
  /// specific level (with a seed of its own, so shard and slot positions are independent).
  shard& shard_for(words w, bool v6) noexcept {
    const auto& lv = levels(v6);
    const words m = masked(w, lv.empty() ? 0 : lv.back().len);
    return shards_[(mix(m.w0 ^ shard_seed_) ^ mix(m.w1 + shard_seed_ + (v6 ? 1 : 0))) >> 60];
  }
  slot* find(shard& sh, const key& k) const noexcept {
    const std::size_t mask = sh.slots.size() - 1;
    for (std::size_t j = hash(k.k0, k.k1, k.tag) & mask, probes = 0; probes <= mask; j = (j + 1) & mask, ++probes) {
      slot& s = sh.slots[j];
      if (s.tag == 0) return nullptr;
      if (s.tag == k.tag && s.k0 == k.k0 && s.k1 == k.k1) return &s;
    }
    return nullptr;
  }
  slot* insert(shard& sh, std::uint64_t k0, std::uint64_t k1, std::uint32_t tag) noexcept {
    const std::size_t mask = sh.slots.size() - 1;
    for (std::size_t j = hash(k0, k1, tag) & mask;; j = (j + 1) & mask) {
      slot& s = sh.slots[j];
      if (s.tag == 0) {
        s = slot{k0, k1, tag, 0, {}};
        ++sh.used;
        return &s;
      }
    }
  }
  bool idle(const slot& s, std::int64_t now) const noexcept {
    if (s.conns != 0) return false;
    const subnet_level& l = levels_[(s.tag - 1) >> 8][(s.tag - 1) & 0xff];
    return !l.rate.limited() || s.bucket.full(l.rate, now);
  }
  /// Re-inserts every entry that is not idle (linear probing has no cheap deletion; this runs
  /// only when a shard fills up, or on sweep()). Uses the shard's scratch array: no allocation.
  void rebuild(shard& sh, std::int64_t now) noexcept {
    std::size_t n = 0;
    for (auto& s : sh.slots)
      if (s.tag != 0 && !idle(s, now)) sh.scratch[n++] = s;
    for (auto& s : sh.slots) s = slot{};
    sh.used = 0;
    for (std::size_t k = 0; k < n; ++k) *insert(sh, sh.scratch[k].k0, sh.scratch[k].k1, sh.scratch[k].tag) = sh.scratch[k];
  }
  slot* find_or_insert(shard& sh, const key& k, const subnet_level& l, std::int64_t now) noexcept {
    if (slot* e = find(sh, k)) return e;
    if (sh.used >= limit_per_shard_) {
      rebuild(sh, now);
      if (sh.used >= limit_per_shard_) {
        // Every entry is busy. Forget the idle one whose bucket is fullest (its subnet gets a
        // fresh, full bucket: a weaker limit for it, never a refusal for everyone else).
        slot* victim = nullptr;
        double best = -1;
        for (auto& s : sh.slots)
          if (s.tag != 0 && s.conns == 0) {
            const subnet_level& vl = levels_[(s.tag - 1) >> 8][(s.tag - 1) & 0xff];
            const double t = vl.rate.limited() ? s.bucket.at(vl.rate, now) / double(vl.rate.burst > 0 ? vl.rate.burst : 1) : 1.0;
            if (t > best) best = t, victim = &s;
          }
        if (victim == nullptr) return nullptr;
        const subnet_level& vl = levels_[(victim->tag - 1) >> 8][(victim->tag - 1) & 0xff];
        victim->bucket.start_full(vl.rate, now);  // now idle: the rebuild drops it
        rebuild(sh, now);
      }
    }
    slot* e = insert(sh, k.k0, k.k1, k.tag);
    e->bucket.start_full(l.rate, now);
    return e;
  }
  /// Uncounts one connection at the connection levels before `upto`; the caller holds sh's lock.
  void release_locked(shard& sh, words w, bool v6, std::size_t upto) noexcept {
    const auto& lv = levels(v6);
    for (std::size_t i = 0; i < upto && i < lv.size(); ++i) {
      if (lv[i].conns < 0) continue;
      if (slot* e = find(sh, key_of(w, v6, lv[i].len, i)); e != nullptr && e->conns > 0) --e->conns;
    }
  }

  std::array<std::vector<subnet_level>, 2> levels_;
  std::unique_ptr<shard[]> shards_;
  std::size_t limit_per_shard_ = 0;
  std::uint64_t seed_ = 0;
  std::uint64_t shard_seed_ = 0;
};

}  // namespace detail
}  // namespace rcmgr
