// Errors. Every fallible operation returns `result<T>` holding either a value or an `error`;
// nothing throws, so the library works under -fno-exceptions. An `error` is a plain value (no
// heap allocation: under attack, refusing must stay cheap) that says which scope refused, what,
// and by how much, and prints as one line.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <ostream>
#include <string>
#include <string_view>
#include <system_error>

#include "rcmgr/detail/printable.hpp"
#include "rcmgr/limits.hpp"
#include "rcmgr/resources.hpp"

namespace rcmgr {

/// What went wrong. Converts to std::error_code through `rcmgr::error_category()`.
enum class errc : std::uint8_t {
  limit_exceeded = 1,  ///< a scope's limit refused the reservation; nothing was reserved anywhere
  scope_closed,        ///< the scope (or the owner a span reserves through) has ended
  invalid_argument,    ///< e.g. a negative size
  already_attached,    ///< set_peer / set_protocol / set_service called a second time
  not_attached,        ///< a prerequisite is missing, e.g. set_service before set_protocol
  manager_closed,      ///< the manager was closed; no new scopes are opened
  too_many_scopes,     ///< the storage policy's capacity for a keyed kind is exhausted
  out_of_memory,       ///< an allocation the operation needed failed; nothing changed
  rate_limited,        ///< a connection rate limit (a token bucket of the remote's subnet) refused
};

namespace detail {
class error_category_impl final : public std::error_category {
 public:
  const char* name() const noexcept override { return "rcmgr"; }
  std::string message(int ev) const override {
    switch (static_cast<errc>(ev)) {
      case errc::limit_exceeded: return "resource limit exceeded";
      case errc::scope_closed: return "resource scope closed";
      case errc::invalid_argument: return "invalid argument";
      case errc::already_attached: return "scope already attached";
      case errc::not_attached: return "required attachment missing";
      case errc::manager_closed: return "resource manager closed";
      case errc::too_many_scopes: return "too many scopes of this kind";
      case errc::out_of_memory: return "out of memory";
      case errc::rate_limited: return "connection rate limit exceeded";
    }
    return "unknown rcmgr error";
  }
};
}  // namespace detail

/// The category of rcmgr error codes.
inline const std::error_category& error_category() noexcept {
  static const detail::error_category_impl instance;
  return instance;
}
inline std::error_code make_error_code(errc e) noexcept { return {static_cast<int>(e), error_category()}; }

/// Names a scope in messages: its kind ("peer") and, for keyed kinds, its key ("12D3KooW...").
/// Keys longer than the inline buffer are truncated with a trailing "...": enough to tell scopes
/// apart in a log line without allocating.
struct scope_name {
  static constexpr std::size_t key_capacity = 70;
  std::string_view kind;  ///< points at static storage
  char key_buf[key_capacity] = {};
  std::uint8_t key_len = 0;

  constexpr scope_name() = default;
  explicit scope_name(std::string_view k) noexcept : kind(k) {}
  scope_name(std::string_view k, std::string_view key) noexcept : kind(k) { set_key(key); }
  void set_key(std::string_view key) noexcept {
    if (key.size() <= key_capacity) {
      std::memcpy(key_buf, key.data(), key.size());
      key_len = static_cast<std::uint8_t>(key.size());
    } else {
      std::memcpy(key_buf, key.data(), key_capacity - 3);
      std::memcpy(key_buf + key_capacity - 3, "...", 3);
      key_len = key_capacity;
    }
  }
  /// Sets the key of a view scope, "first@second", without allocating. Each part is cut to the
  /// capacity first, then the whole as set_key(key) does.
  void set_key(std::string_view first, char sep, std::string_view second) noexcept {
    char tmp[2 * key_capacity + 1];
    const std::size_t a = first.size() < key_capacity ? first.size() : key_capacity;
    const std::size_t b = second.size() < key_capacity ? second.size() : key_capacity;
    std::memcpy(tmp, first.data(), a);
    tmp[a] = sep;
    std::memcpy(tmp + a + 1, second.data(), b);
    set_key(std::string_view(tmp, a + 1 + b));
  }
  std::string_view key() const noexcept { return {key_buf, key_len}; }
  /// "peer:12D3KooW..." or "system".
  std::string str() const {
    std::string s(kind);
    if (key_len != 0) (s += ':') += key();
    return s;
  }
  /// Keys are chosen by remote peers: control characters, bytes that are not UTF-8 and '\\'
  /// are written as \xNN (detail::write_printable), so a key cannot forge log lines or send
  /// escape sequences to a terminal. str() keeps the bytes as they are.
  friend std::ostream& operator<<(std::ostream& os, const scope_name& n) {
    os << n.kind;
    if (n.key_len != 0) {
      os << ':';
      detail::write_printable(os, n.key());
    }
    return os;
  }
};

/// The error value. For `limit_exceeded` every numeric field is meaningful: the reservation of
/// `attempted` units of `res` (in `dir` for streams and connections) found `current` in use
/// against `limit_value` (the per-direction limit, or the total one when `total` is set), and
/// for memory at priority `prio`, of which only memory_threshold(limit_value, prio) was usable.
struct error {
  errc code = errc::invalid_argument;
  resource res = resource::memory;
  direction dir = direction::inbound;
  bool has_direction = false;     ///< dir is meaningful (streams, connections)
  bool total = false;             ///< the inbound+outbound total limit refused, not the directional one
  std::uint8_t prio = priority::always;
  std::int64_t current = 0;       ///< usage of the refusing scope before the attempt
  std::int64_t attempted = 0;     ///< amount asked for (bytes or count)
  std::int64_t limit_value = 0;   ///< the limit that refused
  scope_name scope;               ///< the scope that refused (or was closed, or was misused)
  std::string_view detail;        ///< static text for non-limit errors, e.g. "already attached to a protocol"

