// libFuzzer target for go-libp2p limit files (rcmgr/config/json.hpp). For any input, parsing
// either fails with an error or yields limits that are all valid (no negative value); a set
// that parsed is written back out, and the text written must parse to equivalent limits. The
// limits are then given to a manager, which must open, attach and end scopes under them.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "rcmgr/config/json.hpp"
#include "rcmgr/rcmgr.hpp"

namespace {

namespace lp = rcmgr::libp2p;

[[noreturn]] void fail(const char* what, const std::string& detail) {
  std::fprintf(stderr, "rcmgr fuzz_config: %s\n%s\n", what, detail.c_str());
  std::abort();
}

template <class K>
bool kind_valid(const lp::limits& ls) {
  if (!ls.get<K>().valid()) return false;
  constexpr auto shape = rcmgr::detail::kind_traits<K>::shape;
  if constexpr (shape == rcmgr::kind_shape::keyed || shape == rcmgr::kind_shape::view)
    for (const auto& [key, l] : ls.overrides<K>())
      if (!l.valid()) return false;
  return true;
}

bool all_valid(const lp::limits& ls) {
  return kind_valid<lp::system_scope>(ls) && kind_valid<lp::transient_scope>(ls) && kind_valid<lp::service_scope>(ls) &&
         kind_valid<lp::protocol_scope>(ls) && kind_valid<lp::peer_scope>(ls) && kind_valid<lp::service_peer_scope>(ls) &&
         kind_valid<lp::protocol_peer_scope>(ls) && kind_valid<lp::connection_scope>(ls) && kind_valid<lp::stream_scope>(ls);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto r = rcmgr::config::parse_limits(text);
  if (!r) {
    if (r.error().str().empty()) fail("an error without a message", std::string(text));
    return 0;
  }
  if (!all_valid(r->limits)) fail("parsed limits hold a negative value", std::string(text));
  const std::string out = rcmgr::config::write_limits(*r);
  auto back = rcmgr::config::parse_limits(out);
  if (!back) fail("written limits do not parse back", out + "\n" + back.error().str());
  if (!rcmgr::config::equivalent(*r, *back)) fail("written limits parse back to different limits", out);

  rcmgr::resource_manager<> mgr(r->limits);
  const rcmgr::peer_id p("12D3KooWFuzz");
  if (auto c = mgr.open_connection(rcmgr::direction::inbound, true)) {
    (void)c->set_peer(p);
    (void)c->reserve_memory(4096, rcmgr::priority::low);
  }
  if (auto s = mgr.open_stream(p, rcmgr::direction::outbound)) {
    (void)s->set_protocol("/ipfs/id/1.0.0");
    (void)s->set_service("libp2p.identify");
    (void)s->reserve_memory(1 << 20);
  }
  if (!mgr.stat<lp::system_scope>().empty() || mgr.live_count<lp::peer_scope>() != 0)
    fail("usage left after every scope ended", out);
  return 0;
}
