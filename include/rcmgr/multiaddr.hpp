// Endpoints: what connection gating needs from the multiaddr text a transport gives
// ("/ip4/203.0.113.7/tcp/4001", "/ip6/2001:db8::1/udp/4001/quic-v1/p2p/12D3KooW...",
// "/dns4/example.com/tcp/443/wss"): the IP address, if the address starts with one, and the
// peer id, if it names one. Parsing allocates nothing; the peer id is a view into the text.
//
//   auto ep = rcmgr::parse_multiaddr("/ip4/203.0.113.7/udp/4001/quic-v1");
//   if (ep && ep->ip) ... ep->ip->str() == "203.0.113.7"
//
// Malformed text is refused with errc::invalid_argument; the error's scope is "multiaddr" keyed
// by the offending component and its detail says what is wrong with it.
#pragma once

#include <array>
#include <bit>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#if defined(__SSE2__) && defined(__x86_64__)
#include <emmintrin.h>
#define RCMGR_DETAIL_SSE2 1
#endif

#include "rcmgr/errors.hpp"
#include "rcmgr/keys.hpp"
#include "rcmgr/result.hpp"

namespace rcmgr {

/// An IPv4 or IPv6 address. IPv4 addresses are kept in their first 4 bytes; an IPv4-mapped
/// IPv6 address (::ffff:a.b.c.d) is stored as the IPv6 address it is written as, and
/// `unmapped()` gives its IPv4 form (gating uses that one, see docs/differences.md).
struct ip_address {
  std::array<std::uint8_t, 16> bytes{};  ///< network order; IPv4 uses bytes[0..3], the rest is zero
  bool v6 = false;

  /// An IPv4 address from its four bytes in network order (a sockaddr_in's, or what
  /// boost::asio::ip::address_v4::to_bytes() gives): what a transport holding a socket address
  /// gates with, without writing and parsing multiaddr text.
  static constexpr ip_address from_v4_bytes(const std::array<std::uint8_t, 4>& b) noexcept {
    ip_address a;
    for (std::size_t i = 0; i < 4; ++i) a.bytes[i] = b[i];
    return a;
  }
  /// An IPv6 address from its sixteen bytes in network order (sockaddr_in6::sin6_addr).
  static constexpr ip_address from_v6_bytes(const std::array<std::uint8_t, 16>& b) noexcept {
    ip_address a;
    a.bytes = b;
    a.v6 = true;
    return a;
  }

  /// Bits in the address: 32 or 128.
  constexpr int bits() const noexcept { return v6 ? 128 : 32; }
  /// For ::ffff:a.b.c.d, the IPv4 address a.b.c.d; any other address unchanged.
  constexpr ip_address unmapped() const noexcept {
    if (!v6) return *this;
    for (int i = 0; i < 10; ++i)
      if (bytes[std::size_t(i)] != 0) return *this;
    if (bytes[10] != 0xff || bytes[11] != 0xff) return *this;
    ip_address r;
    for (int i = 0; i < 4; ++i) r.bytes[std::size_t(i)] = bytes[std::size_t(12 + i)];
    return r;
  }
  /// 127.0.0.0/8 or ::1.
  constexpr bool is_loopback() const noexcept {
    if (!v6) return bytes[0] == 127;
    for (int i = 0; i < 15; ++i)
      if (bytes[std::size_t(i)] != 0) return false;
    return bytes[15] == 1;
  }
  /// The address with every bit after the first `len` cleared.
  constexpr ip_address masked(int len) const noexcept {
    ip_address r = *this;
    const int total = bits();
    if (len < 0) len = 0;
    if (len > total) len = total;
    const int whole = len / 8, rest = len % 8;
    if (whole < 16) {
      r.bytes[std::size_t(whole)] = std::uint8_t(r.bytes[std::size_t(whole)] & (0xff00u >> rest));
      for (int i = whole + 1; i < 16; ++i) r.bytes[std::size_t(i)] = 0;
    }
    return r;
  }
  friend constexpr bool operator==(const ip_address&, const ip_address&) = default;

