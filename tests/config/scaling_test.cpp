// Scaling limits to the memory and descriptors given to the manager.
#include <catch2/catch.hpp>

#include <cstdint>

#include "rcmgr/libp2p/scaling.hpp"
#include "rcmgr/rcmgr.hpp"

using namespace rcmgr::libp2p;
using rcmgr::limit;
using rcmgr::unlimited;

namespace {
bool same(const limits& a, const limits& b) {
  return a.get<system_scope>() == b.get<system_scope>() && a.get<transient_scope>() == b.get<transient_scope>() &&
         a.get<service_scope>() == b.get<service_scope>() && a.get<service_peer_scope>() == b.get<service_peer_scope>() &&
         a.get<protocol_scope>() == b.get<protocol_scope>() &&
         a.get<protocol_peer_scope>() == b.get<protocol_peer_scope>() && a.get<peer_scope>() == b.get<peer_scope>() &&
         a.get<connection_scope>() == b.get<connection_scope>() && a.get<stream_scope>() == b.get<stream_scope>();
}
}  // namespace

TEST_CASE("at or below 128 MiB and without descriptors, scaling gives the base limits") {
  for (std::int64_t mem : {std::int64_t{0}, 64 * mib, 128 * mib}) {
    INFO("memory " << mem);
    CHECK(same(scale(mem, 0), default_limits()));
  }
  CHECK(scaling_mebibytes(128 * mib) == 0);
  CHECK(scaling_mebibytes(128 * mib + 1) == 128);
}

TEST_CASE("counts and memory grow by the increase per GiB, rounded down") {
  // 4 GiB for the manager, 10000 descriptors
  const limits l = scale(4 * gib, 10000);
  const limit& sys = l.get<system_scope>();
  CHECK(sys.conns_inbound == 64 + 64 * 4);
  CHECK(sys.conns_outbound == 128 + 128 * 4);
  CHECK(sys.streams == 2048 + 2048 * 4);
  CHECK(sys.memory == 128 * mib + 4 * gib);
  CHECK(sys.fd == 10000);  // fraction 1
  const limit& tr = l.get<transient_scope>();
  CHECK(tr.conns == 64 + 32 * 4);
  CHECK(tr.memory == 32 * mib + 128 * mib * 4);
  CHECK(tr.fd == 2500);  // fraction 1/4
  const limit& peer = l.get<peer_scope>();
  CHECK(peer.conns == 8);  // no increase for peer connections
  CHECK(peer.streams_inbound == 256 + 128 * 4);
  CHECK(peer.fd == 156);  // floor(10000 / 64)
  CHECK(l.get<protocol_scope>().memory == 64 * mib + 164 * mib * 4);
  CHECK(l.get<protocol_peer_scope>().memory == 16 * mib + 4 * 4);  // go's table: 4 bytes per GiB
  CHECK(l.get<service_peer_scope>().memory == 16 * mib + 4 * mib * 4);
  CHECK(l.get<connection_scope>() == default_limits().get<connection_scope>());
  CHECK(l.get<stream_scope>() == default_limits().get<stream_scope>());

  // 1.5 GiB + 1 MiB: mebibytes = 1537; increase * 1537 / 1024, floored
  const limits m = scale(1536 * mib + mib, 0);
  CHECK(m.get<system_scope>().conns_inbound == 64 + 64 * 1537 / 1024);
  CHECK(m.get<service_peer_scope>().streams_inbound == 128 + 4 * 1537 / 1024);
  CHECK(m.get<system_scope>().fd == 256);  // no descriptors given: the base
}

TEST_CASE("the descriptor fraction never goes below the base") {
  const limits l = scale(0, 100);
  CHECK(l.get<system_scope>().fd == 256);   // 100 < 256
  CHECK(l.get<transient_scope>().fd == 64);  // 25 < 64
  CHECK(l.get<peer_scope>().fd == 4);        // 1 < 4
  CHECK(l.get<connection_scope>().fd == 1);  // no fraction
}

