// Keys of keyed scope kinds. libp2p keys peers by peer id, protocols by protocol id and
// services by name. A custom topology may key its kinds by any type modelling `scope_key`.
#pragma once

#include <algorithm>
#include <compare>
#include <concepts>
#include <cstdint>
#include <functional>
#include <ostream>
#include <string>
#include <string_view>

namespace rcmgr {

/// A libp2p peer id in its text form ("12D3KooW...", "Qm...", "bafz..."), stored inline so that
/// looking up or creating a peer scope never allocates. Every real peer id fits; a longer string
/// is kept as its first bytes followed by '#' and a 64-bit hash of the whole, so distinct long
/// strings still map to distinct ids (barring a 64-bit hash collision) rather than being cut
/// into one.
class peer_id {
 public:
  static constexpr std::size_t capacity = 79;  ///< bytes of text kept inline

  constexpr peer_id() noexcept = default;
  explicit peer_id(std::string_view s) noexcept {
    if (s.size() <= capacity) {
      std::copy(s.begin(), s.end(), buf_);
      size_ = static_cast<std::uint8_t>(s.size());
      return;
    }
    constexpr std::size_t keep = capacity - 17;
    std::copy(s.begin(), s.begin() + keep, buf_);
    buf_[keep] = '#';
    std::uint64_t h = std::hash<std::string_view>{}(s);
    for (std::size_t i = 0; i < 16; ++i, h >>= 4) buf_[capacity - 1 - i] = "0123456789abcdef"[h & 0xf];
    size_ = capacity;
  }
  explicit peer_id(const char* s) noexcept : peer_id(std::string_view(s)) {}

  constexpr std::string_view str() const noexcept { return {buf_, size_}; }
  constexpr operator std::string_view() const noexcept { return str(); }  // NOLINT: a peer id is text
  constexpr bool empty() const noexcept { return size_ == 0; }
  constexpr std::size_t size() const noexcept { return size_; }

  friend constexpr bool operator==(const peer_id& a, const peer_id& b) noexcept { return a.str() == b.str(); }
  friend constexpr auto operator<=>(const peer_id& a, const peer_id& b) noexcept { return a.str() <=> b.str(); }
  friend std::ostream& operator<<(std::ostream& os, const peer_id& p) { return os << p.str(); }

 private:
  char buf_[capacity] = {};
  std::uint8_t size_ = 0;
};

/// A libp2p protocol id, e.g. "/ipfs/id/1.0.0".
using protocol_id = std::string;
/// A service name, e.g. "libp2p.identify".
using service_name = std::string;

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
