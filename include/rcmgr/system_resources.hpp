// What the machine gives this process: memory (honouring cgroup limits) and file descriptors.
// Used by libp2p::autoscale() to size the limits, and usable on its own.
//
// Memory is the smaller of physical RAM and the tightest cgroup memory limit on the path from
// the process's cgroup up to the root of the mounted hierarchy:
//   cgroup v2  <mount>/<path>/memory.max             ("max" = no limit)
//   cgroup v1  <mount>/<path>/memory.limit_in_bytes  (a huge value, e.g. 9223372036854771712,
//                                                     = no limit)
// where <path> comes from /proc/self/cgroup and <mount> from /proc/self/mountinfo (by default
// /sys/fs/cgroup for v2 and /sys/fs/cgroup/memory for v1). On a hybrid system the memory
// controller lives in the v1 hierarchy, so a v1 "memory" line wins over the v2 line.
//
// Every function that reads files takes the root directory to read them under, so tests can
// build a fake /proc and /sys/fs/cgroup in a temporary directory.
#pragma once

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#if defined(__unix__) || defined(__APPLE__)
#include <sys/resource.h>
#include <unistd.h>
#define RCMGR_HAS_POSIX_RESOURCES 1
#else
#define RCMGR_HAS_POSIX_RESOURCES 0
#endif

namespace rcmgr {

/// Where the memory figure came from.
enum class memory_source : std::uint8_t {
  cgroup_v2,  ///< a cgroup v2 memory.max below physical RAM
  cgroup_v1,  ///< a cgroup v1 memory.limit_in_bytes below physical RAM
  physical,   ///< physical RAM (no cgroup limit, or one above RAM)
  unknown,    ///< nothing could be read; bytes is 0
};

constexpr std::string_view to_string(memory_source s) noexcept {
  switch (s) {
    case memory_source::cgroup_v2: return "cgroup v2";
    case memory_source::cgroup_v1: return "cgroup v1";
    case memory_source::physical: return "physical RAM";
    case memory_source::unknown: return "unknown";
  }
  return "?";
}

/// Memory available to the process.
struct memory_info {
  std::int64_t bytes = 0;     ///< min(physical, cgroup_limit); 0 when nothing is known
  std::int64_t physical = 0;  ///< physical RAM in bytes; 0 when unknown
  /// Tightest cgroup limit found, in bytes; INT64_MAX when there is none ("max"), or when the
  /// value does not fit in 63 bits. May exceed physical RAM (cgroup v1 writes a huge number for
  /// "no limit").
  std::int64_t cgroup_limit = std::numeric_limits<std::int64_t>::max();
  memory_source source = memory_source::unknown;
  std::filesystem::path file;  ///< the cgroup file whose limit applies (empty for physical RAM)
};

/// Memory and descriptors of the process.
struct system_resources {
  memory_info memory;
  std::int64_t fds = 0;  ///< soft RLIMIT_NOFILE; 0 when unknown
};

namespace detail::sysres {

inline bool read_text(const std::filesystem::path& p, std::string& out) {
  std::ifstream in(p);
  if (!in) return false;
  std::ostringstream ss;
  ss << in.rdbuf();
  out = std::move(ss).str();
  return true;
}

inline std::string_view trim(std::string_view s) noexcept {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\n' || s.front() == '\r')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\n' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

/// Decimal digits only; saturates at INT64_MAX (a v1 "no limit" may not fit). False if not a number.
inline bool parse_bytes(std::string_view s, std::int64_t& out) noexcept {
  s = trim(s);
  if (s.empty()) return false;
  std::int64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    const int d = c - '0';
    if (v > (std::numeric_limits<std::int64_t>::max() - d) / 10) {
      v = std::numeric_limits<std::int64_t>::max();
    } else {
      v = v * 10 + d;
    }
  }
  out = v;
  return true;
}

inline std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> parts;
  std::size_t b = 0;
  for (std::size_t i = 0; i <= s.size(); ++i)
    if (i == s.size() || s[i] == sep) {
      parts.push_back(s.substr(b, i - b));
      b = i + 1;
    }
  return parts;
}

/// mountinfo escapes blanks in paths as \040 and so on (octal).
inline std::string unescape_mount_path(std::string_view s) {
  std::string r;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size() && s[i + 1] >= '0' && s[i + 1] <= '7' && s[i + 2] >= '0' &&
        s[i + 2] <= '7' && s[i + 3] >= '0' && s[i + 3] <= '7') {
      r += static_cast<char>((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0'));
      i += 3;
    } else {
      r += s[i];
    }
  }
  return r;
}

/// A mounted cgroup hierarchy: where it is mounted and which cgroup its mount root is.
struct cgroup_mount {
  bool found = false;
  std::string mount_point;  ///< absolute, as seen by the process
  std::string root = "/";   ///< the cgroup shown at mount_point (not "/" inside some containers)
};

/// Finds the cgroup2 mount (v2) or the cgroup v1 mount carrying the memory controller.
inline cgroup_mount find_mount(const std::filesystem::path& root, bool v2) {
  cgroup_mount m;
  std::string text;
  if (!read_text(root / "proc/self/mountinfo", text)) return m;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    // id parent major:minor root mount-point options [optional...] - fstype source super-options
    const auto dash = line.find(" - ");
    if (dash == std::string::npos) continue;
    const auto left = split(std::string_view(line).substr(0, dash), ' ');
    const auto right = split(std::string_view(line).substr(dash + 3), ' ');
    if (left.size() < 5 || right.empty()) continue;
    bool match = false;
    if (v2) {
      match = right[0] == "cgroup2";
    } else if (right[0] == "cgroup" && right.size() >= 3) {
      for (auto opt : split(right[2], ','))
        if (opt == "memory") match = true;
    }
    if (!match) continue;
    m.found = true;
    m.root = unescape_mount_path(left[3]);
    m.mount_point = unescape_mount_path(left[4]);
    return m;
  }
  return m;
}

