// Which keys may name a keyed scope. Distinct keys must be distinct scopes, so a key that cannot
// be stored exactly is refused (errc::invalid_argument), never shortened. Two sources of rules:
//  - the key type: a type with a `problem()` member returning rcmgr::key_problem (rcmgr::peer_id
//    refuses empty ids and ids longer than it holds) is asked;
//  - the kind: a kind declaring `static constexpr std::size_t max_key_size` refuses keys whose
//    text form is empty or longer than that many bytes (libp2p's protocol and service scopes).
#pragma once

#include <concepts>
#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>

#include "rcmgr/detail/kind_traits.hpp"
#include "rcmgr/errors.hpp"
#include "rcmgr/keys.hpp"

namespace rcmgr::detail {

template <class Key>
concept key_with_rules = requires(const Key& k) {
  { k.problem() } -> std::convertible_to<key_problem>;
};

template <class K>
concept kind_with_key_bound = requires {
  { K::max_key_size } -> std::convertible_to<std::size_t>;
};

/// Text form of a key, for messages.
template <class Key>
std::string_view key_text(const Key& k, std::string& buf) {
  if constexpr (std::is_convertible_v<const Key&, std::string_view>) {
    (void)buf;
    return std::string_view(k);
  } else {
    buf = to_string(k);
    return buf;
  }
}

constexpr std::uint32_t clamp_u32(std::size_t n) noexcept { return n > 0xffffffffu ? 0xffffffffu : static_cast<std::uint32_t>(n); }

/// What is wrong with `arg` as a key of keyed kind K (arg is a K key, or what one is built from).
template <class K, class Arg>
constexpr key_problem key_problem_of(const Arg& arg) noexcept {
  using Key = typename key_of<K>::type;
  using A = std::remove_cvref_t<Arg>;
  key_problem p{};
  if constexpr (key_with_rules<Key>) {
    if constexpr (std::is_same_v<A, Key>) p = arg.problem();
    else if constexpr (std::is_nothrow_constructible_v<Key, const Arg&>) p = Key(arg).problem();
    if (p) return p;
  }
  if constexpr (kind_with_key_bound<K> && std::is_convertible_v<const Arg&, std::string_view>) {
    const std::string_view s(arg);
    if (s.empty()) return {"empty key", 0, 0};
    if (s.size() > std::size_t{K::max_key_size}) return {"key", clamp_u32(s.size()), clamp_u32(K::max_key_size)};
  }
  return p;
}

/// The kind whose keys key K's per-key limits: K itself, or a view's first component.
template <class K>
struct override_key_kind {
  using type = K;
};
template <class K>
  requires(kind_traits<K>::shape == kind_shape::view)
struct override_key_kind<K> {
  using type = typename kind_traits<K>::shape_option::first;
};

/// The error for a refused key: invalid_argument naming the kind (not the key, which may be
/// huge), e.g. "peer invalid argument: peer id of 120 bytes exceeds the 79-byte maximum".
inline error key_error(std::string_view kind, const key_problem& p) noexcept {
  error e;
  e.code = errc::invalid_argument;
  e.scope = scope_name(kind);
  e.detail = p.what;
  e.attempted = p.size;
  e.limit_value = p.max;
  return e;
}

}  // namespace rcmgr::detail
