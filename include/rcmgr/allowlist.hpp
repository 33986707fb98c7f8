// rcmgr::allowlist: networks (and peers from networks) whose connections may use the
// allowlisted system and transient scopes when the regular ones are full, as go-libp2p's
// Allowlist. Entries are multiaddrs:
//   /ip4/1.2.3.4                   any peer from this address
//   /ip4/1.2.3.0/ipcidr/24         any peer from this network
//   /ip6/2001:db8::/ipcidr/32      the same for IPv6
//   /ip4/2.2.3.4/p2p/<peer id>     only that peer, from this address (or network, with /ipcidr)
// Other components (/tcp/4001, ...) are accepted and ignored, as in go.
//
// Readers never lock: the entries live in an immutable snapshot published through an atomic
// pointer. add/remove build a new snapshot under a writer mutex and publish it. A reader counts
// itself in (one atomic counter) while it looks at a snapshot; a change that finds no reader
// counted after publishing frees every replaced snapshot (a reader that counts itself in after
// that sees the new one), and a change that finds readers leaves them for a later change. So
// replaced snapshots are reclaimed, except while lookups run without pause; allowlists are
// changed by operators, rarely, and looked up only when a connection falls back to the
// allowlisted scopes or sets its peer there.
#pragma once

#include <algorithm>
#include <atomic>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "rcmgr/keys.hpp"
#include "rcmgr/multiaddr.hpp"
#include "rcmgr/result.hpp"

namespace rcmgr {

/// One allowlist entry: a network, and the only peer allowed from it (empty: any peer).
struct allowlist_entry {
  ip_prefix network;
  peer_id peer;  ///< empty: every peer from `network`
  friend bool operator==(const allowlist_entry&, const allowlist_entry&) = default;
  /// The entry as a multiaddr: "/ip4/1.2.3.0/ipcidr/24/p2p/12D3KooW...".
  std::string str() const {
    std::string s = network.addr.v6 ? "/ip6/" : "/ip4/";
    s += network.addr.str();
    if (network.len != network.addr.bits()) (s += "/ipcidr/") += std::to_string(network.len);
    if (!peer.str().empty()) (s += "/p2p/") += std::string(peer.str());
    return s;
  }
};

/// Parses an allowlist entry (see the top of this header).
inline result<allowlist_entry> parse_allowlist_entry(std::string_view text) noexcept {
  auto r = parse_multiaddr(text);
  if (!r) return r.error();
  if (!r->ip) return detail::multiaddr_error(text.substr(0, 24), "an allowlist entry needs an /ip4 or /ip6 address");
  allowlist_entry e;
  e.network.len = r->cidr ? *r->cidr : r->ip->bits();
  e.network.addr = r->ip->masked(e.network.len);
  // An IPv4-mapped network (/ip6/::ffff:1.2.3.0/ipcidr/120) is the IPv4 network it maps, as in
  // go (net.IPNet.Contains): gating matches unmapped addresses, so the mapped form would match
  // none. Networks shorter than /96 keep their IPv6 form (they do not contain IPv4 in go either).
  if (e.network.len >= 96 && e.network.addr.unmapped() != e.network.addr) {
    e.network.addr = e.network.addr.unmapped();
    e.network.len -= 96;
  }
  e.peer = peer_id(r->peer);
  return e;
}

/// The allowlist. Thread-safe: lookups are lock-free, changes are serialized.
class allowlist {
 public:
  struct snapshot {
    std::vector<ip_prefix> networks;        ///< entries without a peer
    std::vector<allowlist_entry> by_peer;   ///< entries naming a peer
  };

  allowlist() : current_(&empty_) {}
  allowlist(const allowlist&) = delete;
  allowlist& operator=(const allowlist&) = delete;

