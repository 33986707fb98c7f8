// metrics_node: a small simulated libp2p node whose resource manager is exported as go-libp2p's
// libp2p_rcmgr_* metrics on http://127.0.0.1:<port>/metrics, for Prometheus (and go-libp2p's
// Grafana dashboard) to scrape. It runs for a fixed time and exits.
//
//   metrics_node [--port N] [--seconds S]
//     --port N     TCP port on 127.0.0.1 (default 0: pick a free one); the port is printed as
//                  "listening on 127.0.0.1:<port>"
//     --seconds S  how long to run (default 30)
//
// The node keeps 5 inbound streams open on /rcmgr/steady/1.0.0 for the whole run (a fixed point a
// scraper can check), while 20 peers open and close streams on three protocols and one abusive
// peer keeps opening streams past its limit (refused: see libp2p_rcmgr_blocked_resources).
#include <chrono>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <prometheus/exposer.h>

#include "rcmgr/prometheus/collector.hpp"
#include "rcmgr/rcmgr.hpp"

namespace {
namespace lp = rcmgr::libp2p;
using rcmgr::direction;
using manager = rcmgr::resource_manager<rcmgr::observed_by<rcmgr::prometheus::metrics_observer>>;

int usage(const char* argv0) {
  std::cerr << "usage: " << argv0 << " [--port N] [--seconds S]\n";
  return 2;
}
bool parse_int(std::string_view s, long lo, long hi, long& out) {
  if (s.empty()) return false;
  char* end = nullptr;
  const std::string copy(s);
  const long v = std::strtol(copy.c_str(), &end, 10);
  if (end == nullptr || *end != '\0' || v < lo || v > hi) return false;
  out = v;
  return true;
}
}  // namespace

int main(int argc, char** argv) {
  long port = 0, seconds = 30;
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    if (a == "--port" && i + 1 < argc) {
      if (!parse_int(argv[++i], 0, 65535, port)) return usage(argv[0]);
    } else if (a == "--seconds" && i + 1 < argc) {
      if (!parse_int(argv[++i], 1, 24 * 3600, seconds)) return usage(argv[0]);
    } else {
      return usage(argv[0]);
    }
  }

  auto limits = lp::default_limits();
  limits.set<lp::peer_scope>({16, 16, 32, 8, 8, 8, 4, 64 << 20});  // streams 16/16/32, conns 8, fd 4, 64 MiB
  manager mgr(limits);

  // Serve /metrics on loopback only.
  std::unique_ptr<prometheus::Exposer> exposer;
  try {
    exposer = std::make_unique<prometheus::Exposer>("127.0.0.1:" + std::to_string(port), 1);
  } catch (const std::exception& e) {
    std::cerr << "metrics_node: cannot listen on 127.0.0.1:" << port << ": " << e.what() << '\n';
    return 1;
  }
  auto col = std::make_shared<rcmgr::prometheus::collector<manager>>(mgr);
  exposer->RegisterCollectable(col);
  const auto ports = exposer->GetListeningPorts();
  if (ports.empty()) {
    std::cerr << "metrics_node: no listening port\n";
    return 1;
  }
  std::cout << "listening on 127.0.0.1:" << ports.front() << std::endl;

  // The steady part: one peer, one connection, 5 inbound streams on /rcmgr/steady/1.0.0.
  const rcmgr::peer_id steady_peer("12D3KooWSteadyPeer");
  auto steady_conn = mgr.open_connection(direction::inbound, true);
  if (!steady_conn || !steady_conn->set_peer(steady_peer)) return std::cerr << "metrics_node: steady connection refused\n", 1;
  std::vector<manager::stream> steady;
  for (int i = 0; i < 5; ++i) {
    auto s = mgr.open_stream(steady_peer, direction::inbound);
    if (!s || !s->set_protocol("/rcmgr/steady/1.0.0") || !s->reserve_memory(4096))
      return std::cerr << "metrics_node: steady stream refused\n", 1;
    steady.push_back(std::move(*s));
  }

  // The churn: 20 peers with a connection each, streams opening and closing.
  std::vector<rcmgr::peer_id> peers;
  std::vector<manager::connection> conns;
  for (int i = 0; i < 20; ++i) {
    peers.emplace_back("12D3KooWPeer" + std::to_string(i));
    auto c = mgr.open_connection(i % 3 == 0 ? direction::outbound : direction::inbound, true);
    if (c && c->set_peer(peers.back())) conns.push_back(std::move(*c));
  }
  const char* protocols[] = {"/ipfs/id/1.0.0", "/ipfs/kad/1.0.0", "/meshsub/1.1.0"};
  const rcmgr::peer_id abuser("12D3KooWAbusivePeer");
  std::vector<manager::stream> open;
  std::vector<manager::stream> abusive;
  std::mt19937 rng(42);
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  long refused = 0;
  for (long tick = 0; std::chrono::steady_clock::now() < until && tick < seconds * 1000L; ++tick) {
    // a well-behaved stream opens, negotiates a protocol and reserves a buffer
    const auto& p = peers[rng() % peers.size()];
    if (auto s = mgr.open_stream(p, rng() % 2 ? direction::inbound : direction::outbound)) {
      if (s->set_protocol(protocols[rng() % 3]) && s->reserve_memory(1024 * (1 + std::int64_t(rng() % 64)), rcmgr::priority::low))
        open.push_back(std::move(*s));
    } else {
      ++refused;
    }
    // and some close
    while (open.size() > 40) open.erase(open.begin() + std::ptrdiff_t(rng() % open.size()));
    // the abusive peer opens streams and never closes them (until its limit refuses them)
    if (auto s = mgr.open_stream(abuser, direction::inbound)) abusive.push_back(std::move(*s));
    else ++refused;
    if (abusive.size() >= 16 && tick % 500 == 0) abusive.clear();  // its connection drops now and then
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  std::cout << "done after " << seconds << " s; " << refused << " stream opens refused" << std::endl;
  exposer.reset();  // stop serving before the manager and the collector go
  return 0;
}
