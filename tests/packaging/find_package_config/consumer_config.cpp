// A user of rcmgr::config: writes the default limits as a go-libp2p limit file, reads it back and
// runs a manager with it. Exits non-zero when the round trip changes anything.
#include <iostream>

#include <rcmgr/config/json.hpp>
#include <rcmgr/rcmgr.hpp>

int main() {
  const rcmgr::libp2p::limits defaults = rcmgr::libp2p::default_limits();
  const std::string text = rcmgr::config::write_limits(defaults);
  auto read = rcmgr::config::parse_limits(text);
  if (!read) return std::cerr << read.error() << '\n', 1;
  if (!rcmgr::config::equivalent(read->limits, defaults)) return 2;
  rcmgr::resource_manager<> mgr(read->limits);
  if (mgr.get_limit<rcmgr::libp2p::peer_scope>().memory != defaults.get<rcmgr::libp2p::peer_scope>().memory) return 3;
  std::cout << "rcmgr::config: ok\n";
  return 0;
}
