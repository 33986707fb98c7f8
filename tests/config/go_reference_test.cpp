// rcmgr's scale() against an independent transcription of go-libp2p's Scale() and default
// table: equal everywhere for the default table (whose connection and stream increases are both
// zero, so go's stream-scope slip does not show), different only where the slip matters.
#include <catch2/catch.hpp>

#include <cstdint>

#include "go_reference.hpp"
#include "rcmgr/libp2p/scaling.hpp"

using namespace rcmgr::libp2p;

namespace {
template <class K>
void check_same(const limits& ours, const go_reference::base_limit& go, const char* scope) {
  INFO(scope);
  const rcmgr::limit& l = ours.get<K>();
  constexpr auto acc = rcmgr::detail::kind_traits<K>::accounted;
  if constexpr (acc.contains(rcmgr::resource::streams)) {
    CHECK(l.streams == go.streams);
    CHECK(l.streams_inbound == go.streams_inbound);
    CHECK(l.streams_outbound == go.streams_outbound);
  }
  if constexpr (acc.contains(rcmgr::resource::conns)) {
    CHECK(l.conns == go.conns);
    CHECK(l.conns_inbound == go.conns_inbound);
    CHECK(l.conns_outbound == go.conns_outbound);
  }
  if constexpr (acc.contains(rcmgr::resource::fd)) CHECK(l.fd == go.fd);
  CHECK(l.memory == go.memory);
}
}  // namespace

TEST_CASE("scale() matches go's formula and default table") {
  const go_reference::scaling_limit_config go_cfg;
  for (std::int64_t mem : {std::int64_t{0}, 100 * mib, 128 * mib, 128 * mib + 1, 129 * mib, 1 * gib, 1536 * mib + 12345,
                           3 * gib + 7, 16 * gib, 100 * gib + 3 * mib, 1024 * gib})
    for (std::int64_t fds : {std::int64_t{0}, std::int64_t{1}, std::int64_t{255}, std::int64_t{1000}, std::int64_t{4096},
                             std::int64_t{10000}, std::int64_t{65535}, std::int64_t{1} << 20}) {
      INFO("memory " << mem << " fds " << fds);
      const limits ours = scale(mem, fds);
      const auto go = go_reference::scale(go_cfg, mem, fds);
      check_same<system_scope>(ours, go.system, "system");
      check_same<transient_scope>(ours, go.transient, "transient");
      check_same<service_scope>(ours, go.service, "service");
      check_same<service_peer_scope>(ours, go.service_peer, "service-peer");
      check_same<protocol_scope>(ours, go.protocol, "protocol");
      check_same<protocol_peer_scope>(ours, go.protocol_peer, "protocol-peer");
      check_same<peer_scope>(ours, go.peer, "peer");
      check_same<connection_scope>(ours, go.conn, "connection");
      check_same<stream_scope>(ours, go.stream, "stream");
    }
}

TEST_CASE("with a stream increase, rcmgr applies it and go's Scale() does not") {
  go_reference::scaling_limit_config go_cfg;
  go_cfg.stream_inc.memory = 2 * mib;
  scaling_config ours_cfg = default_scaling();
  ours_cfg.stream.increase.memory = 2 * mib;
  const auto go = go_reference::scale(go_cfg, 4 * gib, 0);
  const limits ours = scale(ours_cfg, 4 * gib, 0);
  CHECK(go.stream.memory == 16 * mib);  // go scaled the stream with the (zero) connection increase
  CHECK(ours.get<stream_scope>().memory == 16 * mib + 8 * mib);
}
