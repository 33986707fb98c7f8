// rcmgr::gated_resource_manager: the libp2p resource manager with connection gating in front
// (rcmgr/gating.hpp): open_connection reads the remote multiaddr, applies the connection rate
// limits and the per-subnet connection limits before charging anything, and lets allowlisted
// addresses fall back to the allowlisted system and transient scopes when the regular ones are
// full. The allowlisted scopes are part of the topology, declared with the same public mechanism
// any topology has (edge<..., instead_of<...>>), so a custom topology can do the same.
//
// rcmgr::resource_manager is unchanged by all this: gating costs nothing unless it is used.
#pragma once

#include <string_view>
#include <type_traits>
#include <utility>

#include "rcmgr/gating.hpp"
#include "rcmgr/libp2p/default_limits.hpp"
#include "rcmgr/libp2p/resource_manager.hpp"
#include "rcmgr/libp2p/topology.hpp"
#include "rcmgr/manager.hpp"
#include "rcmgr/multiaddr.hpp"

namespace rcmgr {
namespace libp2p {

/// What a gated connection carries: its ticket in the gate (the remote address and what was
/// counted for it), released when the connection ends, whatever way it ends.
struct gated_connection_data {
  struct hooks {
    void (*release)(void* gate, gate_ticket& t) noexcept;
    bool (*allowed)(const void* gate, const ip_address& ip) noexcept;
    bool (*allowed_peer)(const void* gate, const ip_address& ip, std::string_view peer) noexcept;
  };
  const hooks* h = nullptr;
  void* gate = nullptr;
  gate_ticket ticket{};
  bool has_ip = false;