  std::error_code error_code() const noexcept { return make_error_code(code); }
  /// An error is usable wherever a std::error_code is expected (`std::error_code ec = r.error();`);
  /// the conversion keeps the code only, the numbers stay in the error.
  operator std::error_code() const noexcept { return make_error_code(code); }  // NOLINT: implicit by design
  /// For memory: the most the scope could hold at this priority.
  constexpr std::int64_t usable() const noexcept {
    return res == resource::memory ? memory_threshold(limit_value, prio) : limit_value;
  }

  /// One line, for example
  ///   peer:12D3KooWA refused 4096 B of memory at priority low (101): 28000 B in use, 26214 B usable of limit 65536 B
  ///   protocol:/ipfs/id/1.0.0 refused 1 inbound stream: 128 inbound in use, inbound limit 128
  friend std::ostream& operator<<(std::ostream& os, const error& e) {
    os << e.scope << ' ';
    switch (e.code) {
      case errc::limit_exceeded: {
        if (e.res == resource::memory) {
          os << "refused " << e.attempted << " B of memory at priority " << priority_name(e.prio) << " ("
             << int(e.prio) << "): " << e.current << " B in use, ";
          if (e.prio != priority::always) os << e.usable() << " B usable of ";
          os << "limit " << e.limit_value << " B";
        } else {
          std::string_view unit = e.res == resource::streams ? "stream" : e.res == resource::conns ? "connection" : "file descriptor";
          os << "refused " << e.attempted << ' ';
          if (e.has_direction) os << to_string(e.dir) << ' ';
          os << unit << (e.attempted == 1 ? "" : "s") << ": " << e.current;
          if (e.total) os << " in use in total, total limit ";
          else if (e.has_direction) os << ' ' << to_string(e.dir) << " in use, " << to_string(e.dir) << " limit ";
          else os << " in use, limit ";
          os << e.limit_value;
        }
        return os;
      }
      case errc::rate_limited:
        // e.g. rate:203.0.113.7/32 refused 1 inbound connection: rate limit exceeded (the subnet's
        // connection bucket is empty, burst 16)
        os << "refused " << e.attempted << ' ' << (e.has_direction ? to_string(e.dir) : std::string_view("")) << (e.has_direction ? " " : "")
           << "connection: rate limit exceeded (" << e.detail << ", burst " << e.limit_value << ')';
        return os;
      default:
        os << make_error_code(e.code).message();
        if (!e.detail.empty()) os << ": " << e.detail;
        // A key over a length bound: detail names the key, limit_value is the bound in bytes.
        if (e.code == errc::invalid_argument && e.limit_value > 0)
          os << " of " << e.attempted << " bytes exceeds the " << e.limit_value << "-byte maximum";
        return os;
    }
  }
  std::string message() const;

 private:
  static constexpr std::string_view priority_name(std::uint8_t p) noexcept {
    switch (p) {
      case priority::low: return "low";
      case priority::medium: return "medium";
      case priority::high: return "high";
      case priority::always: return "always";
      default: return "custom";
    }
  }
};

}  // namespace rcmgr

template <>
struct std::is_error_code_enum<rcmgr::errc> : std::true_type {};

#include <sstream>
inline std::string rcmgr::error::message() const {
  std::ostringstream os;
  os << *this;
  return std::move(os).str();
}
