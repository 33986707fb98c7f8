// Compile the libp2p manager once per program instead of once per translation unit.
//
// This header declares (`extern template`) the libp2p resource manager with the stock policies,
// its engine, and the handles and references it gives out:
//
//   rcmgr::resource_manager<>                         (the default policies)
//   rcmgr::resource_manager<rcmgr::thread_safe>
//   rcmgr::resource_manager<rcmgr::single_threaded>
//   rcmgr::resource_manager<rcmgr::thread_cached<>>
//
// A translation unit that sees these declarations uses the manager without instantiating the
// engine behind it (the part that costs compile time); one object file, src/libp2p_instance.cpp,
// instantiates everything. With CMake, link rcmgr::libp2p_instance: it builds that file and
// defines RCMGR_LIBP2P_EXTERN_INSTANCE for its users, which makes rcmgr/rcmgr.hpp (through
// rcmgr/libp2p/resource_manager.hpp) include this header, so no source has to change.
// Without CMake: compile src/libp2p_instance.cpp into the program and include this header (or
// define RCMGR_LIBP2P_EXTERN_INSTANCE) wherever the manager is used.
//
// Other policies (an observer, bounded_storage, thread_cached with other sizes) and other
// topologies are not covered: they are instantiated where they are used, as without this header.
// Calls the declarations do not cover (set_limit on a key type other than the kind's own, a
// generic view<K>) are instantiated where they are used too; everything still links.
#pragma once

#include <optional>
#include <string_view>

#include "rcmgr/libp2p/resource_manager.hpp"

namespace rcmgr::detail {
template <class... Policies>
using libp2p_core = typename basic_resource_manager<libp2p::topology, Policies...>::core_type;
using libp2p_core_thread_safe = libp2p_core<thread_safe>;
using libp2p_core_single_threaded = libp2p_core<single_threaded>;
using libp2p_core_thread_cached = libp2p_core<thread_cached<>>;
}  // namespace rcmgr::detail

// RCMGR_DETAIL_LIBP2P_HANDLES(EXT, CORE): the handles and references of one engine.
// EXT is `extern` (a declaration) or empty (the definition, in src/libp2p_instance.cpp).
#define RCMGR_DETAIL_LIBP2P_HANDLES(EXT, CORE)                                                                      \
  EXT template class rcmgr::scope_handle<CORE, rcmgr::libp2p::connection_scope>;                                    \
  EXT template class rcmgr::scope_handle<CORE, rcmgr::libp2p::stream_scope>;                                        \
  EXT template class rcmgr::scope_handle<CORE, rcmgr::span_of<rcmgr::libp2p::connection_scope>>;                    \
  EXT template class rcmgr::scope_handle<CORE, rcmgr::span_of<rcmgr::libp2p::stream_scope>>;                        \
  EXT template class rcmgr::scope_handle<CORE, rcmgr::span_of<rcmgr::span_of<rcmgr::libp2p::connection_scope>>>;   \
  EXT template class rcmgr::scope_handle<CORE, rcmgr::span_of<rcmgr::span_of<rcmgr::libp2p::stream_scope>>>;       \
  EXT template class rcmgr::scope_handle<CORE, rcmgr::span_of<rcmgr::libp2p::system_scope>>;                        \
  EXT template class rcmgr::scope_handle<CORE, rcmgr::span_of<rcmgr::libp2p::transient_scope>>;                     \
  EXT template class rcmgr::scope_handle<CORE, rcmgr::span_of<rcmgr::libp2p::service_scope>>;                       \
  EXT template class rcmgr::scope_handle<CORE, rcmgr::span_of<rcmgr::libp2p::protocol_scope>>;                      \
  EXT template class rcmgr::scope_handle<CORE, rcmgr::span_of<rcmgr::libp2p::peer_scope>>;                          \
  EXT template class rcmgr::scope_ref<CORE, rcmgr::libp2p::system_scope>;                                           \
  EXT template class rcmgr::scope_ref<CORE, rcmgr::libp2p::transient_scope>;                                        \
  EXT template class rcmgr::scope_ref<CORE, rcmgr::libp2p::service_scope>;                                          \
  EXT template class rcmgr::scope_ref<CORE, rcmgr::libp2p::protocol_scope>;                                         \
  EXT template class rcmgr::scope_ref<CORE, rcmgr::libp2p::peer_scope>;                                             \
  EXT template class rcmgr::scope_ref<CORE, rcmgr::libp2p::service_peer_scope>;                                     \
  EXT template class rcmgr::scope_ref<CORE, rcmgr::libp2p::protocol_peer_scope>;                                    \
  EXT template rcmgr::result<void>                                                                                  \
  rcmgr::scope_handle<CORE, rcmgr::libp2p::connection_scope>::set<rcmgr::libp2p::peer_scope, rcmgr::peer_id>(       \
      const rcmgr::peer_id&);                                                                                       \
  EXT template rcmgr::result<void>                                                                                  \
  rcmgr::scope_handle<CORE, rcmgr::libp2p::stream_scope>::set<rcmgr::libp2p::protocol_scope, std::string_view>(     \
      const std::string_view&);                                                                                     \
  EXT template rcmgr::result<void>                                                                                  \
  rcmgr::scope_handle<CORE, rcmgr::libp2p::stream_scope>::set<rcmgr::libp2p::service_scope, std::string_view>(      \
      const std::string_view&);

