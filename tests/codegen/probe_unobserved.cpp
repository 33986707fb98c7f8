// probe_real.cpp's session on a manager given observers that are all disabled: it must compile
// to exactly the code of the manager without observers.
#include "rcmgr/observer.hpp"
#define RCMGR_CODEGEN_MANAGER \
  rcmgr::resource_manager<rcmgr::single_threaded, rcmgr::observed_by<rcmgr::no_observer, rcmgr::no_observer>>
#define RCMGR_CODEGEN_NAME rcmgr_codegen_unobserved
#include "probe_real.cpp"
