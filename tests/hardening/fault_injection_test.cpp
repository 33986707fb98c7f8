// Out-of-memory test, after SQLite's: every operation that may allocate is run with the 1st,
// 2nd, ... N-th allocation failing, until it completes without reaching the failure. After each
// failure the operation must have answered errc::out_of_memory (or, for view_*, handed its
// function an empty reference saying out_of_memory), and the manager must be exactly as before the call: the
// usage of every scope, every reference count, every live keyed and view scope with its limit,
// live_count of every kind, the nodes live in every store, and the heap bytes held (net of
// what the manager's own pools and tables report holding). A run that completes is compared
// with a run without any failure: the same scopes with the same usage.
#include <catch2/catch.hpp>

#include <functional>
#include <map>
#include <sstream>
#include <string>

#include "hardening/alloc_hooks.hpp"
#include "rcmgr/rcmgr.hpp"

namespace {
namespace lp = rcmgr::libp2p;
using rcmgr::direction;
using rcmgr::errc;
using rcmgr::peer_id;

// Long enough that a std::string copy of each allocates (beyond the small-string buffer).
const std::string long_protocol = "/ipfs/kad/1.0.0/with/a/long/enough/suffix";
const std::string long_service = "libp2p.autonat.with.a.long.enough.name";
const peer_id known_peer("12D3KooWKnownPeerKnownPeerKnownPeerKnownPeerKnownPeer1");
const peer_id new_peer("12D3KooWNewPeerNewPeerNewPeerNewPeerNewPeerNewPeerNew99");

std::string show(const rcmgr::scope_stat& s) {
  std::ostringstream os;
  os << "mem " << s.memory << " s " << s.streams_inbound << '/' << s.streams_outbound << " c " << s.conns_inbound << '/'
     << s.conns_outbound << " fd " << s.fd;
  return os.str();
}
std::string show(const rcmgr::limit& l) {
  std::ostringstream os;
  os << "lim " << l.memory << ' ' << l.streams_inbound << ' ' << l.streams_outbound << ' ' << l.streams << ' '
     << l.conns_inbound << ' ' << l.conns_outbound << ' ' << l.conns << ' ' << l.fd;
  return os.str();
}

/// The manager under test with a few scopes of every kind already open.
template <class... P>
struct fixture {
  using mgr_t = rcmgr::resource_manager<P...>;
  mgr_t m;
  typename mgr_t::connection conn;      // attached to known_peer
  typename mgr_t::connection bare;      // no peer yet
  typename mgr_t::stream stream;        // known_peer, protocol and service set
  typename mgr_t::stream fresh;         // known_peer, nothing attached yet
  typename mgr_t::stream with_proto;    // known_peer, protocol set, no service

  fixture() {
    conn = std::move(*m.open_connection(direction::inbound, true));
    REQUIRE(conn.set_peer(known_peer));
    REQUIRE(conn.reserve_memory(100));
    bare = std::move(*m.open_connection(direction::outbound, false));
    REQUIRE(bare.reserve_memory(7));
    stream = std::move(*m.open_stream(known_peer, direction::inbound));
    REQUIRE(stream.set_protocol("/p/1"));
    REQUIRE(stream.set_service("svc"));
    REQUIRE(stream.reserve_memory(1000));
    fresh = std::move(*m.open_stream(known_peer, direction::outbound));
    REQUIRE(fresh.reserve_memory(10));
    with_proto = std::move(*m.open_stream(known_peer, direction::outbound));
    REQUIRE(with_proto.set_protocol("/p/1"));
    m.view_peer(known_peer, [](auto& r) { return r.reserve_memory(5).has_value(); });
  }

  template <class K>
  void add_table(std::map<std::string, std::string>& out, bool counts) {
    auto& ks = m.core().template state<K>();
    for (auto* n : ks.table) {
      std::string name(rcmgr::detail::kind_traits<K>::name);
      if constexpr (rcmgr::detail::kind_traits<K>::shape == rcmgr::kind_shape::keyed) {
        name += ':' + std::string(std::string_view(n->key));
      } else {
        name += ':' + std::string(std::string_view(n->a->key)) + '@' + std::string(std::string_view(n->b->key));
      }
      std::string v = show(n->rc.stat()) + " direct " + std::to_string(n->direct_memory.load());
      if (counts) v += " refs " + std::to_string(n->refs.load());
      v += ' ' + show(m.core().template limit_of<K>(*n).get());
      out[name] = v;
    }
    out[std::string("live:") + std::string(rcmgr::detail::kind_traits<K>::name)] =
        std::to_string(m.template live_count<K>()) + " overrides " + std::to_string(ks.overrides.size());
  }
  template <class H>
  static std::string handle_state(const H& h, bool counts) {
    if (!h) return "empty";
    std::string v = show(h.stat()) + (h.is_done() ? " done" : " open");
    if (counts) v += " refs " + std::to_string(h.rcmgr_node()->refs.load());
    return v;
  }

