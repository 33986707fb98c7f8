// The null manager: the same API as basic_resource_manager, compiled to nothing. Every handle and
// result is an empty type, every operation is constexpr and noexcept and succeeds; a build that
// swaps it in pays neither space nor time for resource management.
#pragma once

#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

#include "rcmgr/detail/kind_traits.hpp"
#include "rcmgr/detail/live_handles.hpp"
#include "rcmgr/errors.hpp"
#include "rcmgr/limit_set.hpp"
#include "rcmgr/resources.hpp"
#include "rcmgr/topology.hpp"

namespace rcmgr {

/// A result that always holds a value; empty when T is. Same reading API as result<T>.
template <class T>
class null_result : private T {
 public:
  using value_type = T;
  constexpr null_result() noexcept = default;
  constexpr bool has_value() const noexcept { return true; }
  constexpr explicit operator bool() const noexcept { return true; }
  constexpr T& value() noexcept { return *this; }
  constexpr const T& value() const noexcept { return *this; }
  constexpr T& operator*() noexcept { return *this; }
  constexpr const T& operator*() const noexcept { return *this; }
  constexpr T* operator->() noexcept { return this; }
  constexpr const T* operator->() const noexcept { return this; }
  /// Never called on a null result (it always holds a value); returns a default error.
  constexpr rcmgr::error error() const noexcept { return rcmgr::error{}; }
};
template <>
class null_result<void> {
 public:
  using value_type = void;
  constexpr bool has_value() const noexcept { return true; }
  constexpr explicit operator bool() const noexcept { return true; }
  constexpr void value() const noexcept {}
  constexpr rcmgr::error error() const noexcept { return rcmgr::error{}; }
};

template <class K>
class null_ref;

/// Null handle of a per-object scope.
template <class K>
class null_handle : public K::template methods<null_handle<K>> {
 public:
  using kind = K;
  constexpr null_handle() noexcept = default;
  constexpr null_result<void> reserve_memory(std::int64_t, std::uint8_t = priority::always) noexcept { return {}; }
  constexpr void release_memory(std::int64_t) noexcept {}
  constexpr scope_stat stat() const noexcept { return {}; }
  constexpr null_result<null_handle<span_of<K>>> begin_span() noexcept { return {}; }
  constexpr void done() noexcept {}
  constexpr bool is_done() const noexcept { return false; }
  constexpr explicit operator bool() const noexcept { return true; }
  template <class P, class... Key>
  constexpr null_result<void> set(const Key&...) noexcept {
    return {};
  }
  template <class P>
  constexpr null_ref<P> parent() const noexcept {
    return {};
  }
  scope_name id() const { return scope_name(detail::kind_traits<K>::name); }
};

/// Null reference to a shared scope.
template <class K>
class null_ref : public K::template methods<null_ref<K>> {
 public:
  using kind = K;
  constexpr null_ref() noexcept = default;
  constexpr null_result<void> reserve_memory(std::int64_t, std::uint8_t = priority::always) noexcept { return {}; }
  constexpr void release_memory(std::int64_t) noexcept {}
  constexpr scope_stat stat() const noexcept { return {}; }
  constexpr null_result<null_handle<span_of<K>>> begin_span() noexcept { return {}; }
  constexpr explicit operator bool() const noexcept { return true; }
  /// The key of a keyed scope: a default-constructed key (go's null scope returns "").
  constexpr auto key() const noexcept
    requires(detail::kind_traits<K>::shape == kind_shape::keyed)
  {
    return key_type_of<K>{};
  }
  scope_name id() const { return scope_name(detail::kind_traits<K>::name); }
};

/// The null manager of a topology: basic_resource_manager's API, doing nothing.
template <scope_topology Topology>
class basic_null_resource_manager {
 public:
  using topology_type = Topology;
  using limits_type = limit_set<Topology>;
  template <class K>
  using handle = null_handle<K>;
  template <class K>
  using ref = null_ref<K>;
  template <class K>
  using span = null_handle<span_of<K>>;

  constexpr basic_null_resource_manager() noexcept = default;
  explicit basic_null_resource_manager(const limits_type&) noexcept {}

  template <class K, class... Parents>
  constexpr null_result<null_handle<K>> open(direction, bool, Parents&&...) noexcept {
    return {};
  }
  template <class K, class F>
  constexpr decltype(auto) view(F&& f) {
    null_ref<K> r;
    return std::forward<F>(f)(r);
  }
  template <class K, class Key, class F>
  constexpr decltype(auto) view(const Key&, F&& f) {
    null_ref<K> r;
    return std::forward<F>(f)(r);
  }
  template <class K>
  constexpr scope_stat stat() const noexcept {
    return {};
  }
  /// A null manager holds no scopes: nothing is live.
  template <class K, class Key>
  constexpr std::optional<scope_stat> stat(const Key&) const noexcept {
    return std::nullopt;
  }
  template <class K>
  auto list() const {
    if constexpr (detail::kind_traits<K>::shape == kind_shape::keyed)
      return std::vector<std::pair<key_type_of<K>, scope_stat>>{};
    else
      return std::vector<std::pair<std::pair<key_type_of<typename detail::kind_traits<K>::shape_option::first>,
                                             key_type_of<typename detail::kind_traits<K>::shape_option::second>>,
                                   scope_stat>>{};
  }
  template <class K>
  constexpr std::size_t live_count() const noexcept {
    return 0;
  }
  constexpr null_result<void> set_limits(const limits_type&) noexcept { return {}; }
  template <class K>
  constexpr null_result<void> set_limit(const limit_type_of<K>&) noexcept {
    return {};
  }
  template <class K, class Key>
  constexpr null_result<void> set_limit(const Key&, const limit&) noexcept {
    return {};
  }
  constexpr void close() noexcept {}
  constexpr bool closed() const noexcept { return false; }
  /// Nothing to count: a null manager's handles hold nothing of it.
  constexpr void set_outlived_handler(outlived_handler, void* = nullptr) noexcept {}
};

}  // namespace rcmgr
