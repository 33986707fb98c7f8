// open_filling<K>: the fill runs after the scope's node exists; one that could throw would leave
// it half made, so it must be noexcept. The diagnostic says so.
// expect: open_filling<K>: the fill must be noexcept
#include "kinds.hpp"
struct ticket {
  int slot = 0;
};
struct link_scope : rcmgr::scope<rcmgr::accounts<rcmgr::resource::conns>, rcmgr::carries<ticket>> {
  static constexpr std::string_view name = "link";
};
struct my_topology : rcmgr::topology<kinds<system_scope, link_scope>, edge<link_scope, system_scope>> {};
int main() {
  rcmgr::basic_resource_manager<my_topology> manager;
#ifdef RCMGR_CF_VALID
  auto fill = [](ticket& t) noexcept -> rcmgr::result<void> {
#else
  auto fill = [](ticket& t) -> rcmgr::result<void> {
#endif
    t.slot = 1;
    return {};
  };
  auto c = manager.open_filling<link_scope>(fill, rcmgr::direction::inbound, false);
  return c ? 0 : 1;
}
