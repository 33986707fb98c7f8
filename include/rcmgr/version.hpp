// rcmgr: the libp2p Network Resource Manager as a header-only C++20 library.
// This file is the single place the version lives; CMake parses it.
#pragma once

#define RCMGR_VERSION_MAJOR 0
#define RCMGR_VERSION_MINOR 1
#define RCMGR_VERSION_PATCH 0

namespace rcmgr {
/// Library version as a single integer, major * 10000 + minor * 100 + patch.
inline constexpr int version = RCMGR_VERSION_MAJOR * 10000 + RCMGR_VERSION_MINOR * 100 + RCMGR_VERSION_PATCH;
}  // namespace rcmgr