TEST_CASE("the stream scope scales with the stream increase, not the connection increase") {
  scaling_config c = default_scaling();
  c.connection.increase.memory = 8 * mib;  // connections grow by 8 MiB per GiB
  c.stream.increase.memory = 1 * mib;      // streams by 1 MiB per GiB
  c.stream.increase.streams = 0;
  const limits l = scale(c, 2 * gib, 0);
  CHECK(l.get<connection_scope>().memory == 32 * mib + 16 * mib);
  CHECK(l.get<stream_scope>().memory == 16 * mib + 2 * mib);  // go would give 16 + 16 MiB here
}

TEST_CASE("unlimited bases stay unlimited and huge inputs saturate instead of overflowing") {
  scaling_config c = default_scaling();
  c.system.base.memory = unlimited;
  c.transient.increase.memory = INT64_MAX / 2;
  c.peer.increase.streams = INT64_MAX;
  c.service.increase.fd_fraction = 1.0;  // service fd base is unlimited (services do not hold fds)
  const limits l = scale(c, INT64_MAX, INT64_MAX);
  CHECK(l.get<system_scope>().memory == unlimited);
  CHECK(l.get<transient_scope>().memory == unlimited);
  CHECK(l.get<peer_scope>().streams == unlimited);
  CHECK(l.get<service_scope>().fd == unlimited);
  CHECK(l.get<system_scope>().fd == unlimited);  // 1.0 * INT64_MAX descriptors, clamped
  CHECK(l.get<system_scope>().conns > 0);
}

TEST_CASE("per-key scaling entries become per-key limits") {
  scaling_config c = default_scaling();
  c.protocols["/ipfs/bitswap/1.2.0"] = {stream_limit(100, 200, 300, 10 * mib), {10, 20, 30, 0, 0, 0, mib, 0.0}};
  c.peers[rcmgr::peer_id("12D3KooWFriend")] = {limit{1000, 1000, 1000, 32, 32, 32, 64, 256 * mib}, {}};
  const limits l = scale(c, 2 * gib, 0);
  const auto& bitswap = l.get<protocol_scope>(std::string("/ipfs/bitswap/1.2.0"));
  CHECK(bitswap.streams_inbound == 120);
  CHECK(bitswap.streams == 360);
  CHECK(bitswap.memory == 12 * mib);
  CHECK(l.get<peer_scope>(rcmgr::peer_id("12D3KooWFriend")).conns == 32);
  CHECK(l.get<peer_scope>(rcmgr::peer_id("12D3KooWOther")).conns == 8);
}

TEST_CASE("autoscale gives the manager 1/8 of the memory and half of the descriptors") {
  rcmgr::system_resources r;
  r.memory.bytes = 16 * gib;
  r.fds = 4096;
  const manager_budget b = budget_of(r);
  CHECK(b.memory == 2 * gib);
  CHECK(b.fds == 2048);
  CHECK(same(autoscale(default_scaling(), r), scale(2 * gib, 2048)));
  CHECK(same(autoscale(default_scaling(), r, machine_share{4, 1}), scale(4 * gib, 4096)));

  // on this machine: whatever it has, the result is the scaled table for its budget
  const rcmgr::system_resources here = rcmgr::detect_system_resources();
  REQUIRE(here.memory.bytes > 0);
  CHECK(same(autoscale(), scale(here.memory.bytes / 8, here.fds / 2)));
  CHECK(autoscale().get<system_scope>().memory >= default_limits().get<system_scope>().memory);
}

TEST_CASE("a scaled set works in a manager") {
  rcmgr::resource_manager<> mgr(scale(1 * gib, 1024));
  CHECK(mgr.get_limit<system_scope>().conns == 128 + 128);
  auto c = mgr.open_connection(rcmgr::direction::inbound, true);
  REQUIRE(c);
}
