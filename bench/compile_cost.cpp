// The translation unit scripts/compile_cost times: the umbrella header, the libp2p manager with
// both concurrency policies, and the main API exercised on each (so that every reservation path,
// every set_* state and the span paths are instantiated), plus the null manager.
#include <cstdio>

#include "rcmgr/rcmgr.hpp"
#include "compile_cost_exercise.hpp"

int main() {
  rcmgr::resource_manager<rcmgr::thread_safe> ts;
  rcmgr::resource_manager<rcmgr::single_threaded> st;
  rcmgr::null_resource_manager null;
  const int failures = exercise(ts) + exercise(st) + exercise(null);
  std::printf("%d\n", failures);
  return failures == 0 ? 0 : 1;
}
