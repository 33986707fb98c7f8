// libFuzzer target: the fuzzer's bytes become a configuration of small limits and a sequence of
// API calls (open, attach, reserve, release, spans, views, moves, limit changes, misuse of every
// kind), run on the real manager and on the reference model side by side (tests/verify/driver.hpp).
// Any disagreement, broken invariant or sanitizer report is a crash. The first byte chooses the
// concurrency policy (thread_safe, single_threaded, thread_cached<64, 2>).
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "verify/driver.hpp"

namespace {

template <class Policy>
void run(verify::byte_source& src) {
  const verify::config cfg = verify::random_config(src);
  verify::driver<Policy> d(cfg);
  const std::string failure = d.run(src, 4000);
  if (!failure.empty()) {
    std::fprintf(stderr, "rcmgr fuzz_api: %s\nlast calls:\n%s", failure.c_str(), d.recent().c_str());
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  verify::byte_source src{data + 1, size - 1};
  switch (data[0] % 3) {
    case 0: run<rcmgr::thread_safe>(src); break;
    case 1: run<rcmgr::single_threaded>(src); break;
    default: run<rcmgr::thread_cached<64, 2>>(src); break;
  }
  return 0;
}
