// libFuzzer target: the fuzzer's bytes become a sequence of connection opens, set_peer, done and
// clock steps, run on rcmgr::gated_resource_manager and on the gating reference model side by
// side (tests/verify/gating_driver.hpp). Any disagreement aborts with what differed.
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "verify/gating_driver.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::size_t pos = 0;
  auto next = [&]() -> std::uint64_t {
    std::uint64_t v = 0;
    for (int i = 0; i < 2 && pos < size; ++i) v = v << 8 | data[pos++];
    return v;
  };
  rcmgr_verify::coverage cov;
  rcmgr_verify::run_gating_sequence(next, int(size / 3) + 1, cov, [&](bool ok, const char* what) {
    if (!ok) {
      std::fprintf(stderr, "rcmgr fuzz_gating: the gated manager and the model disagree: %s\n", what);
      std::abort();
    }
  });
  return 0;
}