/// The process's cgroup path in the v2 hierarchy (line "0::<path>") or in the v1 hierarchy that
/// carries the memory controller (line "<n>:...memory...:<path>"). False if there is none.
inline bool process_cgroup(const std::filesystem::path& root, bool v2, std::string& path) {
  std::string text;
  if (!read_text(root / "proc/self/cgroup", text)) return false;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    const auto c1 = line.find(':');
    if (c1 == std::string::npos) continue;
    const auto c2 = line.find(':', c1 + 1);
    if (c2 == std::string::npos) continue;
    const std::string_view id = std::string_view(line).substr(0, c1);
    const std::string_view controllers = std::string_view(line).substr(c1 + 1, c2 - c1 - 1);
    const std::string_view p = std::string_view(line).substr(c2 + 1);
    if (v2) {
      if (id == "0" && controllers.empty()) {
        path = std::string(p);
        return true;
      }
    } else {
      for (auto c : split(controllers, ','))
        if (c == "memory") {
          path = std::string(p);
          return true;
        }
    }
  }
  return false;
}

/// The tightest limit in `file_name` from the process's cgroup up to the mount root.
/// Returns false when no limit file could be read at all.
inline bool cgroup_limit(const std::filesystem::path& root, bool v2, std::int64_t& limit, std::filesystem::path& from) {
  std::string cg;
  if (!process_cgroup(root, v2, cg)) return false;
  cgroup_mount m = find_mount(root, v2);
  if (!m.found) {
    m.mount_point = v2 ? "/sys/fs/cgroup" : "/sys/fs/cgroup/memory";
    m.root = "/";
  }
  // The path in /proc/self/cgroup is relative to the hierarchy's root; the mount may show a
  // sub-tree of it (its mount root). Strip that prefix when present.
  std::string rel = cg;
  if (m.root != "/" && rel.compare(0, m.root.size(), m.root) == 0 &&
      (rel.size() == m.root.size() || rel[m.root.size()] == '/'))
    rel = rel.substr(m.root.size());
  while (!rel.empty() && rel.front() == '/') rel.erase(0, 1);

  const std::filesystem::path base = root / std::filesystem::path(m.mount_point).relative_path();
  const char* file_name = v2 ? "memory.max" : "memory.limit_in_bytes";
  // Every directory from the mount point down to the process's cgroup. Directories that do not
  // exist (a host path seen from inside a container whose mount shows only its own cgroup) are
  // simply not read; the mount point itself always is.
  std::vector<std::filesystem::path> dirs{base};
  for (const auto& part : std::filesystem::path(rel))
    if (!part.empty() && part != "." && part != "..") dirs.push_back(dirs.back() / part);
  bool any = false;
  limit = std::numeric_limits<std::int64_t>::max();
  for (const auto& dir : dirs) {
    std::string text;
    if (!read_text(dir / file_name, text)) continue;
    const std::string_view v = trim(text);
    std::int64_t bytes = 0;
    if (v == "max") {
      any = true;
    } else if (parse_bytes(v, bytes)) {
      any = true;
      if (bytes < limit) {
        limit = bytes;
        from = dir / file_name;
      }
    }
  }
  return any;
}

}  // namespace detail::sysres

