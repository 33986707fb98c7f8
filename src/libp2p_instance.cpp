// The one translation unit that instantiates the libp2p manager with the stock policies (see
// rcmgr/libp2p/extern_instance.hpp). Built by the CMake target rcmgr::libp2p_instance.
#define RCMGR_DETAIL_LIBP2P_INSTANTIATING 1
#include "rcmgr/libp2p/extern_instance.hpp"

RCMGR_DETAIL_LIBP2P_INSTANCES()
