// Prints what rcmgr's autoscale() computes on this machine next to what go-libp2p's AutoScale()
// formula gives (physical RAM / 8, RLIMIT_NOFILE / 2, its Scale()), as a Markdown table.
//
//   rcmgr_autoscale_report                   this machine
//   rcmgr_autoscale_report --root DIR        read /proc and /sys/fs/cgroup under DIR
//   rcmgr_autoscale_report --fds N           pretend RLIMIT_NOFILE is N
//   rcmgr_autoscale_report --cgroup-limit B  pretend the process's cgroup allows B bytes
//   rcmgr_autoscale_report --json            also print rcmgr's limits as a limit file
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <sstream>
#include <string>

#include "go_reference.hpp"
#include "rcmgr/config/json.hpp"
#include "rcmgr/libp2p/scaling.hpp"
#include "rcmgr/system_resources.hpp"

namespace {
using namespace rcmgr::libp2p;

std::string num(std::int64_t v) { return v == rcmgr::unlimited ? std::string("unlimited") : std::to_string(v); }
std::string mib_text(std::int64_t bytes) {
  if (bytes == rcmgr::unlimited) return "unlimited";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.1f", double(bytes) / double(mib));
  return buf;
}
std::string triple(std::int64_t in, std::int64_t out, std::int64_t total) { return num(in) + "/" + num(out) + "/" + num(total); }

struct row {
  std::string streams, conns, fd, memory;
};
template <class K>
row ours(const limits& l) {
  const rcmgr::limit& x = l.get<K>();
  constexpr auto acc = rcmgr::detail::kind_traits<K>::accounted;
  return {acc.contains(rcmgr::resource::streams) ? triple(x.streams_inbound, x.streams_outbound, x.streams) : "-",
          acc.contains(rcmgr::resource::conns) ? triple(x.conns_inbound, x.conns_outbound, x.conns) : "-",
          acc.contains(rcmgr::resource::fd) ? num(x.fd) : "-", mib_text(x.memory)};
}
row theirs(const go_reference::base_limit& x, const row& shape) {
  // go keeps 0 for resources a scope does not use; show "-" where rcmgr has no such resource
  return {shape.streams == "-" ? "-" : triple(x.streams_inbound, x.streams_outbound, x.streams),
          shape.conns == "-" ? "-" : triple(x.conns_inbound, x.conns_outbound, x.conns), shape.fd == "-" ? "-" : num(x.fd),
          mib_text(x.memory)};
}
void print(const char* scope, const row& a, const row& b) {
  auto cell = [](const std::string& x, const std::string& y) { return x == y ? x : x + " (go: " + y + ")"; };
  std::cout << "| " << scope << " | " << cell(a.streams, b.streams) << " | " << cell(a.conns, b.conns) << " | "
            << cell(a.fd, b.fd) << " | " << cell(a.memory, b.memory) << " |\n";
}
}  // namespace

int main(int argc, char** argv) {
  std::string root = "/";
  std::int64_t fds_override = -1, cgroup_override = -1;
  bool json = false;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--root") && i + 1 < argc) root = argv[++i];
    else if (!std::strcmp(argv[i], "--fds") && i + 1 < argc) fds_override = std::strtoll(argv[++i], nullptr, 10);
    else if (!std::strcmp(argv[i], "--cgroup-limit") && i + 1 < argc) cgroup_override = std::strtoll(argv[++i], nullptr, 10);
    else if (!std::strcmp(argv[i], "--json")) json = true;
    else {
      std::cerr << "usage: " << argv[0] << " [--root DIR] [--fds N] [--cgroup-limit BYTES] [--json]\n";
      return 2;
    }
  }
  rcmgr::system_resources r = rcmgr::detect_system_resources(root);
  if (fds_override >= 0) r.fds = fds_override;
  if (cgroup_override >= 0) {
    r.memory.cgroup_limit = cgroup_override;
    r.memory.file = "(--cgroup-limit)";
    if (cgroup_override < r.memory.physical) {
      r.memory.bytes = cgroup_override;
      r.memory.source = rcmgr::memory_source::cgroup_v2;
    }
  }
  const manager_budget ours_budget = budget_of(r);
  // go: memory.TotalMemory() / 8 (physical RAM, no cgroup), getNumFDs() / 2
  const std::int64_t go_memory = r.memory.physical / 8, go_fds = r.fds / 2;

  std::cout << "Machine:\n"
            << "- physical RAM: " << r.memory.physical << " B (" << mib_text(r.memory.physical) << " MiB)\n"
            << "- memory the process may use: " << r.memory.bytes << " B (" << mib_text(r.memory.bytes)
            << " MiB), from " << rcmgr::to_string(r.memory.source);
  if (!r.memory.file.empty()) std::cout << " (" << r.memory.file.string() << ")";
  std::cout << "\n- tightest cgroup limit found: "
            << (r.memory.cgroup_limit == rcmgr::unlimited ? std::string("none") : std::to_string(r.memory.cgroup_limit) + " B")
            << "\n- RLIMIT_NOFILE (soft): " << r.fds << "\n\n"
            << "Budget for the manager:\n"
            << "- rcmgr autoscale(): " << ours_budget.memory << " B (" << mib_text(ours_budget.memory) << " MiB, 1/8), "
            << ours_budget.fds << " descriptors (1/2)\n"
            << "- go AutoScale():    " << go_memory << " B (" << mib_text(go_memory) << " MiB, 1/8 of physical RAM), "
            << go_fds << " descriptors (1/2)\n\n";

  const limits l = autoscale(default_scaling(), r);
  const auto g = go_reference::scale(go_reference::scaling_limit_config{}, go_memory, go_fds);
  std::cout << "| scope | streams in/out/total | conns in/out/total | fd | memory (MiB) |\n|---|---|---|---|---|\n";
  {
    row a = ours<system_scope>(l);
    print("System", a, theirs(g.system, a));
    a = ours<transient_scope>(l);
    print("Transient", a, theirs(g.transient, a));
    a = ours<service_scope>(l);
    print("ServiceDefault", a, theirs(g.service, a));
    a = ours<service_peer_scope>(l);
    print("ServicePeerDefault", a, theirs(g.service_peer, a));
    a = ours<protocol_scope>(l);
    print("ProtocolDefault", a, theirs(g.protocol, a));
    a = ours<protocol_peer_scope>(l);
    print("ProtocolPeerDefault", a, theirs(g.protocol_peer, a));
    a = ours<peer_scope>(l);
    print("PeerDefault", a, theirs(g.peer, a));
    a = ours<connection_scope>(l);
    print("Conn", a, theirs(g.conn, a));
    a = ours<stream_scope>(l);
    print("Stream", a, theirs(g.stream, a));
  }
  std::cout << "\nA cell shows rcmgr's value, and go's in parentheses where it differs.\n";
  if (json) std::cout << "\n" << rcmgr::config::write_limits(l);
  return 0;
}
