// Debug builds (NDEBUG not defined): count the handles and references a manager gave out, per
// kind, so that destroying the manager while some are alive is reported at once -- with the kind
// and number of each -- instead of surfacing later as a use-after-free when they end. In release
// builds the counter is an empty type and every call compiles to nothing.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "rcmgr/detail/platform.hpp"

namespace rcmgr {

/// Called by a debug build's manager destructor when handles or references it gave out are still
/// alive. `report` is one line naming each kind and count, e.g.
///   "2 stream handles, 1 peer reference"; `user` is what was given to set_outlived_handler().
/// The default prints the report to stderr and aborts: carrying on would let those handles
/// reach freed memory when they end. A handler that returns lets the destruction go ahead (for
/// tests); the handles must then never be used or destroyed.
using outlived_handler = void (*)(std::string_view report, void* user);

namespace detail {

[[noreturn]] inline void default_outlived(std::string_view report) noexcept {
  std::fputs("rcmgr: the resource manager was destroyed while handles it gave out are alive: ", stderr);
  std::fwrite(report.data(), 1, report.size(), stderr);
  std::fputs(" (end them, or let them go out of scope, before the manager)\n", stderr);
  std::abort();
}

template <bool Enabled, std::size_t N>
struct live_handles {
  // release builds: nothing
  constexpr void opened(std::size_t, bool) noexcept {}
  constexpr void closed(std::size_t, bool) noexcept {}
  template <class NameAt>
  constexpr void check(NameAt&&) noexcept {}
  constexpr void set_handler(outlived_handler, void*) noexcept {}
};

template <std::size_t N>
struct live_handles<true, N> {
  // [kind][0]: handles or references of the kind; [kind][1]: spans opened on it
  std::atomic<long> count[N][2] = {};
  outlived_handler handler = nullptr;
  void* user = nullptr;

  void opened(std::size_t kind, bool span) noexcept { count[kind][span].fetch_add(1, std::memory_order_relaxed); }
  void closed(std::size_t kind, bool span) noexcept { count[kind][span].fetch_sub(1, std::memory_order_relaxed); }
  void set_handler(outlived_handler h, void* u) noexcept {
    handler = h;
    user = u;
  }
  /// name_at(kind) -> {name, per_object}: per-object kinds have handles, shared ones references.
  template <class NameAt>
  void check(NameAt&& name_at) noexcept {
    std::string report;
    for (std::size_t k = 0; k < N; ++k)
      for (int s = 0; s < 2; ++s) {
        const long c = count[k][s].load(std::memory_order_relaxed);
        if (c == 0) continue;
        const auto [name, per_object] = name_at(k);
        if (!report.empty()) report += ", ";
        report += std::to_string(c);
        if (s == 1) {
          report += c == 1 ? " span on " : " spans on ";
          report += name;
        } else {
          report += ' ';
          report += name;
          report += per_object ? " handle" : " reference";
          if (c != 1) report += 's';
        }
      }
    if (report.empty()) return;
    if (handler != nullptr) handler(report, user);
    else default_outlived(report);
  }
};

// Off in release builds, and on bare metal: the report needs a std::string and stderr, which a
// heap-free firmware has neither of (detail/platform.hpp).
#if defined(NDEBUG) || RCMGR_BARE_METAL
inline constexpr bool track_live_handles = false;
#else
inline constexpr bool track_live_handles = true;
#endif

}  // namespace detail
}  // namespace rcmgr
