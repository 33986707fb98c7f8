// What a manager reports when a caller misuses a scope (over-releases, negative releases), and
// the counts it keeps of them: public types, used by the engine (detail/core.hpp) and the
// manager, kept apart from the engine so that reading them needs none of it.
#pragma once

#include <cstdint>

#include "rcmgr/errors.hpp"

namespace rcmgr {

/// What a misuse report says. Misuse never changes accounting beyond what was really held:
/// an over-release is clamped to the amount the scope holds, a negative release is ignored.
struct misuse_event {
  enum class what : std::uint8_t {
    over_release,      ///< release_memory(n) with n above what the scope itself reserved
    negative_release,  ///< release_memory(n) with n < 0
  };
  what kind = what::over_release;
  scope_name scope;
  std::int64_t requested = 0;  ///< bytes asked to release
  std::int64_t available = 0;  ///< bytes the scope held (what was released)
};

/// Counts of misuse seen by a manager since it was created.
struct misuse_stats {
  std::uint64_t over_releases = 0;
  std::int64_t over_released_bytes = 0;  ///< sum of (requested - available) over over_releases, saturating at INT64_MAX
  std::uint64_t negative_releases = 0;
};

}  // namespace rcmgr
