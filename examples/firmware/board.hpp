// The little a firmware needs from the board, without the C library's stdio (which allocates its
// buffers on the heap): text out through semihosting, exit with a status, and the RAM figures
// the startup code can measure. Implemented in startup.cpp for QEMU's mps2-an386 (Cortex-M4).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace board {

/// Writes text to the host's standard output (semihosting), buffered until '\n'.
void print(std::string_view text) noexcept;
/// Writes a decimal integer.
void print(long long value) noexcept;
/// Writes `text`, padded with spaces to `width` characters.
void print_padded(std::string_view text, std::size_t width) noexcept;

/// Ends the program: QEMU exits with `status` (semihosting SYS_EXIT_EXTENDED).
[[noreturn]] void exit(int status) noexcept;

/// RAM the image uses (bytes): initialised data, zeroed data, and the stack reserved for it.
std::size_t data_bytes() noexcept;
std::size_t bss_bytes() noexcept;
std::size_t stack_bytes() noexcept;
/// The deepest the stack has been so far (bytes from its top): found by looking for the first
/// word of the paint laid down at reset that was overwritten.
std::size_t stack_high_water() noexcept;

}  // namespace board
