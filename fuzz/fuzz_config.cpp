// libFuzzer target for go-libp2p limit files (rcmgr/config/json.hpp). For any input, parsing
// either fails with an error or yields limits that are all valid (no negative value); a set
// that parsed is written back out, and the text written must parse to equivalent limits. The
// limits are then given to a manager, which must open, attach and end scopes under them.
// Run with -max_len=65536 (scripts/fuzz does); expansion (below) reaches the size bounds.
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
  return ls.check() && kind_valid<lp::system_scope>(ls) && kind_valid<lp::transient_scope>(ls) &&
         kind_valid<lp::service_scope>(ls) && kind_valid<lp::protocol_scope>(ls) && kind_valid<lp::peer_scope>(ls) &&
         kind_valid<lp::service_peer_scope>(ls) && kind_valid<lp::protocol_peer_scope>(ls) &&
         kind_valid<lp::connection_scope>(ls) && kind_valid<lp::stream_scope>(ls);
}

/// Inputs starting with 0xff are expanded, so that small inputs reach the reader's bounds (a
/// million levels of nesting, 200,000 keys, 16 MiB): 0xff, a 16-bit count (little-endian, times
/// 8), then prefix 0x01 unit 0x01 suffix; the text is prefix + unit * count + suffix, cut a few
/// bytes past the size bound.
std::string expand(std::string_view in) {
  if (in.size() < 3 || static_cast<unsigned char>(in[0]) != 0xff) return std::string(in);
  const std::size_t count = (std::size_t(static_cast<unsigned char>(in[1])) | std::size_t(static_cast<unsigned char>(in[2])) << 8) * 8;
  std::string_view rest = in.substr(3);
  const auto a = rest.find('\x01');
  const auto b = a == std::string_view::npos ? a : rest.find('\x01', a + 1);
  if (b == std::string_view::npos) return std::string(in);
  const std::string_view prefix = rest.substr(0, a), unit = rest.substr(a + 1, b - a - 1), suffix = rest.substr(b + 1);
  const std::size_t cap = rcmgr::config::max_document_size + 16;
  std::string out(prefix);
  for (std::size_t i = 0; i < count && out.size() < cap && !unit.empty(); ++i) out += unit;
  out += suffix;
  if (out.size() > cap) out.resize(cap);
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string expanded = expand(std::string_view(reinterpret_cast<const char*>(data), size));
  const std::string_view text(expanded);
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
