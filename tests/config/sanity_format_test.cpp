// How the sanity report reads: sizes in readable units, no "(0 (blockAll))", errors before
// warnings before notes.
#include <catch2/catch.hpp>

#include <string>

#include "rcmgr/libp2p/sanity.hpp"

using namespace rcmgr::libp2p;

TEST_CASE("limit values print in readable units", "[sanity][format]") {
  using rcmgr::resource;
  CHECK(limit_value_text(rcmgr::unlimited, resource::memory) == "unlimited");
  CHECK(limit_value_text(0, resource::memory) == "blockAll");
  CHECK(limit_value_text(0, resource::streams) == "blockAll");
  CHECK(limit_value_text(100, resource::memory) == "100 B");
  CHECK(limit_value_text(4096, resource::memory) == "4 KiB");
  CHECK(limit_value_text(64 * mib, resource::memory) == "64 MiB");
  CHECK(limit_value_text(std::int64_t{4} << 30, resource::memory) == "4 GiB");
  CHECK(limit_value_text(3 * mib / 2 + 1, resource::memory) == "1.5 MiB (1572865 B)");
  CHECK(limit_value_text(1500, resource::memory) == "1.4 KiB (1500 B)");
  CHECK(limit_value_text(1024, resource::streams) == "1024");  // counts have no unit
}

TEST_CASE("the report lists errors first, then warnings, then notes, and never shows (0 (blockAll))",
          "[sanity][format]") {
  limits ls = default_limits();
  rcmgr::limit peer = ls.get<peer_scope>();
  peer.memory = std::int64_t{1} << 30;  // warning: above the system's 128 MiB
  ls.set<peer_scope>(peer);
  rcmgr::limit sys = ls.get<system_scope>();
  sys.fd = 0;  // error: no connection that uses a descriptor can open
  ls.set<system_scope>(sys);
  ls.set<protocol_scope>("/blocked/1.0.0", rcmgr::limit::blocked());  // info: a blocked protocol
  rcmgr::limit conn = ls.get<connection_scope>();
  conn.memory = 0;  // error: a connection can never reserve memory; also below parents
  ls.set<connection_scope>(conn);

  const auto r = sanity_report(ls);
  const std::string text = to_string(r);
  INFO(text);
  REQUIRE(has_findings(r, severity::error));
  REQUIRE(has_findings(r, severity::warning));
  for (std::size_t i = 1; i < r.size(); ++i) CHECK(r[i - 1].level >= r[i].level);
  CHECK(text.find("(0 (blockAll))") == std::string::npos);
  CHECK(text.find("0 (blockAll)") == std::string::npos);
  CHECK(text.find("1073741824") == std::string::npos);  // 1 GiB, not a byte count
  CHECK(text.find("is 1 GiB, above System.Memory (128 MiB)") != std::string::npos);
  CHECK(text.rfind("error: ", 0) == 0);  // the first line is an error
}