  /// Everything observable about the manager. `counts`: include reference counts and store
  /// occupancy (left out when comparing two different managers' results).
  std::map<std::string, std::string> snapshot(bool counts = true) {
    std::map<std::string, std::string> out;
    out["system"] = show(m.template stat<lp::system_scope>()) + ' ' + show(m.template get_limit<lp::system_scope>());
    out["transient"] = show(m.template stat<lp::transient_scope>());
    add_table<lp::peer_scope>(out, counts);
    add_table<lp::protocol_scope>(out, counts);
    add_table<lp::service_scope>(out, counts);
    add_table<lp::protocol_peer_scope>(out, counts);
    add_table<lp::service_peer_scope>(out, counts);
    out["h:conn"] = handle_state(conn, counts) + (conn.peer_scope() ? " peer" : "");
    out["h:bare"] = handle_state(bare, counts) + (bare.peer_scope() ? " peer" : "");
    out["h:stream"] = handle_state(stream, counts);
    out["h:fresh"] = handle_state(fresh, counts) + (fresh.protocol_scope() ? " proto" : "");
    out["h:with_proto"] = handle_state(with_proto, counts) + (with_proto.service_scope() ? " svc" : "");
    out["default:peer"] = show(m.template get_limit<lp::peer_scope>());
    if (counts) out["nodes_live"] = std::to_string(m.storage_stats().nodes_live);
    return out;
  }
};

/// What an operation answered: "ok", "oom", or anything else (a test failure).
using op_fn = std::function<std::string()>;

std::string diff(const std::map<std::string, std::string>& a, const std::map<std::string, std::string>& b) {
  std::string d;
  for (auto& [k, v] : a) {
    auto it = b.find(k);
    if (it == b.end()) d += "  gone: " + k + " = " + v + '\n';
    else if (it->second != v) d += "  changed: " + k + ": " + v + " -> " + it->second + '\n';
  }
  for (auto& [k, v] : b)
    if (a.find(k) == a.end()) d += "  new: " + k + " = " + v + '\n';
  return d;
}

template <class Res>
std::string outcome(const Res& r) {
  if (r) return "ok";
  if (r.error().code == errc::out_of_memory) return "oom";
  return "error " + r.error().message();
}

/// Runs op on a fresh fixture with the n-th allocation failing, for n = 1, 2, ... until op
/// completes without reaching the failure. Returns how many allocations op made.
template <class... P>
int exhaust(const char* what, const std::function<std::string(fixture<P...>&)>& op) {
  // The reference: the operation without failures.
  std::map<std::string, std::string> good;
  {
    fixture<P...> f;
    REQUIRE(op(f) == "ok");
    good = f.snapshot(false);
  }
  for (int n = 1; n < 1000; ++n) {
    fixture<P...> f;
    const auto before = f.snapshot();
    const std::int64_t heap_before = alloc::live_bytes;
    const std::size_t held_before = f.m.storage_stats().heap_bytes;
    alloc::fail_after(std::uint64_t(n));
    std::string r;
    try {
      r = op(f);
    } catch (const std::bad_alloc&) {
      r = "threw bad_alloc";
    }
    const bool hit = alloc::disarm();
    // Whatever heap memory the call kept must be held by the manager's pools and tables (a
    // grown table, a cached node), not leaked. Measured before the checks below allocate.
    const std::int64_t kept = alloc::live_bytes - heap_before;
    const std::int64_t held = std::int64_t(f.m.storage_stats().heap_bytes) - std::int64_t(held_before);
    INFO(what << ": allocation " << n << " failed; the operation answered " << r);
    if (!hit) {
      CHECK(r == "ok");
      CHECK(diff(good, f.snapshot(false)) == "");
      return n - 1;
    }
    if (r == "ok") {
      // The failure was absorbed (e.g. a table that could not shrink): the result must be
      // the same as without it.
      CHECK(diff(good, f.snapshot(false)) == "");
      continue;
    }
    CHECK((r == "oom" || r == "threw bad_alloc"));
    const auto after = f.snapshot();
    CHECK(diff(before, after) == "");
    CHECK(kept == held);
  }
  FAIL(what << ": still failing after 1000 allocations");
  return -1;
}

/// The storage operations (limits = false), or the limit operations (limits = true).
template <class... P>
void all_operations(bool limits) {
  using F = fixture<P...>;
  using fn = std::function<std::string(F&)>;
  std::map<std::string, int> reached;
  auto run = [&](const char* what, fn op) { reached[what] = exhaust<P...>(what, op); };

  if (limits) {
    run("set_limit (new per-peer override)", [](F& f) {
      rcmgr::limit l;
      l.memory = 1 << 20;
      return outcome(f.m.template set_limit<lp::peer_scope>(new_peer, l));
    });
    run("set_limit (override of a live peer)", [](F& f) {
      rcmgr::limit l;
      l.memory = 1 << 20;
      return outcome(f.m.template set_limit<lp::peer_scope>(known_peer, l));
    });
    run("set_limits (with overrides)", [](F& f) {
      auto ls = lp::default_limits();
      rcmgr::limit l;
      l.memory = 1 << 21;
      ls.template set<lp::peer_scope>(known_peer, l);
      ls.template set<lp::protocol_scope>(long_protocol, l);
      return outcome(f.m.set_limits(ls));
    });
  } else {
  run("open_connection", [](F& f) {
    auto r = f.m.open_connection(direction::inbound, true);
    return outcome(r);
  });
  run("open_stream (new peer)", [](F& f) { return outcome(f.m.open_stream(new_peer, direction::inbound)); });
  run("open_stream (known peer)", [](F& f) { return outcome(f.m.open_stream(known_peer, direction::outbound)); });
  run("set_peer (new peer)", [](F& f) { return outcome(f.bare.set_peer(new_peer)); });
  run("set_protocol (new protocol, long id)", [](F& f) { return outcome(f.fresh.set_protocol(long_protocol)); });
  run("set_protocol (known protocol)", [](F& f) { return outcome(f.fresh.set_protocol("/p/1")); });
  run("set_service (new service, long name)", [](F& f) { return outcome(f.with_proto.set_service(long_service)); });
  run("view_peer (new peer)", [](F& f) {
    return f.m.view_peer(new_peer, [](auto& r) -> std::string {
      if (r) return r.reserve_memory(64) ? "ok" : "reserve failed";
      return r.empty_reason() == errc::out_of_memory ? "oom" : "empty for another reason";
    });
  });
  run("view_protocol (new protocol)", [](F& f) {
    return f.m.view_protocol(long_protocol, [](auto& r) -> std::string {
      if (r) return r.reserve_memory(64) ? "ok" : "reserve failed";
      return r.empty_reason() == errc::out_of_memory ? "oom" : "empty for another reason";
    });
  });
  run("view_service (new service)", [](F& f) {
    return f.m.view_service(long_service, [](auto& r) -> std::string {
      if (r) return r.reserve_memory(64) ? "ok" : "reserve failed";
      return r.empty_reason() == errc::out_of_memory ? "oom" : "empty for another reason";
    });
  });
  run("begin_span", [](F& f) {
    auto s = f.stream.begin_span();
    if (!s) return outcome(s);
    return s->reserve_memory(3) ? std::string("ok") : std::string("reserve failed");
  });
  run("begin_span on a peer", [](F& f) {
    return f.m.view_peer(known_peer, [](auto& r) { return outcome(r.begin_span()); });
  });
  }
  std::ostringstream os;
  for (auto& [k, v] : reached) os << "  " << k << ": " << v << " allocations\n";
  WARN("allocations reached per operation:\n" << os.str());
  if (!limits) CHECK(reached["open_stream (new peer)"] > 0);  // the injection reached the storage at all
}

}  // namespace

