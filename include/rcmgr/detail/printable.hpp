// Writing text chosen by remote peers (protocol ids, peer ids, multiaddr components) into logs,
// terminals and JSON. A key may hold any bytes: a newline would forge a log line, an escape
// sequence would drive an operator's terminal, and bytes that are not UTF-8 make a JSON document
// that strict readers reject as a whole.
#pragma once

#include <cstddef>
#include <cstdint>
#include <ostream>
#include <string_view>

namespace rcmgr::detail {

/// Length in bytes (2 to 4) of the well-formed UTF-8 sequence of a non-ASCII character starting
/// at s[i], or 0 when the bytes there are not one (a stray continuation byte, a truncated or
/// overlong sequence, a surrogate, a code point above U+10FFFF).
constexpr std::size_t utf8_sequence(std::string_view s, std::size_t i) noexcept {
  const auto b = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned c = b(i);
  std::size_t n = 0;
  unsigned lo = 0x80, hi = 0xbf;  // the range of the second byte (RFC 3629's table)
  if (c >= 0xc2 && c <= 0xdf) n = 2;
  else if (c >= 0xe0 && c <= 0xef) n = 3, lo = c == 0xe0 ? 0xa0 : 0x80, hi = c == 0xed ? 0x9f : 0xbf;
  else if (c >= 0xf0 && c <= 0xf4) n = 4, lo = c == 0xf0 ? 0x90 : 0x80, hi = c == 0xf4 ? 0x8f : 0xbf;
  else return 0;
  if (s.size() - i < n) return 0;
  if (b(i + 1) < lo || b(i + 1) > hi) return 0;
  for (std::size_t k = 2; k < n; ++k)
    if (b(i + k) < 0x80 || b(i + k) > 0xbf) return 0;
  return n;
}

/// Writes s for a log line or a terminal: printable ASCII and well-formed UTF-8 as they are;
/// control characters (C0, DEL, and the C1 controls U+0080-U+009F, which include the 8-bit
/// CSI), bytes that are not UTF-8, and the backslash as \xNN, so that the output is one line
/// without escape sequences and the original bytes can be read back from it.
inline void write_printable(std::ostream& os, std::string_view s) {
  static constexpr char hex[] = "0123456789abcdef";
  std::size_t i = 0;
  while (i < s.size()) {
    // The run of bytes that need no escape is written at once.
    std::size_t j = i;
    while (j < s.size()) {
      const auto c = static_cast<unsigned char>(s[j]);
      if (c >= 0x20 && c < 0x7f && c != '\\') {
        ++j;
        continue;
      }
      const std::size_t n = c >= 0x80 ? utf8_sequence(s, j) : 0;
      // U+0080-U+009F are encoded as C2 80 - C2 9F.
      if (n == 0 || (c == 0xc2 && static_cast<unsigned char>(s[j + 1]) < 0xa0)) break;
      j += n;
    }
    os.write(s.data() + i, static_cast<std::streamsize>(j - i));
    if (j == s.size()) return;
    const auto c = static_cast<unsigned char>(s[j]);
    const char esc[4] = {'\\', 'x', hex[c >> 4], hex[c & 0xf]};
    os.write(esc, 4);
    i = j + 1;
  }
}

}  // namespace rcmgr::detail