  /// Writes the text form (dotted quad, or RFC 5952 IPv6) into buf; returns the length.
  /// buf must hold 40 bytes.
  std::size_t write(char* buf) const noexcept {
    std::size_t n = 0;
    auto put_dec = [&](unsigned v) {
      char t[3];
      int k = 0;
      do {
        t[k++] = char('0' + v % 10);
        v /= 10;
      } while (v != 0);
      while (k > 0) buf[n++] = t[--k];
    };
    if (!v6) {
      for (int i = 0; i < 4; ++i) {
        if (i) buf[n++] = '.';
        put_dec(bytes[std::size_t(i)]);
      }
      return n;
    }
    if (unmapped() != *this) {  // IPv4-mapped: RFC 5952 section 5 writes the IPv4 part dotted
      const char prefix[] = "::ffff:";
      for (std::size_t i = 0; i + 1 < sizeof prefix; ++i) buf[n++] = prefix[i];
      for (int i = 12; i < 16; ++i) {
        if (i != 12) buf[n++] = '.';
        put_dec(bytes[std::size_t(i)]);
      }
      return n;
    }
    std::uint16_t w[8];
    for (int i = 0; i < 8; ++i) w[i] = std::uint16_t(bytes[std::size_t(2 * i)] << 8 | bytes[std::size_t(2 * i + 1)]);
    int best = -1, best_len = 0;
    for (int i = 0; i < 8;) {
      if (w[i] != 0) {
        ++i;
        continue;
      }
      int j = i;
      while (j < 8 && w[j] == 0) ++j;
      if (j - i > best_len && j - i >= 2) best = i, best_len = j - i;
      i = j;
    }
    for (int i = 0; i < 8; ++i) {
      if (i == best) {
        buf[n++] = ':';
        if (i == 0) buf[n++] = ':';
        i += best_len - 1;
        continue;
      }
      char t[4];
      int k = 0;
      unsigned v = w[i];
      do {
        t[k++] = "0123456789abcdef"[v & 0xf];
        v >>= 4;
      } while (v != 0);
      while (k > 0) buf[n++] = t[--k];
      if (i != 7) buf[n++] = ':';
    }
    return n;
  }
  std::string str() const {
    char b[40];
    return std::string(b, write(b));
  }
};

/// A network prefix: an address and how many leading bits of it count (203.0.113.0/24).
struct ip_prefix {
  ip_address addr;  ///< bits after `len` are zero
  int len = 0;      ///< 0..32 for IPv4, 0..128 for IPv6