TEST_CASE("out of memory in any operation changes nothing (thread_safe, hashed_storage)", "[hardening][oom]") {
  all_operations<rcmgr::thread_safe>(false);
}
TEST_CASE("out of memory in any operation changes nothing (single_threaded, hashed_storage)", "[hardening][oom]") {
  all_operations<rcmgr::single_threaded>(false);
}
TEST_CASE("out of memory in any operation changes nothing (thread_safe, bounded_storage)", "[hardening][oom]") {
  all_operations<rcmgr::thread_safe, rcmgr::bounded_storage<64>>(false);
}
TEST_CASE("out of memory in any operation changes nothing (single_threaded, bounded_storage)", "[hardening][oom]") {
  all_operations<rcmgr::single_threaded, rcmgr::bounded_storage<64>>(false);
}
// Limit changes: set_limit and set_limits answer out_of_memory when an allocation fails, and
// the state must be exactly as before (set_limits copies every kind's per-key limits before it
// commits any).
TEST_CASE("out of memory in a limit change changes nothing (thread_safe)", "[hardening][oom][limits]") {
  all_operations<rcmgr::thread_safe>(true);
}
TEST_CASE("out of memory in a limit change changes nothing (single_threaded)", "[hardening][oom][limits]") {
  all_operations<rcmgr::single_threaded>(true);
}
