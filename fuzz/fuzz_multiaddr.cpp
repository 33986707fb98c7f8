// libFuzzer target for endpoints (rcmgr/multiaddr.hpp) and the gate behind them. For any input:
// parsing either fails with invalid_argument or yields an endpoint whose peer id points into the
// input; an address that parsed prints as text that parses back to the same address; an
// allowlist entry that parsed writes back to text that parses to the same entry. The input is
// also opened as a connection on a gated manager with small limits and ended: afterwards
// nothing may be left counted anywhere (scopes, subnets, networks). The IPv4 fast path must read
// any input's leading dotted quad as the digit-by-digit reader does.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "rcmgr/allowlist.hpp"
#include "rcmgr/libp2p/gated_resource_manager.hpp"
#include "rcmgr/multiaddr.hpp"

namespace {

namespace lp = rcmgr::libp2p;

[[noreturn]] void fail(const char* what, std::string_view input) {
  std::fprintf(stderr, "rcmgr fuzz_multiaddr: %s\ninput: %.*s\n", what, int(input.size()), input.data());
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto r = rcmgr::parse_multiaddr(text);
  if (!r) {
    if (r.error().code != rcmgr::errc::invalid_argument) fail("a refusal that is not invalid_argument", text);
  } else {
    if (!r->peer.empty() && (r->peer.data() < text.data() || r->peer.data() + r->peer.size() > text.data() + text.size()))
      fail("the peer id does not point into the input", text);
    if (r->ip) {
      const std::string back = (r->ip->v6 ? "/ip6/" : "/ip4/") + r->ip->str();
      auto again = rcmgr::parse_multiaddr(back);
      if (!again || !again->ip || !(*again->ip == *r->ip)) fail("an address does not survive printing", text);
    }
  }
  // The IPv4 fast path (bytes classified 16 at a time) agrees with the digit-by-digit reading.
  {
    unsigned char window[16] = {};
    for (std::size_t k = 0; k < size && k < 16; ++k) window[k] = data[k];
    unsigned dg1 = 0, dt1 = 0, dg2 = 0, dt2 = 0;
    rcmgr::detail::ip4_classes(window, dg1, dt1);
    rcmgr::detail::ip4_classes_portable(window, dg2, dt2);
    if (dg1 != dg2 || dt1 != dt2) fail("the two byte classifiers disagree", text);
    std::uint32_t fast = 0, general = 0;
    const std::size_t got = rcmgr::detail::fast_ip4(text.data(), text.size(), fast);
    const std::string_view quad = text.substr(0, text.find('/'));
    const bool ok = rcmgr::detail::parse_ip4_word(quad, general);
    if (got != (ok ? quad.size() : 0u) || (ok && fast != general)) fail("the IPv4 fast path disagrees with the general one", text);
  }
  auto entry = rcmgr::parse_allowlist_entry(text);
  if (entry) {
    auto again = rcmgr::parse_allowlist_entry(entry->str());
    if (!again || !(*again == *entry)) fail("an allowlist entry does not survive printing", text);
  }

  // The same text through a gated manager: whatever happens, ending the connection leaves nothing.
  static rcmgr::gated_resource_manager<rcmgr::single_threaded>* mgr = [] {
    auto limits = lp::default_gated_limits();
    rcmgr::limit tr = limits.get<lp::transient_scope>();
    tr.conns = tr.conns_inbound = tr.conns_outbound = 1;  // the second connection falls back
    limits.set<lp::transient_scope>(tr);
    rcmgr::gating_options o;
    o.allowlist = {"/ip4/0.0.0.0/ipcidr/1", "/ip6/::/ipcidr/1/p2p/12D3KooWFuzz"};
    return new rcmgr::gated_resource_manager<rcmgr::single_threaded>(limits, o);
  }();
  {
    auto first = mgr->open_connection(rcmgr::direction::inbound, true, text);
    auto second = mgr->open_connection(rcmgr::direction::outbound, false, text);
    if (second) (void)second->set_peer(rcmgr::peer_id(size % 2 ? "12D3KooWFuzz" : "12D3KooWOther"));
    if (first) (void)first->reserve_memory(std::int64_t(size));
  }
  if (mgr->stat<lp::system_scope>().conns() != 0 || mgr->stat<lp::transient_scope>().conns() != 0 ||
      mgr->stat<lp::allowlisted_system_scope>().conns() != 0 || mgr->stat<lp::allowlisted_transient_scope>().memory != 0 ||
      mgr->stat<lp::system_scope>().memory != 0)
    fail("a scope still holds something after every connection ended", text);
  if (r && r->ip) {
    const rcmgr::ip_address ip = r->ip->unmapped();
    const int len = ip.v6 ? 56 : 32;
    if (mgr->gating().conns_in(rcmgr::ip_prefix{ip.masked(len), len}) != 0) fail("a subnet count was not released", text);
  }
  return 0;
}
