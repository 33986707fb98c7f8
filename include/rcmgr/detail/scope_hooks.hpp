// The switch and the argument types of the per-kind hooks of the engine (carries<T> data set at
// open, instead_of<> alternatives): separate so that a session can be compiled without them
// (RCMGR_DETAIL_WITHOUT_SCOPE_HOOKS) and compared with one compiled with them (tests/codegen).
#pragma once

#include <type_traits>

namespace rcmgr {
namespace detail {

// The hooks of carries<T> and instead_of<> (connection gating) are all `if constexpr` on the
// kind, so a kind without them compiles as if they did not exist. tests/codegen checks it by
// compiling a session with RCMGR_DETAIL_WITHOUT_SCOPE_HOOKS (which removes them) and without,
// and requiring the same bytes.
#ifdef RCMGR_DETAIL_WITHOUT_SCOPE_HOOKS
inline constexpr bool scope_hooks = false;
#else
inline constexpr bool scope_hooks = true;
#endif

/// The data of open_carrying, passed to open() as its only argument.
template <class T>
struct carry_init {
  T* data;
};
/// The data of open_filling: a callable that fills the node's data in place (see open_filling).
template <class F>
struct carry_fill {
  F* fill;
};
template <class T>
struct is_carry_init : std::false_type {};
template <class T>
struct is_carry_init<carry_init<T>> : std::true_type {};
template <class F>
struct is_carry_init<carry_fill<F>> : std::true_type {};
template <class T>
struct is_carry_fill : std::false_type {};
template <class F>
struct is_carry_fill<carry_fill<F>> : std::true_type {};

}  // namespace detail
}  // namespace rcmgr