/// Physical RAM in bytes, from <root>/proc/meminfo (MemTotal); for the real root, sysconf when
/// /proc is not readable. 0 when unknown.
inline std::int64_t physical_memory(const std::filesystem::path& root = "/") {
  std::string text;
  if (detail::sysres::read_text(root / "proc/meminfo", text)) {
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
      if (line.rfind("MemTotal:", 0) != 0) continue;
      std::string_view v = detail::sysres::trim(std::string_view(line).substr(9));
      if (v.size() > 2 && v.substr(v.size() - 2) == "kB") v = detail::sysres::trim(v.substr(0, v.size() - 2));
      std::int64_t kib = 0;
      if (detail::sysres::parse_bytes(v, kib) && kib < std::numeric_limits<std::int64_t>::max() / 1024) return kib * 1024;
    }
  }
#if RCMGR_HAS_POSIX_RESOURCES && defined(_SC_PHYS_PAGES)
  if (std::filesystem::path(root).lexically_normal() == "/") {
    const long pages = ::sysconf(_SC_PHYS_PAGES);
    const long page = ::sysconf(_SC_PAGE_SIZE);
    if (pages > 0 && page > 0) return std::int64_t(pages) * std::int64_t(page);
  }
#endif
  return 0;
}

/// Memory available to the process: physical RAM, lowered by a cgroup (v1 or v2) memory limit.
inline memory_info detect_memory(const std::filesystem::path& root = "/") {
  memory_info m;
  m.physical = physical_memory(root);
  std::int64_t lim = 0;
  std::filesystem::path from;
  // Hybrid systems list both; the memory controller is in v1 if a v1 line names it.
  bool v1 = detail::sysres::cgroup_limit(root, false, lim, from);
  bool v2 = !v1 && detail::sysres::cgroup_limit(root, true, lim, from);
  if (v1 || v2) m.cgroup_limit = lim;
  if ((v1 || v2) && lim != std::numeric_limits<std::int64_t>::max() && (m.physical == 0 || lim < m.physical)) {
    m.bytes = lim;
    m.source = v1 ? memory_source::cgroup_v1 : memory_source::cgroup_v2;
    m.file = from;
  } else if (m.physical > 0) {
    m.bytes = m.physical;
    m.source = memory_source::physical;
  }
  return m;
}

/// The process's file descriptor limit (soft RLIMIT_NOFILE). RLIM_INFINITY is reported as
/// 1048576, Linux's default ceiling (fs.nr_open), so fractions of it stay meaningful. 0 when
/// unknown.
inline std::int64_t detect_fd_limit() noexcept {
#if RCMGR_HAS_POSIX_RESOURCES
  struct rlimit rl {};
  if (::getrlimit(RLIMIT_NOFILE, &rl) != 0) return 0;
  if (rl.rlim_cur == RLIM_INFINITY) return std::int64_t{1} << 20;
  if (rl.rlim_cur > static_cast<rlim_t>(std::numeric_limits<std::int64_t>::max())) return std::int64_t{1} << 20;
  return static_cast<std::int64_t>(rl.rlim_cur);
#else
  return 0;
#endif
}

/// Memory (honouring cgroups, files read under `root`) and descriptors of this process.
inline system_resources detect_system_resources(const std::filesystem::path& root = "/") {
  return {detect_memory(root), detect_fd_limit()};
}

}  // namespace rcmgr
