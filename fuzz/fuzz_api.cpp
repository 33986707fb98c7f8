// libFuzzer target: the fuzzer's bytes become a configuration of small limits and a sequence of
// API calls (open, attach, reserve, release, spans, views, moves, limit changes, misuse of every
// kind), run on the real manager and on the reference model side by side (tests/verify/driver.hpp).
// Any disagreement, broken invariant or sanitizer report is a crash. The first byte chooses the
// policies: the concurrency policy (thread_safe, single_threaded, thread_cached<64, 2>) and the
// storage policy (hashed_storage, bounded_storage<32>, static_storage<32, 16>; caps above what the
// sequences reach, so the model's answers stay exact).
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "verify/driver.hpp"

namespace {

template <class Policy, class Storage = rcmgr::hashed_storage>
void run(verify::byte_source& src) {
  const verify::config cfg = verify::random_config(src);
  verify::driver<Policy, Storage> d(cfg);
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
  switch (data[0] % 9) {
    case 0: run<rcmgr::thread_safe>(src); break;
    case 1: run<rcmgr::single_threaded>(src); break;
    case 2: run<rcmgr::thread_cached<64, 2>>(src); break;
    case 3: run<rcmgr::thread_safe, rcmgr::bounded_storage<32>>(src); break;
    case 4: run<rcmgr::single_threaded, rcmgr::bounded_storage<32>>(src); break;
    case 5: run<rcmgr::thread_cached<64, 2>, rcmgr::bounded_storage<32>>(src); break;
    case 6: run<rcmgr::thread_safe, rcmgr::static_storage<32, 16>>(src); break;
    case 7: run<rcmgr::single_threaded, rcmgr::static_storage<32, 16>>(src); break;
    default: run<rcmgr::thread_cached<64, 2>, rcmgr::static_storage<32, 16>>(src); break;
  }
  return 0;
}
