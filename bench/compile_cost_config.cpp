// The translation unit of a program that reads a go-libp2p limit file, scales the defaults to the
// machine and prints the sanity report (rcmgr::config), without a manager: scripts/compile_cost
// times it next to the manager's.
#include <cstdio>

#include "rcmgr/config/json.hpp"
#include "rcmgr/libp2p/sanity.hpp"
#include "rcmgr/libp2p/scaling.hpp"

int main(int argc, char** argv) {
  const auto scaled = rcmgr::libp2p::autoscale();
  auto r = rcmgr::config::parse_limits(argc > 1 ? argv[1] : "{}", scaled);
  if (!r) {
    std::printf("%s\n", r.error().message.c_str());
    return 1;
  }
  std::printf("%s\n", rcmgr::config::write_limits(*r).c_str());
  for (const auto& f : rcmgr::config::sanity_report(*r)) std::printf("%s %s\n", f.scope.c_str(), f.explanation.c_str());
  return 0;
}
