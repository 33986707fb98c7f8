// libFuzzer target: the fuzzer's bytes become a configuration of small limits and a sequence of
// API calls (open, attach, reserve, release, spans, views, moves, limit changes, misuse of every
// kind), run on the real manager and on the reference model side by side (tests/verify/driver.hpp).
// Any disagreement, broken invariant or sanitizer report is a crash. The first byte chooses the
// policies: the concurrency policy (thread_safe, single_threaded, thread_cached<64, 2>) and the
// storage policy (hashed_storage, bounded_storage<32>, static_storage<32, 16>; caps above what the
// sequences reach, so the model's answers stay exact). A first byte of 0xf0 or more runs the gated
// manager instead (rcmgr::gated_resource_manager: connections from endpoints through the gate,
// the allowlisted scopes, clock steps and allowlist changes).
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "verify/driver.hpp"

namespace {

template <class D>
void finish(verify::byte_source& src, D& d) {
  const std::string failure = d.run(src, 4000);
  if (!failure.empty()) {
    std::fprintf(stderr, "rcmgr fuzz_api: %s\nlast calls:\n%s", failure.c_str(), d.recent().c_str());
    std::abort();
  }
}

template <class Policy, class Storage = rcmgr::hashed_storage>
void run(verify::byte_source& src) {
  const verify::config cfg = verify::random_config(src);
  verify::driver<Policy, Storage> d(cfg);
  finish(src, d);
}

/// The gated manager: the same calls, connections opened from endpoints through the gate.
template <class Policy, class Storage = rcmgr::hashed_storage>
void run_gated(verify::byte_source& src) {
  const verify::config cfg = verify::random_config(src);
  verify::driver<Policy, Storage, true> d(cfg, verify::random_gating(src, nullptr));
  finish(src, d);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  verify::byte_source src{data + 1, size - 1};
  if (data[0] >= 0xf0) {  // the gated manager (first bytes below 0xf0 keep their meaning)
    switch (data[0] % 3) {
      case 0: run_gated<rcmgr::thread_safe>(src); break;
      case 1: run_gated<rcmgr::single_threaded>(src); break;
      default: run_gated<rcmgr::thread_safe, rcmgr::bounded_storage<32>>(src); break;
    }
    return 0;
  }
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
