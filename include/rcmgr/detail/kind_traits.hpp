// The scope<...> declaration and what can be read off a scope kind.
#pragma once

#include <cstdint>
#include <type_traits>

#include "rcmgr/detail/meta.hpp"
#include "rcmgr/keys.hpp"
#include "rcmgr/limits.hpp"
#include "rcmgr/resources.hpp"

namespace rcmgr {

// ---- options of rcmgr::scope<...> -------------------------------------------------------------

/// Shape: exactly one instance, owned by the manager (libp2p's system and transient scopes).
struct singleton {};

/// Lifetime of keyed scopes: removed as soon as nothing refers to them and they hold nothing.
struct collect_when_idle {};
/// Lifetime of keyed scopes: kept until the manager is destroyed. For kinds whose keys are not
/// chosen by remote parties (services, protocols: only locally registered ids get scopes).
struct retain {};

/// Shape: one instance per key (peers by peer id, protocols by protocol id, ...).
template <class Key, class Lifetime = collect_when_idle>
struct keyed_by {
  static_assert(scope_key<Key>,
                "rcmgr::keyed_by<Key>: Key must be hashable (std::hash), equality comparable, copyable, and "
                "convertible to std::string_view or printable with an ADL to_string(key)");
  static_assert(std::is_same_v<Lifetime, collect_when_idle> || std::is_same_v<Lifetime, retain>,
                "rcmgr::keyed_by<Key, Lifetime>: Lifetime is rcmgr::collect_when_idle or rcmgr::retain");
  using key_type = Key;
  using lifetime = Lifetime;
};

/// Shape: one instance per pair of scopes of kinds A and B (libp2p's per-peer view of a protocol:
/// view_of<protocol_scope, peer_scope>). Per-key limit overrides of a view are keyed by A's key.
template <class A, class B>
struct view_of {
  using first = A;
  using second = B;
};

/// Shape (the default): one instance per open(), owned by the returned handle (connections,
/// streams). Opening reserves one connection if the kind accounts connections, else one stream
/// if it accounts streams.
struct per_object {};

/// The limit type of a kind (default: rcmgr::limit, runtime values).
template <class L>
struct limited_by {
  static_assert(scope_limit<L>, "rcmgr::limited_by<L>: L must model rcmgr::scope_limit (memory_limit(), "
                                "stream_limit(dir), stream_total_limit(), conn_limit(dir), conn_total_limit(), fd_limit())");
  using type = L;
};

/// Option of per-object kinds: every scope of the kind carries a T, set when it is opened
/// (basic_resource_manager::open_carrying) and readable through its handle. T may declare
///   void on_end() noexcept          called once, when the scope ends or its open fails;
///   bool take_alternative() noexcept asked when the regular scopes refuse the open of a kind
///                                   with instead_of<> edges: true retries in the alternative ones;
///   template <class P, class... Key> bool keep_alternative(const Key&...) noexcept
///                                   asked before set<P>(key) on a scope in its alternative
///                                   scopes: false moves it to the regular ones first.
/// Connection gating uses it to remember the remote address of a connection.
template <class T>
struct carries {
  using type = T;
};
/// What a kind without carries<T> carries: nothing (an empty member that takes no space).
struct no_carry {};

enum class kind_shape : std::uint8_t { singleton, keyed, view, per_object };

namespace detail {
template <class T> struct shape_of_option { static constexpr int value = -1; };
template <> struct shape_of_option<singleton> { static constexpr int value = int(kind_shape::singleton); };
template <class K, class L> struct shape_of_option<keyed_by<K, L>> { static constexpr int value = int(kind_shape::keyed); };
template <class A, class B> struct shape_of_option<view_of<A, B>> { static constexpr int value = int(kind_shape::view); };
template <> struct shape_of_option<per_object> { static constexpr int value = int(kind_shape::per_object); };

template <class T> struct is_accounts : std::false_type {};
template <resource... Rs> struct is_accounts<accounts<Rs...>> : std::true_type {};
template <class T> struct is_limited_by : std::false_type {};
template <class L> struct is_limited_by<limited_by<L>> : std::true_type {};
template <class T> struct is_carries : std::false_type {};
template <class T> struct is_carries<carries<T>> : std::true_type {};

template <class Opt>
inline constexpr bool known_option =
    shape_of_option<Opt>::value >= 0 || is_accounts<Opt>::value || is_limited_by<Opt>::value || is_carries<Opt>::value;

template <class Default, class... Opts>
struct first_shape { using type = Default; };
template <class Default, class O, class... Opts>
struct first_shape<Default, O, Opts...>
    : std::conditional_t<(shape_of_option<O>::value >= 0), std::type_identity<O>, first_shape<Default, Opts...>> {};

template <class Default, class... Opts>
struct first_accounts { using type = Default; };
template <class Default, class O, class... Opts>
struct first_accounts<Default, O, Opts...>
    : std::conditional_t<is_accounts<O>::value, std::type_identity<O>, first_accounts<Default, Opts...>> {};

template <class Default, class... Opts>
struct first_limit { using type = Default; };
template <class Default, class O, class... Opts>
struct first_limit<Default, O, Opts...>
    : std::conditional_t<is_limited_by<O>::value, std::type_identity<O>, first_limit<Default, Opts...>> {};

template <class Default, class... Opts>
struct first_carries { using type = Default; };
template <class Default, class O, class... Opts>
struct first_carries<Default, O, Opts...>
    : std::conditional_t<is_carries<O>::value, std::type_identity<O>, first_carries<Default, Opts...>> {};
}  // namespace detail

/// Base of every scope kind. Options, in any order, each at most once:
///   shape      singleton | keyed_by<Key[, Lifetime]> | view_of<A, B> | per_object (default)
///   accounts   accounts<resource...> (default: every resource)
///   limit      limited_by<L> (default: rcmgr::limit)
///   carries<T> per-object kinds only: data each scope carries (default: nothing)
/// A kind may also declare `static constexpr std::string_view name` (default: its type name
/// without "_scope") and a member template `methods<Handle>` whose members are added to every
/// handle and reference of the kind (this is how the libp2p kinds get set_peer, set_protocol...).
template <class... Opts>
struct scope {
  static_assert((detail::known_option<Opts> && ...),
                "rcmgr::scope<...>: unknown option; options are a shape (singleton, keyed_by<K>, view_of<A,B>, "
                "per_object), accounts<resource...> and limited_by<L>");
  static_assert((0 + ... + int(detail::shape_of_option<Opts>::value >= 0)) <= 1,
                "rcmgr::scope<...>: give at most one shape option");
  static_assert((0 + ... + int(detail::is_accounts<Opts>::value)) <= 1, "rcmgr::scope<...>: give accounts<...> once");
  static_assert((0 + ... + int(detail::is_limited_by<Opts>::value)) <= 1, "rcmgr::scope<...>: give limited_by<L> once");
  static_assert((0 + ... + int(detail::is_carries<Opts>::value)) <= 1, "rcmgr::scope<...>: give carries<T> once");

