// Keys of keyed scope kinds. libp2p keys peers by peer id, protocols by protocol id and
// services by name. A custom topology may key its kinds by any type modelling `scope_key`.
#pragma once

#include <compare>
#include <concepts>
#include <type_traits>
#include <cstdint>
#include <cstring>
#include <functional>
#include <ostream>
#include <string>
#include <string_view>

namespace rcmgr {

/// Why a key cannot name a scope. `what` is static text naming the key ("peer id", "empty peer
/// id"); for a key over a length bound, `size` is its length and `max` the bound, both in bytes.
/// A default-constructed problem (empty `what`) means the key is fine.
struct key_problem {
  std::string_view what;
  std::uint32_t size = 0;  ///< bytes given (saturating at UINT32_MAX)
  std::uint32_t max = 0;   ///< bytes allowed; 0 when the problem is not a length
  constexpr explicit operator bool() const noexcept { return !what.empty(); }
};

/// A libp2p peer id in its text form ("12D3KooW...", "16Uiu2...", "Qm...", "bafz...", "k51..."),
/// stored exactly and inline, so that looking up or creating a peer scope never allocates. Every
/// real peer id fits: the longest text form of a libp2p peer id is the base32 CIDv1 of a 42-byte
/// identity multihash, 75 characters. Text longer than `capacity` is not shortened (two ids
/// sharing a scope would let one peer spend another's limits): the peer_id is marked too long
/// (`valid()` is false, `str()` is empty, `input_size()` says how long it was) and every
/// operation taking it as a key refuses it with errc::invalid_argument. An empty peer id is
/// refused the same way.
class peer_id {
 public:
  static constexpr std::size_t capacity = 79;  ///< bytes of text kept inline

  constexpr peer_id() noexcept = default;
  constexpr explicit peer_id(std::string_view s) noexcept {
    if (s.size() > capacity) {
      size_ = too_long;
      // Keep the length the caller gave, for the error message, in the unused text buffer.
      std::uint64_t n = s.size();
      for (std::size_t i = 0; i < 8; ++i, n >>= 8) buf_[i] = static_cast<char>(n & 0xff);
      return;
    }
    if (std::is_constant_evaluated()) {
      for (std::size_t i = 0; i < s.size(); ++i) buf_[i] = s[i];
    } else if (!s.empty()) {
      // One memcpy of at most `capacity` bytes. (g++ 12 at -O2 turns the loop into one too, then
      // warns -Warray-bounds about a std::string temporary's inline buffer it wrongly thinks is
      // the source; written this way it sees the bound.)
      std::memcpy(buf_, s.data(), s.size() < capacity ? s.size() : capacity);
    }
    size_ = static_cast<std::uint8_t>(s.size());
  }
  constexpr explicit peer_id(const char* s) noexcept : peer_id(std::string_view(s)) {}

  /// The text; empty for a peer id built from text longer than `capacity`.
  constexpr std::string_view str() const noexcept { return {buf_, size_ == too_long ? 0u : size_}; }
  constexpr operator std::string_view() const noexcept { return str(); }  // NOLINT: a peer id is text
  constexpr bool empty() const noexcept { return size_ == 0; }
  constexpr std::size_t size() const noexcept { return str().size(); }
  /// True when the peer id can key a scope: not empty and not longer than `capacity`.
  constexpr bool valid() const noexcept { return size_ != 0 && size_ != too_long; }
  /// Length in bytes of the text this peer id was built from (above `capacity` when too long).
  constexpr std::size_t input_size() const noexcept {
    if (size_ != too_long) return size_;
    std::uint64_t n = 0;
    for (std::size_t i = 8; i-- > 0;) n = (n << 8) | static_cast<unsigned char>(buf_[i]);
    return static_cast<std::size_t>(n);
  }
  /// Why this peer id cannot key a scope (see key_problem); empty when it can.
  constexpr key_problem problem() const noexcept {
    if (size_ == 0) return {"empty peer id", 0, 0};
    if (size_ == too_long) {
      const std::size_t n = input_size();
      return {"peer id", n > 0xffffffffu ? 0xffffffffu : static_cast<std::uint32_t>(n), std::uint32_t{capacity}};
    }
    return {};
  }

  friend constexpr bool operator==(const peer_id& a, const peer_id& b) noexcept {
    return a.size_ == b.size_ && a.str() == b.str();
  }
  friend constexpr auto operator<=>(const peer_id& a, const peer_id& b) noexcept { return a.str() <=> b.str(); }
  friend std::ostream& operator<<(std::ostream& os, const peer_id& p) { return os << p.str(); }

 private:
  static constexpr std::uint8_t too_long = 0xff;
  char buf_[capacity] = {};
  std::uint8_t size_ = 0;  ///< bytes of text, or too_long
};

/// A libp2p protocol id, e.g. "/ipfs/id/1.0.0". Scopes refuse an empty one and one longer than
/// `max_protocol_id_size` with errc::invalid_argument.
using protocol_id = std::string;
/// A service name, e.g. "libp2p.identify". Scopes refuse an empty one and one longer than
/// `max_service_name_size` with errc::invalid_argument.
using service_name = std::string;

/// Longest protocol id a protocol scope accepts, in bytes. go-libp2p's multistream-select refuses
/// a negotiation message over 1024 bytes, and the message is the protocol id plus a newline, so no
/// peer can negotiate a longer protocol.
inline constexpr std::size_t max_protocol_id_size = 1023;
/// Longest service name a service scope accepts, in bytes. Services are named by the local node;
/// the bound only keeps a stray buffer from becoming a key.
inline constexpr std::size_t max_service_name_size = 1023;

/// What a key type of a keyed scope kind must provide: hashing, equality, copying, and a text
/// form for error messages (conversion to std::string_view, or `to_string(k)` found by ADL).
template <class K>
concept scope_key = std::copy_constructible<K> && std::equality_comparable<K> && requires(const K& k) {
  { std::hash<K>{}(k) } -> std::convertible_to<std::size_t>;
} && (std::convertible_to<const K&, std::string_view> || requires(const K& k) {
  { to_string(k) } -> std::convertible_to<std::string>;
});

}  // namespace rcmgr

template <>
struct std::hash<rcmgr::peer_id> {
  std::size_t operator()(const rcmgr::peer_id& p) const noexcept { return std::hash<std::string_view>{}(p.str()); }
};