// RCMGR_DETAIL_LIBP2P_MANAGER(EXT, CORE, ...): one manager type, basic_resource_manager<
// libp2p::topology, __VA_ARGS__>, whose engine is CORE. The class itself is declared by the
// caller (a class cannot be named through an alias in an explicit instantiation).
#define RCMGR_DETAIL_LIBP2P_MANAGER_MEMBERS(EXT, CORE, M)                                                           \
  EXT template rcmgr::result<rcmgr::scope_handle<CORE, rcmgr::libp2p::connection_scope>>                            \
  M::open<rcmgr::libp2p::connection_scope>(rcmgr::direction, bool);                                                 \
  EXT template rcmgr::result<rcmgr::scope_handle<CORE, rcmgr::libp2p::stream_scope>>                                \
  M::open<rcmgr::libp2p::stream_scope, const rcmgr::peer_id&>(rcmgr::direction, bool, const rcmgr::peer_id&);       \
  EXT template rcmgr::scope_ref<CORE, rcmgr::libp2p::service_scope> M::acquire<rcmgr::libp2p::service_scope>(       \
      const std::string_view&);                                                                                     \
  EXT template rcmgr::scope_ref<CORE, rcmgr::libp2p::protocol_scope> M::acquire<rcmgr::libp2p::protocol_scope>(     \
      const std::string_view&);                                                                                     \
  EXT template rcmgr::scope_ref<CORE, rcmgr::libp2p::peer_scope> M::acquire<rcmgr::libp2p::peer_scope>(             \
      const rcmgr::peer_id&);                                                                                       \
  EXT template rcmgr::detail::list_type<rcmgr::libp2p::service_scope> M::list<rcmgr::libp2p::service_scope>() const; \
  EXT template rcmgr::detail::list_type<rcmgr::libp2p::protocol_scope> M::list<rcmgr::libp2p::protocol_scope>()      \
      const;                                                                                                        \
  EXT template rcmgr::detail::list_type<rcmgr::libp2p::peer_scope> M::list<rcmgr::libp2p::peer_scope>() const;       \
  EXT template std::size_t M::live_count<rcmgr::libp2p::peer_scope>() const;                                        \
  EXT template rcmgr::result<void> M::set_limit<rcmgr::libp2p::service_scope, std::string_view>(                     \
      const std::string_view&, const rcmgr::limit&);                                                                \
  EXT template rcmgr::result<void> M::set_limit<rcmgr::libp2p::protocol_scope, std::string_view>(                    \
      const std::string_view&, const rcmgr::limit&);                                                                \
  EXT template rcmgr::result<void> M::set_limit<rcmgr::libp2p::peer_scope, rcmgr::peer_id>(const rcmgr::peer_id&,   \
                                                                                          const rcmgr::limit&);     \
  EXT template std::optional<rcmgr::scope_stat> M::stat<rcmgr::libp2p::service_scope, std::string_view>(             \
      const std::string_view&) const;                                                                               \
  EXT template std::optional<rcmgr::scope_stat> M::stat<rcmgr::libp2p::protocol_scope, std::string_view>(            \
      const std::string_view&) const;                                                                               \
  EXT template std::optional<rcmgr::scope_stat> M::stat<rcmgr::libp2p::peer_scope, rcmgr::peer_id>(                  \
      const rcmgr::peer_id&) const;

namespace rcmgr::detail {
using libp2p_manager_default = basic_resource_manager<libp2p::topology>;
using libp2p_manager_thread_safe = basic_resource_manager<libp2p::topology, thread_safe>;
using libp2p_manager_single_threaded = basic_resource_manager<libp2p::topology, single_threaded>;
using libp2p_manager_thread_cached = basic_resource_manager<libp2p::topology, thread_cached<>>;
}  // namespace rcmgr::detail

// RCMGR_DETAIL_LIBP2P_INSTANCES(EXT): everything listed at the top of this file.
#define RCMGR_DETAIL_LIBP2P_INSTANCES(EXT)                                                                          \
  RCMGR_DETAIL_LIBP2P_HANDLES(EXT, rcmgr::detail::libp2p_core_thread_safe)                                          \
  RCMGR_DETAIL_LIBP2P_HANDLES(EXT, rcmgr::detail::libp2p_core_single_threaded)                                      \
  RCMGR_DETAIL_LIBP2P_HANDLES(EXT, rcmgr::detail::libp2p_core_thread_cached)                                        \
  EXT template class rcmgr::basic_resource_manager<rcmgr::libp2p::topology>;                                        \
  EXT template class rcmgr::basic_resource_manager<rcmgr::libp2p::topology, rcmgr::thread_safe>;                    \
  EXT template class rcmgr::basic_resource_manager<rcmgr::libp2p::topology, rcmgr::single_threaded>;                \
  EXT template class rcmgr::basic_resource_manager<rcmgr::libp2p::topology, rcmgr::thread_cached<>>;                \
  RCMGR_DETAIL_LIBP2P_MANAGER_MEMBERS(EXT, rcmgr::detail::libp2p_manager_default::core_type,                        \
                                      rcmgr::detail::libp2p_manager_default)                                        \
  RCMGR_DETAIL_LIBP2P_MANAGER_MEMBERS(EXT, rcmgr::detail::libp2p_core_thread_safe,                                  \
                                      rcmgr::detail::libp2p_manager_thread_safe)                                    \
  RCMGR_DETAIL_LIBP2P_MANAGER_MEMBERS(EXT, rcmgr::detail::libp2p_core_single_threaded,                              \
                                      rcmgr::detail::libp2p_manager_single_threaded)                                \
  RCMGR_DETAIL_LIBP2P_MANAGER_MEMBERS(EXT, rcmgr::detail::libp2p_core_thread_cached,                                \
                                      rcmgr::detail::libp2p_manager_thread_cached)

#ifndef RCMGR_DETAIL_LIBP2P_INSTANTIATING
RCMGR_DETAIL_LIBP2P_INSTANCES(extern)
#endif