  using rcmgr_shape_option = typename detail::first_shape<per_object, Opts...>::type;
  using rcmgr_accounts_option = typename detail::first_accounts<accounts_all, Opts...>::type;
  using rcmgr_limit_type = typename detail::first_limit<limited_by<limit>, Opts...>::type::type;
  using rcmgr_carried_type = typename detail::first_carries<carries<no_carry>, Opts...>::type::type;

  /// Extra members for handles of this kind; hide it in a derived kind to add named methods.
  template <class Handle>
  struct methods {};
};

/// True for scope kinds: types derived from rcmgr::scope<...>.
template <class K>
concept scope_kind = requires {
  typename K::rcmgr_shape_option;
  typename K::rcmgr_accounts_option;
  typename K::rcmgr_limit_type;
};

// ---- edge bindings --------------------------------------------------------------------------
struct at_open {};
struct late {};
template <class Q> struct after {};
template <class Q> struct until {};
/// `edge<Child, Alt, instead_of<Primary>>` (Child per-object, Alt and Primary singletons): a
/// Child scope may be opened in its *alternative* scopes, where everything it would charge to
/// Primary is charged to Alt instead. It is tried when the regular scopes refuse the open and
/// the scope's carried data agrees (carries<T>, take_alternative()). libp2p's allowlist is
/// `edge<connection, allowlisted_transient, instead_of<transient>>` plus the same for system.
template <class Primary> struct instead_of {};

/// A span: a per-object scope opened on any scope (its owner) by begin_span(). It accounts
/// memory only and reserves through its owner. Nested spans are spans of spans.
template <class Owner>
struct span_of : scope<per_object, accounts<resource::memory>, limited_by<unlimited_limit>> {
  using owner = Owner;
  static constexpr std::string_view name = "span";
};

namespace detail {
template <class T> struct is_span : std::false_type {};
template <class O> struct is_span<span_of<O>> : std::true_type {};

template <class K>
struct kind_traits {
  using shape_option = typename K::rcmgr_shape_option;
  static constexpr kind_shape shape = kind_shape(shape_of_option<shape_option>::value);
  static constexpr resource_set accounted = K::rcmgr_accounts_option::set;
  using limit_type = typename K::rcmgr_limit_type;
  static constexpr bool constant_limit = rcmgr::constant_limit<limit_type>;
  static constexpr bool mutable_limit = std::is_same_v<limit_type, limit>;
  static constexpr std::string_view name = kind_name<K>();
  static constexpr bool is_span = detail::is_span<K>::value;
  using carried = typename K::rcmgr_carried_type;
};

template <class K, class = void>
struct key_of { using type = void; };
template <class K>
  requires(kind_traits<K>::shape == kind_shape::keyed)
struct key_of<K> { using type = typename kind_traits<K>::shape_option::key_type; };

template <class K>
struct lifetime_retains : std::false_type {};
template <class K>
  requires(kind_traits<K>::shape == kind_shape::keyed)
struct lifetime_retains<K> : std::is_same<typename kind_traits<K>::shape_option::lifetime, retain> {};

/// The key used for per-key limit overrides: the key of keyed kinds, the first component's key
/// for views, none (void) otherwise.
template <class K>
struct override_key_of { using type = void; };
template <class K>
  requires(kind_traits<K>::shape == kind_shape::keyed)
struct override_key_of<K> { using type = typename key_of<K>::type; };
template <class K>
  requires(kind_traits<K>::shape == kind_shape::view)
struct override_key_of<K> { using type = typename key_of<typename kind_traits<K>::shape_option::first>::type; };
}  // namespace detail

/// The key type of a keyed kind.
template <class K>
using key_type_of = typename detail::key_of<K>::type;

}  // namespace rcmgr
