// rcmgr: the libp2p Network Resource Manager for C++20. Umbrella header: the public API.
#pragma once

#include "rcmgr/errors.hpp"
#include "rcmgr/keys.hpp"
#include "rcmgr/libp2p/default_limits.hpp"
#include "rcmgr/libp2p/resource_manager.hpp"
#include "rcmgr/libp2p/topology.hpp"
#include "rcmgr/limit_set.hpp"
#include "rcmgr/limits.hpp"
#include "rcmgr/manager.hpp"
#include "rcmgr/null_manager.hpp"
#include "rcmgr/observer.hpp"
#include "rcmgr/policies.hpp"
#include "rcmgr/resources.hpp"
#include "rcmgr/result.hpp"
#include "rcmgr/scope_handle.hpp"
#include "rcmgr/topology.hpp"
#include "rcmgr/version.hpp"