  constexpr bool contains(const ip_address& a) const noexcept {
    if (a.v6 != addr.v6) return false;
    // A length outside 0..bits (a hand-built prefix) is clamped, as masked() does: it must not
    // index past the address or shift by a negative count.
    const int n = len < 0 ? 0 : len > addr.bits() ? addr.bits() : len;
    const int whole = n / 8, rest = n % 8;
    for (int i = 0; i < whole; ++i)
      if (a.bytes[std::size_t(i)] != addr.bytes[std::size_t(i)]) return false;
    return rest == 0 || ((a.bytes[std::size_t(whole)] ^ addr.bytes[std::size_t(whole)]) & (0xff00u >> rest)) == 0;
  }
  friend constexpr bool operator==(const ip_prefix&, const ip_prefix&) = default;
  /// "203.0.113.0/24"; buf must hold 44 bytes.
  std::size_t write(char* buf) const noexcept {
    std::size_t n = addr.write(buf);
    buf[n++] = '/';
    const int l = len < 0 ? 0 : len > addr.bits() ? addr.bits() : len;  // clamped as contains() does
    if (l >= 100) buf[n++] = char('0' + l / 100);
    if (l >= 10) buf[n++] = char('0' + l / 10 % 10);
    buf[n++] = char('0' + l % 10);
    return n;
  }
  std::string str() const {
    char b[44];
    return std::string(b, write(b));
  }
};

/// What gating reads from a multiaddr.
struct endpoint {
  std::optional<ip_address> ip;  ///< the leading /ip4 or /ip6 component, if any (/dns* carry none)
  std::string_view peer;         ///< the last /p2p/<id> component's id, or empty; points into the text
  std::optional<int> cidr;       ///< an /ipcidr/<bits> right after the address (allowlist entries)
};

namespace detail {

inline error multiaddr_error(std::string_view component, std::string_view what) noexcept {
  error e;
  e.code = errc::invalid_argument;
  e.scope = scope_name("multiaddr", component);
  e.detail = what;
  return e;
}

constexpr bool parse_dec(std::string_view s, std::uint32_t max, std::uint32_t& out) noexcept {
  if (s.empty() || s.size() > 10) return false;
  std::uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + std::uint64_t(c - '0');
  }
  if (v > max) return false;
  out = std::uint32_t(v);
  return true;
}

/// A dotted quad as a 32-bit number (first octet in the high byte). Built in a register and
/// stored once by the caller: byte-by-byte stores followed by a whole-address copy stall the
/// store buffer, which showed up as a third of the parse's time.
constexpr bool parse_ip4_word(std::string_view s, std::uint32_t& out) noexcept {
  std::uint32_t word = 0;
  int part = 0;
  while (true) {
    std::size_t k = 0;
    unsigned v = 0;
    while (k < s.size() && s[k] >= '0' && s[k] <= '9') {
      if (k >= 3) return false;
      v = v * 10 + unsigned(s[k] - '0');
      ++k;
    }
    if (k == 0 || v > 255 || (k > 1 && s[0] == '0')) return false;  // no leading zeros (octal ambiguity)
    word = word << 8 | v;
    ++part;
    s.remove_prefix(k);
    if (part == 4) {
      out = word;
      return s.empty();
    }
    if (s.empty() || s[0] != '.') return false;
    s.remove_prefix(1);
  }
}

constexpr bool parse_ip4(std::string_view s, std::uint8_t* out) noexcept {
  std::uint32_t w = 0;
  if (!parse_ip4_word(s, w)) return false;
  for (int i = 0; i < 4; ++i) out[i] = std::uint8_t(w >> (24 - 8 * i));
  return true;
}

/// One bit per byte of x (bit k: byte k's top bit), for x whose bytes are 0x80 or 0.
constexpr unsigned byte_bits(std::uint64_t x) noexcept {
  return unsigned((((x >> 7) & 0x0101010101010101ull) * 0x0102040810204080ull) >> 56);
}
/// 0x80 in every byte of v that is zero, 0 elsewhere (exact: no borrow between bytes).
constexpr std::uint64_t zero_bytes(std::uint64_t v) noexcept {
  constexpr std::uint64_t low7 = 0x7f7f7f7f7f7f7f7full;
  return ~(((v & low7) + low7) | v | low7);
}

/// Which of the 16 bytes at p are digits and which are dots (bit k: byte k), eight bytes at a
/// time in plain integer arithmetic: the form used where SSE2 is not available.
inline void ip4_classes_portable(const unsigned char* p, unsigned& digits, unsigned& dots) noexcept {
  constexpr std::uint64_t ones = 0x0101010101010101ull;
  auto load8 = [](const unsigned char* q) noexcept {
    std::uint64_t x = 0;  // byte k at bits 8k..8k+7
    std::memcpy(&x, q, 8);
    if constexpr (std::endian::native == std::endian::big) {
      x = (x & 0x00ff00ff00ff00ffull) << 8 | (x >> 8 & 0x00ff00ff00ff00ffull);
      x = (x & 0x0000ffff0000ffffull) << 16 | (x >> 16 & 0x0000ffff0000ffffull);
      x = x << 32 | x >> 32;
    }
    return x;
  };
  // a digit: high nibble 3 and low nibble at most 9 (low nibble + 6 does not reach 0x10)
  auto digit_bits = [](std::uint64_t x) noexcept {
    const std::uint64_t high3 = zero_bytes((x & (ones * 0xf0)) ^ (ones * 0x30));
    const std::uint64_t over9 = (((x & (ones * 0x0f)) + ones * 6) & (ones * 0x10)) << 3;
    return byte_bits(high3 & ~over9);
  };
  auto dot_bits = [](std::uint64_t x) noexcept { return byte_bits(zero_bytes(x ^ (ones * '.'))); };
  const std::uint64_t lo = load8(p), hi = load8(p + 8);
  digits = digit_bits(lo) | digit_bits(hi) << 8;
  dots = dot_bits(lo) | dot_bits(hi) << 8;
}
/// ip4_classes_portable, with SSE2 where the compiler has it (every x86-64): a compare and a
/// mask per class instead of about thirty integer operations.
inline void ip4_classes(const unsigned char* p, unsigned& digits, unsigned& dots) noexcept {
#if defined(RCMGR_DETAIL_SSE2)
  const __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
  const __m128i d = _mm_sub_epi8(x, _mm_set1_epi8('0'));  // digits become 0-9, unsigned
  digits = unsigned(_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_min_epu8(d, _mm_set1_epi8(9)), d)));
  dots = unsigned(_mm_movemask_epi8(_mm_cmpeq_epi8(x, _mm_set1_epi8('.'))));
