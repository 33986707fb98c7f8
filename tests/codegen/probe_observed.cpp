// Control for the observer comparison: probe_real.cpp's session with a counting observer. It
// must come out larger than the unobserved twin, which shows that the comparison can fail.
#include "rcmgr/observer.hpp"
#define RCMGR_CODEGEN_MANAGER rcmgr::resource_manager<rcmgr::single_threaded, rcmgr::observed_by<rcmgr::counting_observer>>
#define RCMGR_CODEGEN_NAME rcmgr_codegen_observed
#include "probe_real.cpp"
