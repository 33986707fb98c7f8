// Helpers shared by the behavioural tests. The suite runs over every manager flavour; for the
// null manager the expected outcome of every check is "nothing is accounted and everything
// succeeds", which the helpers below apply so that one test body states both contracts.
#pragma once

#include <catch2/catch.hpp>

#include <cstdint>
#include <ostream>
#include <sstream>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>

#include "rcmgr/rcmgr.hpp"

namespace rt {

using rcmgr::direction;
using rcmgr::errc;
using rcmgr::limit;
using rcmgr::peer_id;
using rcmgr::scope_stat;
namespace lp = rcmgr::libp2p;

using thread_safe_manager = rcmgr::resource_manager<rcmgr::thread_safe>;
using single_threaded_manager = rcmgr::resource_manager<rcmgr::single_threaded>;
using null_manager = rcmgr::null_resource_manager;

/// Every flavour: the behavioural suite runs over these.
using all_managers = std::tuple<thread_safe_manager, single_threaded_manager, null_manager>;
/// Flavours that account (tests of counters, misuse reports, scope lifetime).
using real_managers = std::tuple<thread_safe_manager, single_threaded_manager>;

/// True for managers that account; false for the null manager.
template <class M>
inline constexpr bool accounts = !std::is_same_v<M, null_manager>;

inline const peer_id peer_a{"12D3KooWRBy97UB99e3J6hiPesre1MZeuNQvfan4gBziswrRJsNK"};
inline const peer_id peer_b{"12D3KooWJWoaqZhDaoEFshF7Rh1bpY9ohihFhzcW6d69Lr2NASuq"};
inline constexpr std::string_view proto_id = "/ipfs/id/1.0.0";
inline constexpr std::string_view proto_ping = "/ipfs/ping/1.0.0";
inline constexpr std::string_view svc_identify = "libp2p.identify";

/// Limits where nothing refuses (a default-constructed limit_set is unlimited everywhere).
inline lp::limits unlimited_limits() { return lp::limits{}; }

/// A limit of `bytes` of memory and nothing else.
inline limit memory_only(std::int64_t bytes) {
  limit l;
  l.memory = bytes;
  return l;
}

/// "ok" or the error's one-line message, for INFO().
template <class R>
std::string describe(const R& r) {
  if (r.has_value()) return "ok";
  return r.error().message();
}

/// The value of a result that must hold one.
template <class R>
auto take(R&& r) {
  INFO(describe(r));
  REQUIRE(r.has_value());
  return std::move(*r);
}

/// The usage of every shared scope a stream or connection of peer `p` can be charged to.
struct all_stats {
  scope_stat system{}, transient{}, peer{}, protocol{}, service{}, protocol_peer{}, service_peer{};
  friend bool operator==(const all_stats&, const all_stats&) = default;
};

template <class M>
scope_stat system_stat(M& mgr) {
  return mgr.view_system([](auto& r) { return r.stat(); });
}
template <class M>
scope_stat transient_stat(M& mgr) {
  return mgr.view_transient([](auto& r) { return r.stat(); });
}
template <class M>
scope_stat peer_stat(M& mgr, const peer_id& p) {
  return mgr.view_peer(p, [](auto& r) { return r.stat(); });
}
template <class M>
scope_stat protocol_stat(M& mgr, std::string_view proto) {
  return mgr.view_protocol(proto, [](auto& r) { return r.stat(); });
}
template <class M>
scope_stat service_stat(M& mgr, std::string_view svc) {
  return mgr.view_service(svc, [](auto& r) { return r.stat(); });
}
/// Usage of a view kind (protocol-peer, service-peer) for (first, second), or zero if it is not live.
template <class View, class M>
scope_stat view_stat(M& mgr, std::string_view first, const peer_id& second) {
  for (const auto& [keys, st] : mgr.template list<View>())
    if (std::string_view(keys.first) == first && keys.second == second) return st;
  return {};
}
template <class M>
std::size_t live_peers(const M& mgr) {
  return mgr.template live_count<lp::peer_scope>();
}

template <class M>
all_stats stats(M& mgr, const peer_id& p = peer_a, std::string_view proto = proto_id, std::string_view svc = svc_identify) {
  all_stats s;
  s.system = system_stat(mgr);
  s.transient = transient_stat(mgr);
  s.peer = peer_stat(mgr, p);
  s.protocol = protocol_stat(mgr, proto);
  s.service = service_stat(mgr, svc);
  s.protocol_peer = view_stat<lp::protocol_peer_scope>(mgr, proto, p);
  s.service_peer = view_stat<lp::service_peer_scope>(mgr, svc, p);
  return s;
}

/// What a manager of flavour M reports when `accounted` is the true usage.
template <class M, class T>
T expected(const T& accounted) {
  if constexpr (accounts<M>) return accounted;
  else return T{};
}

// usage builders: st().in_streams(1).mem(100)
struct st : scope_stat {
  st& mem(std::int64_t b) { memory = b; return *this; }
  st& in_streams(std::int64_t n) { streams_inbound = n; return *this; }
  st& out_streams(std::int64_t n) { streams_outbound = n; return *this; }
  st& in_conns(std::int64_t n) { conns_inbound = n; return *this; }
  st& out_conns(std::int64_t n) { conns_outbound = n; return *this; }
  st& fds(std::int64_t n) { fd = n; return *this; }
};

}  // namespace rt

namespace Catch {
template <>
struct StringMaker<rcmgr::scope_stat> {
  static std::string convert(const rcmgr::scope_stat& s) {
    std::ostringstream os;
    os << "{streams " << s.streams_inbound << "/" << s.streams_outbound << ", conns " << s.conns_inbound << "/"
       << s.conns_outbound << ", fd " << s.fd << ", memory " << s.memory << "}";
    return os.str();
  }
};
template <>
struct StringMaker<rt::st> : StringMaker<rcmgr::scope_stat> {};
template <>
struct StringMaker<rt::all_stats> {
  static std::string convert(const rt::all_stats& a) {
    using S = StringMaker<rcmgr::scope_stat>;
    return "\n  system " + S::convert(a.system) + "\n  transient " + S::convert(a.transient) + "\n  peer " +
           S::convert(a.peer) + "\n  protocol " + S::convert(a.protocol) + "\n  service " + S::convert(a.service) +
           "\n  protocol-peer " + S::convert(a.protocol_peer) + "\n  service-peer " + S::convert(a.service_peer);
  }
};
template <>
struct StringMaker<rcmgr::errc> {
  static std::string convert(rcmgr::errc e) { return rcmgr::make_error_code(e).message(); }
};
}  // namespace Catch

/// The result must hold a value (prints the error otherwise).
#define RT_OK(...)                               \
  do {                                           \
    const auto& rt_ok_r_ = (__VA_ARGS__);        \
    INFO(::rt::describe(rt_ok_r_));              \
    REQUIRE(rt_ok_r_.has_value());               \
  } while (0)

/// For an accounting manager M the result must be error `code`; for the null manager, success.
#define RT_REFUSED(M, code_, ...)                          \
  do {                                                     \
    const auto& rt_no_r_ = (__VA_ARGS__);                  \
    if constexpr (::rt::accounts<M>) {                     \
      REQUIRE_FALSE(rt_no_r_.has_value());                 \
      CHECK(rt_no_r_.error().code == (code_));             \
    } else {                                               \
      CHECK(rt_no_r_.has_value());                         \
    }                                                      \
  } while (0)
