// Startup for QEMU's mps2-an386 (Cortex-M4): the vector table, the reset handler (copy .data,
// zero .bss, paint the stack, run static constructors, call main, exit with its status), fault
// handlers that say what happened, and output and exit through semihosting. The symbols it
// uses are defined by mps2_an386.ld.
//
// The heap is not there: _sbrk, through which newlib's malloc would get memory, stops the
// program with status 86 and a message, so a firmware that allocates fails its test loudly.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "board.hpp"

extern "C" {
// from the linker script
extern std::uint32_t __data_start[], __data_end[], __data_load[];
extern std::uint32_t __bss_start[], __bss_end[];
extern std::uint32_t __stack_bottom[], __stack_top[];
extern void (*__init_array_start[])();
extern void (*__init_array_end[])();

// The program's main, by its assembler name: C++ forbids calling main by its own name.
int program_main() __asm__("main");
[[noreturn]] void reset_handler();
}

namespace {

// ---- semihosting: a BKPT 0xAB with the operation in r0 and its argument in r1 ----------------
constexpr int sys_write0 = 0x04;          // write a NUL-terminated string to the host's stdout
constexpr int sys_exit_extended = 0x20;   // exit with a status (32-bit ARM needs the extended form)
constexpr std::uint32_t adp_stopped_application_exit = 0x20026;

int semihost(int op, const void* arg) noexcept {
  register int r0 __asm__("r0") = op;
  register const void* r1 __asm__("r1") = arg;
  __asm__ volatile("bkpt 0xab" : "+r"(r0) : "r"(r1) : "memory");
  return r0;
}

// ---- output: one line at a time (SYS_WRITE0 takes a NUL-terminated string) --------------------
char line[160];
std::size_t line_len = 0;

void flush() noexcept {
  line[line_len] = '\0';
  semihost(sys_write0, line);
  line_len = 0;
}
void put(char c) noexcept {
  line[line_len++] = c;
  if (c == '\n' || line_len == sizeof line - 1) flush();
}

constexpr std::uint32_t stack_paint = 0xdeadbeefu;

[[noreturn]] void fault(std::string_view what) noexcept {
  if (line_len != 0) put('\n');
  board::print(what);
  board::print(": stopping\n");
  board::exit(70);
}

void hard_fault_handler() { fault("hard fault"); }
void mem_manage_handler() { fault("memory management fault"); }
void bus_fault_handler() { fault("bus fault"); }
void usage_fault_handler() { fault("usage fault"); }
void unexpected_handler() { fault("unexpected exception or interrupt"); }

}  // namespace

// ---- the vector table: initial stack pointer, then the handlers (ARMv7-M, 16 system entries) --
using handler = void (*)();
extern "C" __attribute__((section(".vectors"), used)) const handler vector_table[16] = {
    reinterpret_cast<handler>(__stack_top),  // 0: initial SP
    reset_handler,                           // 1: reset
    unexpected_handler,                      // 2: NMI
    hard_fault_handler,                      // 3
    mem_manage_handler,                      // 4
    bus_fault_handler,                       // 5
    usage_fault_handler,                     // 6
    nullptr, nullptr, nullptr, nullptr,      // 7-10: reserved
    unexpected_handler,                      // 11: SVCall
    unexpected_handler,                      // 12: debug monitor
    nullptr,                                 // 13: reserved
    unexpected_handler,                      // 14: PendSV
    unexpected_handler,                      // 15: SysTick (never enabled)
};

extern "C" [[noreturn]] void reset_handler() {
  // The FPU (CP10, CP11) is off after reset; -mfloat-abi=hard code may use its registers.
  volatile std::uint32_t& cpacr = *reinterpret_cast<volatile std::uint32_t*>(0xE000ED88u);
  cpacr = cpacr | (0xFu << 20);
  __asm__ volatile("dsb\n\tisb" ::: "memory");

  // .data from its load address in the code region, .bss to zero (volatile: these loops must
  // not become calls to memcpy/memset, which could themselves expect initialised data).
  volatile std::uint32_t* src = __data_load;
  for (volatile std::uint32_t* dst = __data_start; dst < __data_end;) *dst++ = *src++;
  for (volatile std::uint32_t* p = __bss_start; p < __bss_end;) *p++ = 0;

  // Paint the stack below what this function is using, for stack_high_water().
  std::uint32_t* sp;
  __asm__ volatile("mov %0, sp" : "=r"(sp));
  for (volatile std::uint32_t* p = __stack_bottom; p < sp - 16;) *p++ = stack_paint;

  for (auto* f = __init_array_start; f != __init_array_end; ++f) (*f)();
  board::exit(program_main());
}

namespace board {

void print(std::string_view text) noexcept {
  for (char c : text) put(c);
}
void print(long long value) noexcept {
  char digits[24];
  int n = 0;
  unsigned long long v = value < 0 ? 0ull - static_cast<unsigned long long>(value) : static_cast<unsigned long long>(value);
  do {
    digits[n++] = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v != 0);
  if (value < 0) put('-');
  while (n > 0) put(digits[--n]);
}
void print_padded(std::string_view text, std::size_t width) noexcept {
  print(text);
  for (std::size_t i = text.size(); i < width; ++i) put(' ');
}

void exit(int status) noexcept {
  if (line_len != 0) flush();
  const std::uint32_t block[2] = {adp_stopped_application_exit, static_cast<std::uint32_t>(status)};
  semihost(sys_exit_extended, block);
  for (;;) __asm__ volatile("wfi");  // not reached under QEMU with semihosting enabled
}

std::size_t data_bytes() noexcept { return static_cast<std::size_t>(__data_end - __data_start) * 4; }
std::size_t bss_bytes() noexcept { return static_cast<std::size_t>(__bss_end - __bss_start) * 4; }
std::size_t stack_bytes() noexcept { return static_cast<std::size_t>(__stack_top - __stack_bottom) * 4; }
std::size_t stack_high_water() noexcept {
  const volatile std::uint32_t* p = __stack_bottom;
  while (p < __stack_top && *p == stack_paint) ++p;
  return static_cast<std::size_t>(__stack_top - p) * 4;
}

}  // namespace board

// ---- no heap -------------------------------------------------------------------------------------
extern "C" void* _sbrk(std::ptrdiff_t) {
  board::print("\nheap use: something called malloc (or operator new); this firmware has no heap\n");
  board::exit(86);
}
