// What the firmware sessions print, and how they check it: every step states the outcome it
// expects (accepted, or refused by which scope with which code), prints what happened, and counts
// the steps that did not go as expected; main returns that count as the exit status.
// Errors are printed field by field: rcmgr::error's stream operator and message() need
// <ostream> and std::string, which this firmware leaves out.
#pragma once

#include <string_view>

#include "board.hpp"
#include "rcmgr/errors.hpp"
#include "rcmgr/resources.hpp"

namespace firmware {

inline int failures = 0;

inline std::string_view resource_name(rcmgr::resource r) noexcept {
  switch (r) {
    case rcmgr::resource::memory: return "memory";
    case rcmgr::resource::streams: return "stream";
    case rcmgr::resource::conns: return "connection";
    case rcmgr::resource::fd: return "file descriptor";
  }
  return "?";
}
inline std::string_view code_name(rcmgr::errc c) noexcept {
  switch (c) {
    case rcmgr::errc::limit_exceeded: return "limit exceeded";
    case rcmgr::errc::scope_closed: return "scope closed";
    case rcmgr::errc::invalid_argument: return "invalid argument";
    case rcmgr::errc::already_attached: return "already attached";
    case rcmgr::errc::not_attached: return "not attached";
    case rcmgr::errc::manager_closed: return "manager closed";
    case rcmgr::errc::too_many_scopes: return "too many scopes";
    case rcmgr::errc::out_of_memory: return "out of memory";
    case rcmgr::errc::rate_limited: return "rate limited";
  }
  return "?";
}

/// "stream refused 1 B of memory: 8192 in use, limit 8192" (the scope, then what and how much)
inline void print_error(const rcmgr::error& e) noexcept {
  board::print(e.scope.kind);
  if (!e.scope.key().empty()) {
    board::print(":");
    board::print(e.scope.key());
  }
  if (e.code != rcmgr::errc::limit_exceeded) {
    board::print(" ");
    board::print(code_name(e.code));
    if (!e.detail.empty()) {
      board::print(": ");
      board::print(e.detail);
    }
    return;
  }
  board::print(" refused ");
  board::print(static_cast<long long>(e.attempted));
  board::print(e.res == rcmgr::resource::memory ? " B of " : " ");
  board::print(resource_name(e.res));
  board::print(": ");
  board::print(static_cast<long long>(e.current));
  board::print(e.total ? " in use in total, limit " : " in use, limit ");
  board::print(static_cast<long long>(e.limit_value));
}

/// "  [when] device: 2 connection(s), 3 stream(s), 24576 B" -- the system scope's usage, without
/// the line's end so a caller can add to it.
inline void print_device_usage(const rcmgr::scope_stat& s, std::string_view when) noexcept {
  board::print("  [");
  board::print(when);
  board::print("] device: ");
  board::print(static_cast<long long>(s.conns()));
  board::print(" connection(s), ");
  board::print(static_cast<long long>(s.streams()));
  board::print(" stream(s), ");
  board::print(static_cast<long long>(s.memory));
  board::print(" B");
}

/// The outcome a step expects: accepted, or refused with `code` by a scope of kind `scope`.
struct expect {
  bool ok = true;
  rcmgr::errc code{};
  std::string_view scope;
};
inline constexpr expect accepted{};
inline constexpr expect refused(rcmgr::errc code, std::string_view scope) noexcept { return {false, code, scope}; }

/// Prints one step and checks it against what was expected.
template <class R>
bool step(std::string_view what, const R& r, expect want) noexcept {
  board::print("  ");
  board::print_padded(what, 47);
  board::print(" ");
  bool as_expected;
  if (r) {
    board::print("ok");
    as_expected = want.ok;
  } else {
    board::print("refused: ");
    print_error(r.error());
    as_expected = !want.ok && r.error().code == want.code && r.error().scope.kind == want.scope;
  }
  if (!as_expected) {
    board::print("   <-- NOT AS EXPECTED");
    ++failures;
  }
  board::print("\n");
  return static_cast<bool>(r);
}

/// Checks a condition that is not a step (a usage figure, say).
inline void check(bool ok, std::string_view what) noexcept {
  if (ok) return;
  board::print("  check failed: ");
  board::print(what);
  board::print("\n");
  ++failures;
}

/// The RAM figures of the image, printed last.
inline void print_ram(std::size_t manager_bytes) noexcept {
  board::print("ram: manager object ");
  board::print(static_cast<long long>(manager_bytes));
  board::print(" B; .data ");
  board::print(static_cast<long long>(board::data_bytes()));
  board::print(" B, .bss ");
  board::print(static_cast<long long>(board::bss_bytes()));
  board::print(" B; stack high-water ");
  board::print(static_cast<long long>(board::stack_high_water()));
  board::print(" B of ");
  board::print(static_cast<long long>(board::stack_bytes()));
  board::print(" B\n");
}

}  // namespace firmware