  /// Adds an entry; an entry given twice is kept twice (and must be removed twice), as in go.
  result<void> add(std::string_view entry) {
    auto e = parse_allowlist_entry(entry);
    if (!e) return e.error();
    add(*e);
    return {};
  }
  void add(const allowlist_entry& e) { add(std::span<const allowlist_entry>(&e, 1)); }
  /// Adds several entries in one change: one new snapshot (adding n entries one at a time copies
  /// the list, and keeps the copy, n times: 4096 entries cost some 800 MiB that way).
  void add(std::span<const allowlist_entry> entries) {
    std::lock_guard lk(write_mu_);
    auto next = std::make_unique<snapshot>(*current_.load(std::memory_order_relaxed));
    for (const auto& e : entries) {
      if (e.peer.str().empty()) next->networks.push_back(e.network);
      else next->by_peer.push_back(e);
    }
    publish(std::move(next));
  }
  /// Removes one copy of an entry; returns whether there was one (parse errors are returned).
  result<bool> remove(std::string_view entry) {
    auto e = parse_allowlist_entry(entry);
    if (!e) return e.error();
    return remove(*e);
  }
  bool remove(const allowlist_entry& e) {
    std::lock_guard lk(write_mu_);
    auto next = std::make_unique<snapshot>(*current_.load(std::memory_order_relaxed));
    bool found = false;
    if (e.peer.str().empty()) {
      auto it = std::find(next->networks.rbegin(), next->networks.rend(), e.network);
      if (it != next->networks.rend()) next->networks.erase(std::next(it).base()), found = true;
    } else {
      auto it = std::find(next->by_peer.rbegin(), next->by_peer.rend(), e);
      if (it != next->by_peer.rend()) next->by_peer.erase(std::next(it).base()), found = true;
    }
    if (found) publish(std::move(next));
    return found;
  }
  /// Every entry, as multiaddr text: peerless networks first, in the order they were added.
  std::vector<std::string> list() const {
    const read_guard g(*this);
    const snapshot& s = g.snap;
    std::vector<std::string> out;
    for (const auto& n : s.networks) out.push_back(allowlist_entry{n, {}}.str());
    for (const auto& e : s.by_peer) out.push_back(e.str());
    return out;
  }

  /// go's Allowed: the address is in some entry's network, whatever peer the entry names (the
  /// peer is not known yet when a connection opens).
  bool allowed(const ip_address& raw) const noexcept {
    const ip_address ip = raw.unmapped();  // entries hold IPv4 networks in their IPv4 form
    const read_guard g(*this);
    const snapshot& s = g.snap;
    for (const auto& n : s.networks)
      if (n.contains(ip)) return true;
    for (const auto& e : s.by_peer)
      if (e.network.contains(ip)) return true;
    return false;
  }
  /// go's AllowedPeerAndMultiaddr: a peerless entry's network holds the address, or an entry
  /// naming this peer does.
  bool allowed(const ip_address& raw, std::string_view peer) const noexcept {
    const ip_address ip = raw.unmapped();
    const read_guard g(*this);
    const snapshot& s = g.snap;
    for (const auto& n : s.networks)
      if (n.contains(ip)) return true;
    for (const auto& e : s.by_peer)
      if (e.peer.str() == peer && e.network.contains(ip)) return true;
    return false;
  }
  /// A copy of the current entries.
  snapshot current() const {
    const read_guard g(*this);
    return g.snap;
  }
  /// Replaced snapshots not freed yet (readers were counted when they were replaced).
  std::size_t retained() const {
    std::lock_guard lk(write_mu_);
    return retired_.empty() ? 0 : retired_.size() - 1;
  }
  /// Counts changes, so that users of the snapshot (the subnet limiter) can notice one.
  std::uint64_t version() const noexcept { return version_.load(std::memory_order_acquire); }

 private:
  /// A reader counted in while it looks at the current snapshot. Sequentially consistent, paired
  /// with publish(): either the writer sees this reader counted, or this reader sees the
  /// writer's new snapshot; never neither.
  struct read_guard {
    const allowlist& a;
    const snapshot& snap;
    explicit read_guard(const allowlist& l) noexcept : a(l), snap(enter(l)) {}
    ~read_guard() { a.readers_.fetch_sub(1, std::memory_order_seq_cst); }
    read_guard(const read_guard&) = delete;
    read_guard& operator=(const read_guard&) = delete;
    static const snapshot& enter(const allowlist& l) noexcept {
      l.readers_.fetch_add(1, std::memory_order_seq_cst);
      return *l.current_.load(std::memory_order_seq_cst);
    }
  };
  void publish(std::unique_ptr<snapshot> next) {
    current_.store(next.get(), std::memory_order_seq_cst);
    retired_.push_back(std::move(next));
    version_.fetch_add(1, std::memory_order_acq_rel);
    // No reader counted now: none can hold a replaced snapshot (a reader counted from now on
    // loads the new one). Free them all; the last one is current.
    if (readers_.load(std::memory_order_seq_cst) == 0) retired_.erase(retired_.begin(), retired_.end() - 1);
  }
  snapshot empty_;
  std::atomic<const snapshot*> current_;
  std::atomic<std::uint64_t> version_{0};
  mutable std::atomic<std::uint64_t> readers_{0};   ///< readers looking at a snapshot now
  mutable std::mutex write_mu_;
  std::vector<std::unique_ptr<snapshot>> retired_;  ///< published snapshots not freed yet (the last is current)
};

}  // namespace rcmgr
