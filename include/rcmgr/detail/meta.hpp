// Small metaprogramming helpers. Hana is used only here and in the traversal generator, at the
// type <-> index boundary; everything computed about a topology is computed on integers.
#pragma once

#include <boost/hana/basic_tuple.hpp>
#include <boost/hana/equal.hpp>
#include <boost/hana/index_if.hpp>
#include <boost/hana/optional.hpp>
#include <boost/hana/type.hpp>
#include <cstddef>
#include <string_view>
#include <type_traits>
#include <utility>

namespace rcmgr::detail {

template <class...>
struct type_list {};

template <class T>
inline constexpr bool always_false = false;

/// Index of T in Ts..., or -1. Hana's index_if answers with an optional integral constant.
template <class T, class... Ts>
constexpr int index_of() noexcept {
  namespace hana = boost::hana;
  constexpr auto found =
      hana::index_if(hana::make_basic_tuple(hana::type_c<Ts>...), hana::equal.to(hana::type_c<T>));
  if constexpr (hana::is_just(found)) return static_cast<int>(std::remove_cvref_t<decltype(*found)>::value);
  else return -1;
}

template <std::size_t I, class... Ts>
using nth = std::tuple_element_t<I, std::tuple<Ts...>>;

/// Unqualified name of a type, known at compile time ("peer_scope" for rcmgr::libp2p::peer_scope).
template <class T>
constexpr std::string_view type_name() noexcept {
#if defined(__clang__) || defined(__GNUC__)
  std::string_view p = __PRETTY_FUNCTION__;
  auto b = p.find("T = ");
  if (b == std::string_view::npos) return "scope";
  p.remove_prefix(b + 4);
  auto e = p.find_first_of(";]");
  p = p.substr(0, e);
#else
  std::string_view p = "scope";
#endif
  // drop template arguments and namespaces
  if (auto lt = p.find('<'); lt != std::string_view::npos) p = p.substr(0, lt);
  if (auto c = p.rfind("::"); c != std::string_view::npos) p.remove_prefix(c + 2);
  return p;
}

/// The name a kind shows in messages: K::name if declared, else its type name without "_scope".
template <class K>
constexpr std::string_view kind_name() noexcept {
  if constexpr (requires { std::string_view{K::name}; }) {
    return K::name;
  } else {
    std::string_view n = type_name<K>();
    constexpr std::string_view suffix = "_scope";
    if (n.size() > suffix.size() && n.substr(n.size() - suffix.size()) == suffix) n.remove_suffix(suffix.size());
    return n;
  }
}

}  // namespace rcmgr::detail
