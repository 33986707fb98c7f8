// The translation unit of a program that uses the libp2p manager with its default policies:
// the umbrella header and the main API exercised on rcmgr::resource_manager<> (see
// compile_cost_exercise.hpp). scripts/compile_cost times it as it is (the engine instantiated
// here) and with RCMGR_LIBP2P_EXTERN_INSTANCE defined (the engine declared only, as in a project
// that links rcmgr::libp2p_instance); tests/compile_cost gates its cost against a reference.
#include <cstdio>

#include "rcmgr/rcmgr.hpp"
#include "compile_cost_exercise.hpp"

int main() {
  rcmgr::resource_manager<> mgr;
  const int failures = exercise(mgr);
  std::printf("%d\n", failures);
  return failures == 0 ? 0 : 1;
}