#else
  ip4_classes_portable(p, digits, dots);
#endif
}

/// The dotted quad at the start of `s` (n bytes), the way connections usually arrive
/// ("/ip4/<quad>/tcp/..."), without a branch per character: the digits and dots of the first
/// 16 bytes are found eight at a time, the three dots give the four octets' places, and the
/// octets are read independently of each other. A byte-by-byte loop, whose every step waits on
/// the previous one and whose branches follow the octets' varying lengths, was two thirds of
/// the parse. Returns the quad's length when it is a valid address (no leading zeros, each
/// octet 0-255) followed by '/' or the end of the text; else 0, and the caller parses the text
/// the general way, which also says what is wrong. Reads 18 bytes: the text itself when it is
/// that long, else a zero-padded copy.
inline std::size_t fast_ip4(const char* s, std::size_t n, std::uint32_t& out) noexcept {
  unsigned char pad[18];  // zeroed only when used: most texts are long enough to read in place
  const unsigned char* p = reinterpret_cast<const unsigned char*>(s);
  if (n < sizeof pad) {
    for (std::size_t i = 0; i < sizeof pad; ++i) pad[i] = i < n ? p[i] : 0;
    p = pad;
  }
  unsigned digits = 0, dots = 0;
  ip4_classes(p, digits, dots);
  const unsigned other = ~(digits | dots) & 0xffffu;  // the first byte that is neither ends the quad
  const unsigned end = other != 0 ? unsigned(std::countr_zero(other)) : 16u;
  // the dots before the end, and the same with the lowest one, two, three of them cleared
  const unsigned e1 = dots & ((1u << end) - 1u), e2 = e1 & (e1 - 1u), e3 = e2 & (e2 - 1u), e4 = e3 & (e3 - 1u);
  if (end > 15 || e3 == 0 || e4 != 0 || (end != n && p[end] != '/')) return 0;  // exactly three dots
  // where each octet starts and ends (a length of 0 when two dots touch)
  const unsigned at1 = unsigned(std::countr_zero(e1)) + 1u, at2 = unsigned(std::countr_zero(e2)) + 1u,
                 at3 = unsigned(std::countr_zero(e3)) + 1u;
  bool bad = false;
  auto octet = [&](unsigned at, unsigned len) noexcept {
    const unsigned c0 = p[at] - unsigned('0'), c1 = p[at + 1] - unsigned('0'), c2 = p[at + 2] - unsigned('0');
    const unsigned v = len == 3 ? c0 * 100 + c1 * 10 + c2 : len == 2 ? c0 * 10 + c1 : c0;
    bad |= (len - 1u > 2u) | (v > 255) | ((len > 1) & (c0 == 0));  // 1-3 digits, no leading zeros
    return v & 0xffu;
  };
  const std::uint32_t word = octet(0, at1 - 1u) << 24 | octet(at1, at2 - 1u - at1) << 16 |
                             octet(at2, at3 - 1u - at2) << 8 | octet(at3, end - at3);
  if (bad) return 0;
  out = word;
  return end;
}

