// What the engine says when it refuses or sees misuse: the errors of a limit, of a scope's state
// and of storage, with the texts they carry (built at compile time), and the misuse reports
// (over-releases, negative releases) with their counts. A base of detail::core (CRTP): the
// reservation paths only call these builders, cold and out of line, when they refuse.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "rcmgr/detail/analysis.hpp"
#include "rcmgr/detail/counters.hpp"
#include "rcmgr/detail/kind_traits.hpp"
#include "rcmgr/detail/meta.hpp"
#include "rcmgr/detail/misuse.hpp"
#include "rcmgr/detail/nodes.hpp"
#include "rcmgr/detail/storage.hpp"
#include "rcmgr/errors.hpp"
#include "rcmgr/policies.hpp"
#include "rcmgr/resources.hpp"

namespace rcmgr {
namespace detail {

template <class Core, class Topology, class Policy, class... Ks>
class core_errors {
  // The manager's own names for its kinds, here for the code below (Core is incomplete while
  // this base is instantiated, so they are spelt from the parameters rather than read from it).
  using graph = typename Topology::graph_type;
  template <class K>
  static constexpr int index = index_of<K, Ks...>();
  template <int I>
  using kind_at = nth<std::size_t(I), Ks...>;
  template <class K>
  using node_t = node<Core, K>;

  Core& self() noexcept { return static_cast<Core&>(*this); }
  const Core& self() const noexcept { return static_cast<const Core&>(*this); }

 public:
  // The error builders are cold and out of line: they format names, and inlined they made the
  // reservation paths too large to inline into their callers.
  template <class K>
  [[gnu::cold, gnu::noinline]] error limit_error(const node_t<K>& n, const refusal& why, std::uint8_t prio) const {
    error e;
    e.code = errc::limit_exceeded;
    e.res = why.res;
    e.dir = why.dir;
    e.has_direction = why.has_direction;
    e.total = why.total;
    e.prio = why.res == resource::memory ? prio : priority::always;
    e.current = why.current;
    e.attempted = why.attempted;
    e.limit_value = why.limit_value;
    e.scope = self().template name_of<K>(n);
    if constexpr (Core::observing) self().refusal_usage() = n.rc.stat();  // for the refusal's event
    return e;
  }
  template <class K>
  [[gnu::cold, gnu::noinline]] error state_error(const node_t<K>& n, errc code, std::string_view detail) const {
    error e;
    e.code = code;
    e.scope = self().template name_of<K>(n);
    e.detail = detail;
    return e;
  }

  // ---- misuse reports (counted by the manager, see misuse_event) ----
  misuse_stats misuse() const noexcept {
    return {self().over_releases_.load(), self().over_released_bytes_.load(), self().negative_releases_.load()};
  }
  using misuse_handler = void (*)(const misuse_event&, void*);
  void on_misuse(misuse_handler h, void* user) noexcept {
    self().handler_ = h;
    self().handler_user_ = user;
  }

  template <class K>
  void report_misuse(const node_t<K>& n, misuse_event::what w, std::int64_t requested, std::int64_t available) noexcept {
    if (w == misuse_event::what::over_release) {
      self().over_releases_.fetch_add(1);
      // Saturate: a caller releasing INT64_MAX twice must not overflow the total (undefined
      // behaviour on plain integers, a negative total on atomics).
      const std::int64_t extra = requested - available;  // > 0: available < requested
      std::int64_t cur = self().over_released_bytes_.load();
      while (!self().over_released_bytes_.compare_exchange(cur, cur > INT64_MAX - extra ? INT64_MAX : cur + extra)) {
      }
    } else {
      self().negative_releases_.fetch_add(1);
    }
    if (self().handler_ != nullptr) {
      misuse_event ev{w, self().template name_of<K>(n), requested, available};
      self().handler_(ev, self().handler_user_);
    }
  }

 protected:
  static constexpr std::string_view name_at(int q) {
    std::string_view r;
    ((index<Ks> == q ? (r = kind_traits<Ks>::name, 0) : 0), ...);
    return r;
  }
  template <std::size_t N>
  struct fixed_text {
    char buf[N]{};
    std::size_t len = 0;
    constexpr void add(std::string_view s) {
      for (char c : s)
        if (len < N) buf[len++] = c;
    }
    constexpr std::string_view view() const { return {buf, len}; }
  };
  template <class P>
  static constexpr fixed_text<96> attached_text_storage = [] {
    fixed_text<96> t;
    t.add("already attached to a ");
    t.add(kind_traits<P>::name);
    t.add(" scope");
    return t;
  }();
  template <class K, class P>
  static constexpr fixed_text<128> prerequisite_text_storage = [] {
    fixed_text<128> t;
    constexpr int i = index<K>, p = index<P>;
    t.add("set the ");
    for (const auto& e : graph::edges)
      if (e.child == i && e.parent == p && e.b == bind_kind::after) {
        t.add(core_errors::name_at(e.q));
        break;
      }
    t.add(" before the ");
    t.add(kind_traits<P>::name);
    return t;
  }();

  static constexpr fixed_text<96> key_length_text_storage = [] {
    fixed_text<96> t;
    t.add("key longer than the storage policy keeps inline (");
    char digits[24];
    int d = 0;
    for (std::size_t v = storage_of<Policy>::type::key_capacity; d == 0 || v != 0; v /= 10) digits[d++] = char('0' + v % 10);
    while (d > 0) t.add(std::string_view(&digits[--d], 1));
    t.add(" bytes)");
    return t;
  }();
  static constexpr std::string_view key_length_text() noexcept { return key_length_text_storage.view(); }
  template <class P>
  static constexpr std::string_view attached_text() noexcept {
    return attached_text_storage<P>.view();
  }
  template <class K, class P>
  static constexpr std::string_view prerequisite_text() noexcept {
    return prerequisite_text_storage<K, P>.view();
  }

  /// What a store answers when it has no node to give: a full static store is a cap, a failed
  /// heap allocation is out of memory.
  static constexpr errc store_exhausted =
      storage_traits<Policy>::mode == storage_mode::inline_ ? errc::too_many_scopes : errc::out_of_memory;
  template <class K>
  [[gnu::cold]] static error storage_error(errc why) noexcept {
    error e;
    e.code = why;
    e.scope = scope_name(kind_traits<K>::name);
    switch (why) {
      case errc::too_many_scopes: e.detail = "the storage policy's capacity for this kind is exhausted"; break;
      case errc::out_of_memory: e.detail = "allocating the scope's storage failed; nothing changed"; break;
      default: e.detail = key_length_text(); break;
    }
    return e;
  }
};

}  // namespace detail
}  // namespace rcmgr
