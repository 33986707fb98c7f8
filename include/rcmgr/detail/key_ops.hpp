// What the engine does with a key that does not depend on the manager: its text (for names),
// a hash for the per-key limit maps, and equality across key types (text against text).
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <type_traits>

namespace rcmgr {
namespace detail {

/// Calls f with the text form of a key. A std::string exists only for keys that need
/// to_string(): naming a scope in an error then uses no string at all for kinds without keys or
/// with text keys, and a firmware that never allocates does not even link operator delete.
template <class Key, class F>
void with_key_text(const Key& k, F&& f) {
  if constexpr (std::is_convertible_v<const Key&, std::string_view>) {
    f(std::string_view(k));
  } else {
    const std::string buf = to_string(k);
    f(std::string_view(buf));
  }
}

/// Hashes any key type; string-like keys hash as their text so that a lookup by
/// std::string_view finds a std::string or peer_id key without building one.
struct any_key_hash {
  using is_transparent = void;
  template <class Key>
  std::size_t operator()(const Key& k) const noexcept {
    if constexpr (std::is_convertible_v<const Key&, std::string_view>) return std::hash<std::string_view>{}(std::string_view(k));
    else return std::hash<Key>{}(k);
  }
};
template <class A, class B>
bool keys_equal(const A& a, const B& b) noexcept {
  if constexpr (std::is_convertible_v<const A&, std::string_view> && std::is_convertible_v<const B&, std::string_view>)
    return std::string_view(a) == std::string_view(b);
  else return a == b;
}

}  // namespace detail
}  // namespace rcmgr