  void on_end() noexcept {
    if (has_ip) h->release(gate, ticket);  // without an address nothing was taken
  }
  /// The regular scopes refused: an allowlisted address retries in the allowlisted scopes, and,
  /// as in go-libp2p, no longer counts against its subnet's connection limit.
  bool take_alternative() noexcept {
    if (h == nullptr || !has_ip || !h->allowed(gate, ticket.ip)) return false;
    h->release(gate, ticket);
    return true;
  }
  /// set_peer on an allowlisted connection: it stays allowlisted only if an entry allows this
  /// peer from this address.
  template <class P, class... Key>
  bool keep_alternative(const Key&... key) const noexcept {
    if constexpr (std::is_same_v<P, peer_scope>) return h != nullptr && has_ip && h->allowed_peer(gate, ticket.ip, (key.str(), ...));
    else return true;
  }
};

/// The allowlisted system scope: what allowlisted connections are charged to instead of system.
struct allowlisted_system_scope : scope<singleton> {
  static constexpr std::string_view name = "allowlisted-system";
};
/// The allowlisted transient scope: what allowlisted connections are charged to instead of
/// transient until their peer is set.
struct allowlisted_transient_scope : scope<singleton> {
  static constexpr std::string_view name = "allowlisted-transient";
};
/// A connection of the gated manager: a connection_scope that carries its gate ticket.
struct gated_connection_scope : scope<accounts<resource::memory, resource::conns, resource::fd>, carries<gated_connection_data>> {
  static constexpr std::string_view name = "connection";
  template <class H>
  using methods = connection_scope::methods<H>;
};

/// The libp2p topology with the allowlisted scopes: a connection refused by transient or system
/// may be opened in allowlisted-transient and allowlisted-system instead (and, once its peer is
/// set, is charged to its peer and allowlisted-system).
struct gated_topology : rcmgr::topology<kinds<system_scope, transient_scope, service_scope, protocol_scope, peer_scope,
                                              service_peer_scope, protocol_peer_scope, gated_connection_scope, stream_scope,
                                              allowlisted_system_scope, allowlisted_transient_scope>,
                                        edge<transient_scope, system_scope>,
                                        edge<service_scope, system_scope>,
                                        edge<protocol_scope, system_scope>,
                                        edge<peer_scope, system_scope>,
                                        edge<gated_connection_scope, transient_scope, until<peer_scope>>,
                                        edge<gated_connection_scope, peer_scope, late>,
                                        edge<stream_scope, peer_scope>,
                                        edge<stream_scope, transient_scope, until<protocol_scope>>,
                                        edge<stream_scope, protocol_scope, late>,
                                        edge<stream_scope, protocol_peer_scope>,
                                        edge<stream_scope, service_scope, after<protocol_scope>>,
                                        edge<stream_scope, service_peer_scope>,
                                        edge<allowlisted_transient_scope, allowlisted_system_scope>,
                                        edge<gated_connection_scope, allowlisted_transient_scope, instead_of<transient_scope>>,
                                        edge<gated_connection_scope, allowlisted_system_scope, instead_of<system_scope>>> {};

using gated_limits = limit_set<gated_topology>;

/// The gated limits from the libp2p ones: every scope as in `base`, and the allowlisted scopes
/// as given (go-libp2p's defaults for them are its system and transient defaults).
inline gated_limits make_gated_limits(const limits& base, const limit& allowlisted_system, const limit& allowlisted_transient) {
  gated_limits g;
  g.set<system_scope>(base.get<system_scope>());
  g.set<transient_scope>(base.get<transient_scope>());
  g.set<service_scope>(base.get<service_scope>());
  g.set<protocol_scope>(base.get<protocol_scope>());
  g.set<peer_scope>(base.get<peer_scope>());
  g.set<service_peer_scope>(base.get<service_peer_scope>());
  g.set<protocol_peer_scope>(base.get<protocol_peer_scope>());
  g.set<gated_connection_scope>(base.get<connection_scope>());
  g.set<stream_scope>(base.get<stream_scope>());
  g.set<allowlisted_system_scope>(allowlisted_system);
  g.set<allowlisted_transient_scope>(allowlisted_transient);
  for (const auto& [k, l] : base.overrides<service_scope>()) g.set<service_scope>(k, l);
  for (const auto& [k, l] : base.overrides<protocol_scope>()) g.set<protocol_scope>(k, l);
  for (const auto& [k, l] : base.overrides<peer_scope>()) g.set<peer_scope>(k, l);
  for (const auto& [k, l] : base.overrides<service_peer_scope>()) g.set<service_peer_scope>(k, l);
  for (const auto& [k, l] : base.overrides<protocol_peer_scope>()) g.set<protocol_peer_scope>(k, l);
  return g;
}
inline gated_limits make_gated_limits(const limits& base) {
  return make_gated_limits(base, base.get<system_scope>(), base.get<transient_scope>());
}
inline gated_limits default_gated_limits() { return make_gated_limits(default_limits()); }

}  // namespace libp2p

/// The libp2p resource manager with connection gating. Policies as for resource_manager.
template <class... Policies>
class gated_resource_manager : public basic_resource_manager<libp2p::gated_topology, Policies...>,
                               public libp2p::manager_methods<gated_resource_manager<Policies...>> {
  using base = basic_resource_manager<libp2p::gated_topology, Policies...>;
  // The gate's critical sections are a few instructions: a spin lock when threads share the
  // manager, nothing under single_threaded.
  using mutex = std::conditional_t<base::concurrency_policy::concurrent, detail::spin_lock, typename base::concurrency_policy::mutex>;
  using gate_type = rcmgr::gate<mutex>;

 public:
  using connection = typename base::template handle<libp2p::gated_connection_scope>;
  using stream = typename base::template handle<libp2p::stream_scope>;
  using system_ref = typename base::template ref<libp2p::system_scope>;
  using transient_ref = typename base::template ref<libp2p::transient_scope>;
  using service_ref = typename base::template ref<libp2p::service_scope>;
  using protocol_ref = typename base::template ref<libp2p::protocol_scope>;
  using peer_ref = typename base::template ref<libp2p::peer_scope>;

  /// The gate's allowlisted networks are held to the allowlisted system scope's total
  /// connection limit, as in go-libp2p. Check gating().ok() for allowlist entries that did not
  /// parse (or build the options with rcmgr::config::read_gating, which refuses them).
  explicit gated_resource_manager(const libp2p::gated_limits& l = libp2p::default_gated_limits(),
                                  const gating_options& o = {})
      : base(l), gate_(o, l.template get<libp2p::allowlisted_system_scope>().conn_total_limit()) {}

  /// A new connection scope for the remote multiaddr `endpoint`. Refused, with nothing charged,
  /// when the text is not a multiaddr (invalid_argument), when the address's subnet is over its
  /// connection rate (rate_limited) or connection count (limit_exceeded, scope "subnet:<cidr>"),
  /// or when transient or system is full and the address is not allowlisted. An empty endpoint
  /// (no address known) skips gating.
  result<connection> open_connection(direction dir, bool use_fd, std::string_view endpoint) {
    rcmgr::endpoint ep;
    if (endpoint.empty()) return open_connection(dir, use_fd, ep);
    // No error is built unless the text is refused; then it is parsed again for the message.
    if (!detail::parse_multiaddr_into(endpoint, ep, nullptr)) return parse_multiaddr(endpoint).error();
    return open_connection(dir, use_fd, ep);
  }
  result<connection> open_connection(direction dir, bool use_fd, const rcmgr::endpoint& ep) {
    // The gate writes its ticket straight into the new connection's data; the manager runs this
    // only when it is open and has room for the scope, so a refused open takes no token.
    auto fill = [&](libp2p::gated_connection_data& d) noexcept -> result<void> {
      d.h = &hooks_;
      d.gate = &gate_;
      if (ep.ip) {
        if (auto r = gate_.admit(*ep.ip, dir, d.ticket); !r) return r.error();
        d.has_ip = true;
      }
      return {};
    };
    return this->template open_filling<libp2p::gated_connection_scope>(fill, dir, use_fd);
  }

  /// go's VerifySourceAddress, for a multiaddr ("/ip4/1.2.3.4/udp/4001/quic-v1") or an address.
  /// Text that is not a multiaddr with an IP answers true (verify).
  bool verify_source_address(std::string_view multiaddr) noexcept {
    auto ep = parse_multiaddr(multiaddr);
    if (!ep || !ep->ip) return true;
    return gate_.verify_source_address(*ep->ip);
  }
  bool verify_source_address(const ip_address& ip) noexcept { return gate_.verify_source_address(ip); }

  /// The allowlist: add, remove and list entries at run time.
  rcmgr::allowlist& allowlist() noexcept { return gate_.allowlist(); }
  /// The gate (counts, capacity, sweep).
  gate_type& gating() noexcept { return gate_; }

  template <class F>
  decltype(auto) view_allowlisted_system(F&& f) {
    return this->template view<libp2p::allowlisted_system_scope>(std::forward<F>(f));
  }
  template <class F>
  decltype(auto) view_allowlisted_transient(F&& f) {
    return this->template view<libp2p::allowlisted_transient_scope>(std::forward<F>(f));
  }

 private:
  static void release_hook(void* g, gate_ticket& t) noexcept { static_cast<gate_type*>(g)->release(t); }
  static bool allowed_hook(const void* g, const ip_address& ip) noexcept {
    return static_cast<const gate_type*>(g)->allowlist().allowed(ip);
  }
  static bool allowed_peer_hook(const void* g, const ip_address& ip, std::string_view p) noexcept {
    return static_cast<const gate_type*>(g)->allowlist().allowed(ip, p);
  }
  static constexpr libp2p::gated_connection_data::hooks hooks_{&release_hook, &allowed_hook, &allowed_peer_hook};

  gate_type gate_;
};

}  // namespace rcmgr
