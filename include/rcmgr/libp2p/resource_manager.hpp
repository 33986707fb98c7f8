// rcmgr::resource_manager: the libp2p Network Resource Manager, with the method names of
// go-libp2p's network.ResourceManager, and rcmgr::null_resource_manager, its null twin.
#pragma once

#include <memory>
#include <optional>
#include <string_view>
#include <utility>

#include "rcmgr/libp2p/default_limits.hpp"
#include "rcmgr/libp2p/topology.hpp"
#include "rcmgr/manager.hpp"
#include "rcmgr/null_manager.hpp"

namespace rcmgr {
namespace libp2p {

/// The libp2p methods, added to a manager of the libp2p topology (real or null).
template <class Derived>
class manager_methods {
  constexpr Derived& self() noexcept { return static_cast<Derived&>(*this); }
  constexpr const Derived& self() const noexcept { return static_cast<const Derived&>(*this); }

 public:
  /// A new connection scope, charged to transient until set_peer. `endpoint` (the remote
  /// multiaddr) is accepted for interface parity and not used.
  constexpr auto open_connection(direction dir, bool use_fd, std::string_view endpoint = {}) {
    (void)endpoint;
    return self().template open<connection_scope>(dir, use_fd);
  }
  /// A new stream scope for peer p, charged to transient until set_protocol.
  constexpr auto open_stream(const peer_id& p, direction dir) { return self().template open<stream_scope>(dir, false, p); }

  template <class F>
  constexpr decltype(auto) view_system(F&& f) {
    return self().template view<system_scope>(std::forward<F>(f));
  }
  template <class F>
  constexpr decltype(auto) view_transient(F&& f) {
    return self().template view<transient_scope>(std::forward<F>(f));
  }
  template <class F>
  constexpr decltype(auto) view_service(std::string_view name, F&& f) {
    return self().template view<service_scope>(name, std::forward<F>(f));
  }
  template <class F>
  constexpr decltype(auto) view_protocol(std::string_view id, F&& f) {
    return self().template view<protocol_scope>(id, std::forward<F>(f));
  }
  template <class F>
  constexpr decltype(auto) view_peer(const peer_id& p, F&& f) {
    return self().template view<peer_scope>(p, std::forward<F>(f));
  }

  /// Usage of the system and transient scopes.
  constexpr scope_stat stat_system() const { return self().template stat<system_scope>(); }
  constexpr scope_stat stat_transient() const { return self().template stat<transient_scope>(); }
  /// Usage of a service, protocol or peer scope if it is live, or std::nullopt. Unlike the
  /// view_* calls these create nothing: asking about a peer that is not connected leaves no trace.
  constexpr std::optional<scope_stat> stat_service(std::string_view name) const {
    return self().template stat<service_scope>(name);
  }
  constexpr std::optional<scope_stat> stat_protocol(std::string_view id) const {
    return self().template stat<protocol_scope>(id);
  }
  constexpr std::optional<scope_stat> stat_peer(const peer_id& p) const { return self().template stat<peer_scope>(p); }

  /// Live services, protocols and peers with their usage.
  auto list_services() const { return self().template list<service_scope>(); }
  auto list_protocols() const { return self().template list<protocol_scope>(); }
  auto list_peers() const { return self().template list<peer_scope>(); }
};

}  // namespace libp2p

/// The libp2p resource manager. Policies (any order): thread_cached<> (default), thread_safe (exact)
/// or single_threaded;
/// hashed_storage (default).
template <class... Policies>
class resource_manager : public basic_resource_manager<libp2p::topology, Policies...>,
                         public libp2p::manager_methods<resource_manager<Policies...>> {
  using base = basic_resource_manager<libp2p::topology, Policies...>;

 public:
  using connection = typename base::template handle<libp2p::connection_scope>;
  using stream = typename base::template handle<libp2p::stream_scope>;
  using system_ref = typename base::template ref<libp2p::system_scope>;
  using transient_ref = typename base::template ref<libp2p::transient_scope>;
  using service_ref = typename base::template ref<libp2p::service_scope>;
  using protocol_ref = typename base::template ref<libp2p::protocol_scope>;
  using peer_ref = typename base::template ref<libp2p::peer_scope>;

  /// A manager enforcing `l`; stops the program on invalid limits (see create()).
  explicit resource_manager(const libp2p::limits& l = libp2p::default_limits()) : base(l) {}
  /// go-libp2p's NewResourceManager: a manager enforcing `l`, or errc::invalid_argument naming
  /// the first invalid value, or errc::out_of_memory.
  static result<std::unique_ptr<resource_manager>> create(const libp2p::limits& l = libp2p::default_limits()) {
    return base::template create_as<resource_manager>(l);
  }
};

resource_manager()->resource_manager<>;
resource_manager(const libp2p::limits&)->resource_manager<>;

/// go-libp2p's NullResourceManager: the same methods, compiled to nothing.
class null_resource_manager : public basic_null_resource_manager<libp2p::topology>,
                              public libp2p::manager_methods<null_resource_manager> {
 public:
  using connection = null_handle<libp2p::connection_scope>;
  using stream = null_handle<libp2p::stream_scope>;
  using basic_null_resource_manager<libp2p::topology>::basic_null_resource_manager;
};

}  // namespace rcmgr

// With the CMake target rcmgr::libp2p_instance (or this macro), the stock managers are compiled
// once, in src/libp2p_instance.cpp, instead of in every translation unit that uses them.
#if defined(RCMGR_LIBP2P_EXTERN_INSTANCE) && !defined(RCMGR_DETAIL_LIBP2P_INSTANTIATING)
#include "rcmgr/libp2p/extern_instance.hpp"
#endif
