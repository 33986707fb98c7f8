// expect: rcmgr manager: this standard library has no threads (no std::mutex); give rcmgr::single_threaded as the concurrency policy
// A bare-metal standard library (arm-none-eabi's libstdc++ on newlib) has no threads: the
// default concurrency policy, thread_safe, is refused there with a message naming the one that
// works. Simulated on the host by overriding the detection (rcmgr/detail/platform.hpp).
#define RCMGR_HAS_THREADS 0
#include "kinds.hpp"
struct my_topology : rcmgr::topology<kinds<system_scope, conn_scope>, edge<conn_scope, system_scope>> {};
int main() {
#ifdef RCMGR_CF_VALID
  rcmgr::basic_resource_manager<my_topology, rcmgr::single_threaded> manager;
#else
  rcmgr::basic_resource_manager<my_topology> manager;
#endif
  (void)manager;
}