/// Sets `ip` to the IPv4 address of a word from parse_ip4_word, in place, with whole-word stores.
inline void set_ip4(std::optional<ip_address>& ip, std::uint32_t w) noexcept {
  // the four bytes in network order at the lowest addresses, zeros after (compilers turn the
  // shifts into one byte swap)
  std::uint64_t lo = 0;
  const std::uint64_t hi = 0;
  if constexpr (std::endian::native == std::endian::little)
    lo = (w >> 24) | (w >> 8 & 0xff00u) | (std::uint64_t(w & 0xff00u) << 8) | (std::uint64_t(w & 0xffu) << 24);
  else
    lo = std::uint64_t(w) << 32;
  ip.emplace();
#if defined(RCMGR_DETAIL_SSE2)
  // One 16-byte store: the gate copies the address whole right after, and a 16-byte load of
  // bytes written by two 8-byte stores waits for them to reach the cache (no store forwarding).
  (void)hi;
  _mm_storeu_si128(reinterpret_cast<__m128i*>(ip->bytes.data()), _mm_cvtsi64_si128(static_cast<long long>(lo)));
#else
  std::memcpy(ip->bytes.data(), &lo, 8);
  std::memcpy(ip->bytes.data() + 8, &hi, 8);
#endif
}

constexpr int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/// RFC 4291 text: groups of 1-4 hex digits, one "::", an optional trailing dotted quad.
constexpr bool parse_ip6(std::string_view s, std::uint8_t* out) noexcept {
  std::uint16_t head[8]{}, tail[8]{};
  int nh = 0, nt = 0;
  bool gap = false;
  if (s.size() < 2) return false;
  if (s[0] == ':') {
    if (s[1] != ':') return false;
    gap = true;
    s.remove_prefix(2);
  }
  while (!s.empty()) {
    if (nh + nt >= 8) return false;
    // an embedded IPv4 address ends the text
    std::size_t k = 0;
    while (k < s.size() && hex_value(s[k]) >= 0) ++k;
    if (k < s.size() && s[k] == '.') {
      std::uint8_t v4[4];
      if (!parse_ip4(s, v4) || nh + nt > 6) return false;
      auto& arr = gap ? tail : head;
      int& na = gap ? nt : nh;
      arr[na++] = std::uint16_t(v4[0] << 8 | v4[1]);
      arr[na++] = std::uint16_t(v4[2] << 8 | v4[3]);
      s = {};
      break;
    }
    if (k == 0 || k > 4) return false;
    std::uint16_t v = 0;
    for (std::size_t j = 0; j < k; ++j) v = std::uint16_t(v << 4 | hex_value(s[j]));
    (gap ? tail[nt++] : head[nh++]) = v;
    s.remove_prefix(k);
    if (s.empty()) break;
    if (s[0] != ':') return false;
    s.remove_prefix(1);
    if (!s.empty() && s[0] == ':') {
      if (gap) return false;
      gap = true;
      s.remove_prefix(1);
    } else if (s.empty()) {
      return false;  // trailing single ':'
    }
  }
  if (gap ? nh + nt > 7 : nh != 8) return false;
  std::uint16_t w[8]{};
  for (int i = 0; i < nh; ++i) w[i] = head[i];
  for (int i = 0; i < nt; ++i) w[8 - nt + i] = tail[i];
  for (int i = 0; i < 8; ++i) {
    out[2 * i] = std::uint8_t(w[i] >> 8);
    out[2 * i + 1] = std::uint8_t(w[i] & 0xff);
  }
  return true;
}

/// Peer ids are base58btc multihashes (Qm..., 12D3KooW...) or base32 CIDs (b...): letters and
/// digits only. The multihash inside is not decoded.
constexpr bool peer_id_text(std::string_view s) noexcept {
  if (s.empty() || s.size() > peer_id::capacity) return false;
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))) return false;
  return true;
}

/// Equality of short names without a call to memcmp (the names are 3 to 17 characters).
constexpr bool same_text(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (a[i] != b[i]) return false;
  return true;
}

