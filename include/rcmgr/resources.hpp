// The basic resources the manager accounts, the direction of streams and connections, memory
// reservation priorities, and the per-scope usage snapshot.
#pragma once

#include <cstdint>
#include <string_view>

namespace rcmgr {

/// Which side initiated a stream or connection.
enum class direction : std::uint8_t { inbound, outbound };

/// The four reservation priorities of libp2p. Any other value in [0, 255] is valid too: a
/// reservation at priority p may use at most (p + 1) / 256 of a scope's memory limit.
namespace priority {
inline constexpr std::uint8_t low = 101;     ///< passes while the scope is under ~40% of its limit
inline constexpr std::uint8_t medium = 152;  ///< ~60%
inline constexpr std::uint8_t high = 203;    ///< ~80%
inline constexpr std::uint8_t always = 255;  ///< up to the limit itself
}  // namespace priority

/// A kind of resource. A scope kind declares which of these it accounts (see `accounts`).
enum class resource : std::uint8_t {
  memory,   ///< bytes
  streams,  ///< open streams, counted per direction and in total
  conns,    ///< open connections, counted per direction and in total
  fd,       ///< file descriptors
};

/// A set of resources, as a bit mask over `resource`.
struct resource_set {
  std::uint8_t bits = 0;
  constexpr bool contains(resource r) const noexcept { return (bits >> static_cast<unsigned>(r)) & 1u; }
  constexpr bool includes(resource_set o) const noexcept { return (bits & o.bits) == o.bits; }
  friend constexpr bool operator==(resource_set, resource_set) = default;
};

/// Declares the resources a scope kind accounts: `accounts<resource::memory, resource::streams>`.
template <resource... Rs>
struct accounts {
  static constexpr resource_set set{static_cast<std::uint8_t>((0u | ... | (1u << static_cast<unsigned>(Rs))))};
};
/// Every resource.
using accounts_all = accounts<resource::memory, resource::streams, resource::conns, resource::fd>;

/// Usage of one scope at one instant (the libp2p `ScopeStat`). Counts are never negative.
struct scope_stat {
  std::int64_t streams_inbound = 0;
  std::int64_t streams_outbound = 0;
  std::int64_t conns_inbound = 0;
  std::int64_t conns_outbound = 0;
  std::int64_t fd = 0;
  std::int64_t memory = 0;  ///< bytes

  constexpr std::int64_t streams() const noexcept { return streams_inbound + streams_outbound; }
  constexpr std::int64_t conns() const noexcept { return conns_inbound + conns_outbound; }
  constexpr bool empty() const noexcept {
    return streams_inbound == 0 && streams_outbound == 0 && conns_inbound == 0 && conns_outbound == 0 && fd == 0 &&
           memory == 0;
  }
  friend constexpr bool operator==(const scope_stat&, const scope_stat&) = default;
};

/// Human-readable names, used in error messages and reports.
constexpr std::string_view to_string(direction d) noexcept { return d == direction::inbound ? "inbound" : "outbound"; }
constexpr std::string_view to_string(resource r) noexcept {
  switch (r) {
    case resource::memory: return "memory";
    case resource::streams: return "streams";
    case resource::conns: return "connections";
    case resource::fd: return "file descriptors";
  }
  return "?";
}

}  // namespace rcmgr
