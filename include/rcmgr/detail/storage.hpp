// What a storage policy means to the engine: the table of a keyed or view kind, the store its
// nodes come from, the store of each per-object kind and of spans, and how keys are stored.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <mutex>
#include <ostream>
#include <string_view>
#include <type_traits>

#include "rcmgr/detail/key_table.hpp"
#include "rcmgr/detail/node_pool.hpp"
#include "rcmgr/policies.hpp"

namespace rcmgr {

/// A string key stored inline (static_storage): up to Cap bytes of text, no heap. Reads like a
/// std::string_view; compare it with ==, convert it with str() or std::string(key.str()).
template <std::size_t Cap>
class inline_key {
 public:
  static constexpr std::size_t capacity = Cap;  ///< bytes of text

  constexpr inline_key() noexcept = default;
  /// Precondition: s.size() <= Cap (the engine checks it and refuses longer keys).
  explicit inline_key(std::string_view s) noexcept : len_(static_cast<std::uint16_t>(s.size() < Cap ? s.size() : Cap)) {
    std::memcpy(buf_, s.data(), len_);
  }
  constexpr std::string_view str() const noexcept { return {buf_, len_}; }
  constexpr operator std::string_view() const noexcept { return str(); }  // NOLINT: a key is text
  constexpr std::size_t size() const noexcept { return len_; }
  constexpr bool empty() const noexcept { return len_ == 0; }
  friend constexpr bool operator==(const inline_key& a, std::string_view b) noexcept { return a.str() == b; }
  friend constexpr bool operator==(const inline_key& a, const inline_key& b) noexcept { return a.str() == b.str(); }
  friend std::ostream& operator<<(std::ostream& os, const inline_key& k) { return os << k.str(); }

 private:
  char buf_[Cap] = {};
  std::uint16_t len_ = 0;
};

namespace detail {

/// A store used by several threads at once, behind the policy's mutex (null_mutex when
/// single-threaded: no cost).
template <class Store, class Mutex>
class locked_store {
 public:
  void* allocate() noexcept {
    std::lock_guard lk(mu_);
    return s_.allocate();
  }
  void deallocate(void* p) noexcept {
    std::lock_guard lk(mu_);
    s_.deallocate(p);
  }
  void trim() noexcept {
    std::lock_guard lk(mu_);
    s_.trim();
  }
  pool_stats stats() const noexcept {
    std::lock_guard lk(mu_);
    return s_.stats();
  }

 private:
  Store s_;
  mutable Mutex mu_;
};

template <class T>
inline constexpr bool string_like = std::is_convertible_v<const T&, std::string_view>;

/// The storage policy P (a policy_set) as the engine uses it.
template <class P>
struct storage_traits {
  using policy = typename storage_of<P>::type;
  static constexpr storage_mode mode = policy::mode;
  static constexpr std::size_t capacity = policy::capacity;
  static constexpr bool concurrent = P::concurrent;

  /// The table of a keyed or view kind with nodes of type Node.
  /// Inline table slots (static_storage): at most half full.
  static constexpr std::size_t inline_slots = mode == storage_mode::inline_ ? pow2_at_least(2 * capacity) : 0;
  template <class Node>
  using table = key_table<Node, inline_slots, mode == storage_mode::bounded>;
  /// The store of a keyed or view kind's nodes (used under the kind's table lock).
  template <class Node>
  using shared_store = std::conditional_t<mode == storage_mode::inline_, static_slots<Node, capacity>, node_pool<Node>>;
  /// The store of a per-object kind's nodes, or of spans (used from any thread).
  template <class Node>
  using object_store = std::conditional_t<mode == storage_mode::inline_, locked_store<static_slots<Node, capacity>, typename P::mutex>,
                                          std::conditional_t<concurrent, sharded_pool<Node>, node_pool<Node>>>;

  /// How a key of type Key is stored in its node: string keys whose copy would allocate
  /// (std::string) are kept inline under static_storage; every other key as itself.
  template <class Key>
  using stored_key = std::conditional_t<mode == storage_mode::inline_ && string_like<Key> && !std::is_trivially_copyable_v<Key>,
                                        inline_key<(policy::key_capacity > 0 ? policy::key_capacity : 1)>, Key>;
  /// Whether a key of type Key must fit key_capacity bytes.
  template <class Key>
  static constexpr bool length_checked = !std::is_same_v<stored_key<Key>, Key>;
};

}  // namespace detail
}  // namespace rcmgr