enum class ma_arg : std::uint8_t { none, port, text, path };
/// What the parser does with a component beyond checking its argument's form.
enum class ma_role : std::uint8_t { other, ip4, ip6, ip6zone, ipcidr, peer };
struct ma_protocol {
  std::string_view name;
  ma_arg arg;
  ma_role role = ma_role::other;
};
/// Protocols accepted after the first component. Anything else is refused (a typo in a
/// multiaddr should be reported, not silently skipped).
/// The most common protocols come first: the lookup stops at the first match.
inline constexpr ma_protocol ma_protocols[] = {
    {"ip4", ma_arg::text, ma_role::ip4}, {"tcp", ma_arg::port}, {"udp", ma_arg::port}, {"ip6", ma_arg::text, ma_role::ip6},
    {"quic-v1", ma_arg::none},   {"p2p", ma_arg::text, ma_role::peer}, {"sctp", ma_arg::port}, {"dccp", ma_arg::port},
    {"quic", ma_arg::none},      {"webtransport", ma_arg::none},
    {"webrtc-direct", ma_arg::none}, {"webrtc", ma_arg::none},   {"certhash", ma_arg::text}, {"ws", ma_arg::none},
    {"wss", ma_arg::none},       {"tls", ma_arg::none},          {"noise", ma_arg::none},    {"sni", ma_arg::text},
    {"http", ma_arg::none},      {"https", ma_arg::none},        {"http-path", ma_arg::text}, {"p2p-circuit", ma_arg::none},
    {"p2p-webrtc-direct", ma_arg::none}, {"p2p-websocket-star", ma_arg::none}, {"utp", ma_arg::none},
    {"udt", ma_arg::none},       {"unix", ma_arg::path},         {"dns", ma_arg::text},      {"dns4", ma_arg::text},
    {"dns6", ma_arg::text},      {"dnsaddr", ma_arg::text},      {"ip6zone", ma_arg::text, ma_role::ip6zone},
    {"ipcidr", ma_arg::text, ma_role::ipcidr}, {"ipfs", ma_arg::text, ma_role::peer},
};

}  // namespace detail

