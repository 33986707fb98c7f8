// Printing usage and limits: operator<< for scope_stat and limit, and byte counts for people.
#pragma once

#include <cstdint>
#include <cstdio>
#include <ostream>
#include <string>

#include "rcmgr/limits.hpp"
#include "rcmgr/resources.hpp"

namespace rcmgr {

/// Bytes for people: "512 B", "4.0 KiB", "1.5 MiB", "64.0 MiB", "2.0 GiB"; "unlimited" for rcmgr::unlimited.
inline std::string format_bytes(std::int64_t b) {
  if (b == unlimited) return "unlimited";
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  double v = static_cast<double>(b);
  int u = 0;
  while ((v >= 1024 || v <= -1024) && u < 6) v /= 1024, ++u;
  char buf[32];
  if (u == 0) std::snprintf(buf, sizeof buf, "%lld B", static_cast<long long>(b));
  else std::snprintf(buf, sizeof buf, "%.1f %s", v, units[u]);
  return buf;
}

/// "memory 4.9 KiB, streams 3 in + 1 out, conns 2 in + 0 out, fd 2"
inline std::ostream& operator<<(std::ostream& os, const scope_stat& s) {
  return os << "memory " << format_bytes(s.memory) << ", streams " << s.streams_inbound << " in + " << s.streams_outbound
            << " out, conns " << s.conns_inbound << " in + " << s.conns_outbound << " out, fd " << s.fd;
}

namespace detail {
inline std::string count_text(std::int64_t v) { return v == unlimited ? std::string("unlimited") : std::to_string(v); }
}  // namespace detail

/// "memory 64.0 MiB, streams 256 in / 512 out / 512 total, conns 8 in / 8 out / 8 total, fd 4"
/// (a field without limit prints "unlimited").
inline std::ostream& operator<<(std::ostream& os, const limit& l) {
  using detail::count_text;
  return os << "memory " << format_bytes(l.memory) << ", streams " << count_text(l.streams_inbound) << " in / "
            << count_text(l.streams_outbound) << " out / " << count_text(l.streams) << " total, conns "
            << count_text(l.conns_inbound) << " in / " << count_text(l.conns_outbound) << " out / "
            << count_text(l.conns) << " total, fd " << count_text(l.fd);
}

}  // namespace rcmgr
