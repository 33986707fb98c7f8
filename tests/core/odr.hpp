// The ODR test: two TUs include the whole library, instantiate the same managers and pass
// objects between them. Linking them into one binary must succeed, and inline variables and
// functions (the error category, the kinds' names) must be one entity across both.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <system_error>

#include "rcmgr/rcmgr.hpp"

namespace odr {
using thread_safe_manager = rcmgr::resource_manager<rcmgr::thread_safe>;
using single_threaded_manager = rcmgr::resource_manager<rcmgr::single_threaded>;

const std::error_category* category_seen_by_b();
rcmgr::result<void> charge_from_b(thread_safe_manager::stream& s, std::int64_t bytes);
rcmgr::scope_stat peer_stat_from_b(thread_safe_manager& mgr, const rcmgr::peer_id& p);
single_threaded_manager::connection open_in_b(single_threaded_manager& mgr, const rcmgr::peer_id& p);
std::string refusal_text_from_b();
std::size_t stream_node_size_in_b();
int null_session_in_b();
}  // namespace odr