namespace detail {
/// parse_multiaddr's work, writing into `ep` (which must be empty) and, on failure, into `*err`
/// unless it is null: the gated manager's connection path calls it directly, saving the copies a
/// returned result makes and the construction of an error (130 bytes) it does not need.
inline bool parse_multiaddr_into(std::string_view text, endpoint& ep, error* err) noexcept {
  auto fail = [err](std::string_view component, std::string_view what) {
    if (err != nullptr) *err = multiaddr_error(component, what);
    return false;
  };
  if (text.empty()) return fail("", "empty multiaddr");
  if (text[0] != '/') return fail(text.substr(0, 16), "a multiaddr starts with '/'");
  // Positions rather than string_view copies: the loop keeps them in registers (copies of views
  // went through the stack and stalled on reloading them whole).
  const char* const s = text.data();
  const std::size_t n = text.size();
  auto part_end = [&](std::size_t from) noexcept {  // the '/' ending the part starting at from, or n
    while (from < n && s[from] != '/') ++from;
    return from;
  };
  std::size_t pos = 0;  // at the '/' starting the next component
  int index = 0;
  bool prev_was_ip = false;
  // "/ip4/<quad>" first, as most connections' addresses start: the quad without a branch per digit.
  if (n > 5 && s[0] == '/' && s[1] == 'i' && s[2] == 'p' && s[3] == '4' && s[4] == '/') {
    std::uint32_t w = 0;
    if (const std::size_t len = fast_ip4(s + 5, n - 5, w); len != 0) {
      set_ip4(ep.ip, w);
      pos = 5 + len;
      index = 1;
      prev_was_ip = true;
      // and "/tcp/<port>" or "/udp/<port>" after it: 1-5 digits up to 65535, then '/' or the end.
      // Anything else is left to the loop below, which decides exactly as it would have.
      const bool tcp_or_udp = n - pos >= 6 && ((s[pos + 1] == 't' && s[pos + 2] == 'c') || (s[pos + 1] == 'u' && s[pos + 2] == 'd')) &&
                              s[pos + 3] == 'p' && s[pos + 4] == '/';
      if (tcp_or_udp) {
        std::size_t k = pos + 5, digits = 0;
        std::uint32_t port = 0;
        while (k < n && digits < 6 && s[k] >= '0' && s[k] <= '9') port = port * 10 + std::uint32_t(s[k++] - '0'), ++digits;
        if (digits >= 1 && digits <= 5 && port <= 65535 && (k == n || s[k] == '/')) {
          pos = k;
          index = 2;
          prev_was_ip = false;
        }
      }
    }
  }
  while (pos < n) {
    if (pos + 1 == n) {  // the rest is "/"
      if (index == 0) return fail(text, "empty multiaddr");
      break;  // a trailing '/' is tolerated
    }
    const std::size_t start = pos;
    const std::size_t name_end = part_end(pos + 1);
    const std::string_view name(s + pos + 1, name_end - pos - 1);
    pos = name_end;
    const ma_protocol* proto = nullptr;
    for (const auto& p : ma_protocols)
      if (same_text(p.name, name)) {
        proto = &p;
        break;
      }
    if (proto == nullptr) return fail(name.empty() ? text.substr(start, 16) : name, "unknown multiaddr protocol");
    std::string_view arg;
    if (proto->arg == ma_arg::path) {
      arg = text.substr(pos);  // /unix takes the rest of the address
      pos = n;
      if (arg.size() < 2) return fail(name, "missing value");
    } else if (proto->arg != ma_arg::none) {
      if (pos >= n) return fail(name, "missing value");
      const std::size_t arg_end = part_end(pos + 1);
      arg = std::string_view(s + pos + 1, arg_end - pos - 1);
      pos = arg_end;
      if (arg.empty()) return fail(name, "missing value");
    }
    const std::string_view component = text.substr(start, pos - start);
    bool is_ip = false;
    switch (proto->role) {
      case ma_role::ip4: {
        std::uint32_t w = 0;
        if (!parse_ip4_word(arg, w)) return fail(component, "not an IPv4 address (four decimal numbers 0-255)");
        if (index == 0) set_ip4(ep.ip, w);
        is_ip = true;
        break;
      }
      case ma_role::ip6: {
        ip_address a;
        a.v6 = true;
        if (!parse_ip6(arg, a.bytes.data())) return fail(component, "not an IPv6 address");
        const bool first = index == 0 || (index == 1 && text.substr(0, 9) == "/ip6zone/");
        if (first && !ep.ip) ep.ip = a;
        is_ip = true;
        break;
      }
      case ma_role::ip6zone:
        if (index != 0 || text.substr(pos, 5) != "/ip6/") return fail(component, "ip6zone must come first, before /ip6");
        break;
      case ma_role::ipcidr: {
        std::uint32_t bits = 0;
        // Directly after the leading address (index 0, or 1 after /ip6zone): after a second one
        // ("/ip4/1.2.3.4/ip6/::1/ipcidr/24") it would apply to the wrong address.
        const int leading = text.substr(0, 9) == "/ip6zone/" ? 1 : 0;
        if (!prev_was_ip || !ep.ip || index != leading + 1) return fail(component, "ipcidr must follow the leading /ip4 or /ip6");
        if (!parse_dec(arg, std::uint32_t(ep.ip->bits()), bits))
          return fail(component, "ipcidr must be a prefix length within the address family (0-32 or 0-128)");
        ep.cidr = int(bits);
        break;
      }
      case ma_role::peer:
        if (!peer_id_text(arg)) return fail(component, "not a peer id (letters and digits, at most 79)");
        ep.peer = arg;
        break;
      case ma_role::other:
        if (proto->arg == ma_arg::port) {
          std::uint32_t port = 0;
          if (!parse_dec(arg, 65535, port)) return fail(component, "not a port number (0-65535)");
        }
        break;
    }
    prev_was_ip = is_ip;
    ++index;
  }
  if (index == 0) return fail(text, "empty multiaddr");
  return true;
}
}  // namespace detail

/// Parses multiaddr text. The IP is taken from the first component (/ip4, /ip6, or /ip6zone
/// followed by /ip6, whose zone is ignored), as go-libp2p's manet.ToIP does; addresses that start
/// otherwise (/dns*, /unix, /p2p-circuit relays of unknown address) have none. The peer is the
/// id of the last /p2p (or legacy /ipfs) component. `/ipcidr/<bits>` is accepted only directly
/// after the address (allowlist entries) and must fit its family.
inline result<endpoint> parse_multiaddr(std::string_view text) noexcept {
  endpoint ep;
  error err;
  if (!detail::parse_multiaddr_into(text, ep, &err)) return err;
  return ep;
}

}  // namespace rcmgr
