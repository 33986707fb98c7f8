// result<T>: a value or an rcmgr::error, usable without exceptions (a small std::expected).
#pragma once

#include <cstdio>
#include <cstdlib>
#include <new>
#include <string>
#include <type_traits>
#include <utility>

#include "rcmgr/detail/platform.hpp"
#include "rcmgr/errors.hpp"

namespace rcmgr {

namespace detail {
[[noreturn]] inline void bad_result_access(const char* what) noexcept {
  // Reached only by a caller bug (value() of an error, error() of a value). We cannot throw
  // under -fno-exceptions, and carrying on would use garbage, so stop loudly.
#if RCMGR_BARE_METAL
  (void)what;
  __builtin_trap();  // a fault the firmware's handler reports; stderr would need stdio and a heap
#else
  std::fputs("rcmgr: ", stderr);
  std::fputs(what, stderr);
  std::fputc('\n', stderr);
  std::abort();
#endif
}
/// value() of a result holding an error: says so, prints the error held (which scope refused
/// what, as `operator<<` writes it), and aborts.
[[noreturn, gnu::cold]] inline void bad_value_access(const error& e) noexcept {
#if RCMGR_BARE_METAL
  (void)e;
  __builtin_trap();  // as bad_result_access: no stderr (stdio, heap) on bare metal
#else
  std::fputs("rcmgr: value() called on a result holding an error: ", stderr);
  const std::string line = e.message();
  std::fputs(line.c_str(), stderr);
  std::fputc('\n', stderr);
  std::abort();
#endif
}
}  // namespace detail

/// Holds either a T or an error. `if (r)` tests for a value; `*r` / `r->` reach it.
template <class T>
class [[nodiscard]] result {
  static_assert(!std::is_reference_v<T>, "result<T&> is not supported");

 public:
  using value_type = T;

  template <class U = T>
    requires std::is_constructible_v<T, U&&>
  result(U&& v) noexcept(std::is_nothrow_constructible_v<T, U&&>) : ok_(true) {  // NOLINT: implicit by design
    ::new (static_cast<void*>(&val_)) T(std::forward<U>(v));
  }
  result(const rcmgr::error& e) noexcept : ok_(false) { ::new (static_cast<void*>(&err_)) rcmgr::error(e); }  // NOLINT
  result(result&& o) noexcept(std::is_nothrow_move_constructible_v<T>) : ok_(o.ok_) {
    if (ok_) ::new (static_cast<void*>(&val_)) T(std::move(o.val_));
    else ::new (static_cast<void*>(&err_)) rcmgr::error(o.err_);
  }
  result& operator=(result&& o) noexcept(std::is_nothrow_move_constructible_v<T>) {
    if (this != &o) {
      destroy();
      ok_ = o.ok_;
      if (ok_) ::new (static_cast<void*>(&val_)) T(std::move(o.val_));
      else ::new (static_cast<void*>(&err_)) rcmgr::error(o.err_);
    }
    return *this;
  }
  result(const result&) = delete;
  result& operator=(const result&) = delete;
  ~result() { destroy(); }

  bool has_value() const noexcept { return ok_; }
  explicit operator bool() const noexcept { return ok_; }

  /// The value. On a result holding an error this is a caller bug: the error is printed to
  /// stderr and the program aborts.
  T& value() & noexcept { check_value(); return val_; }
  const T& value() const& noexcept { check_value(); return val_; }
  T&& value() && noexcept { check_value(); return std::move(val_); }
  T& operator*() & noexcept { return value(); }
  T&& operator*() && noexcept { return std::move(*this).value(); }
  const T& operator*() const& noexcept { return value(); }
  T* operator->() noexcept { return &value(); }
  const T* operator->() const noexcept { return &value(); }

  const rcmgr::error& error() const noexcept {
    check(!ok_, "error() called on a result holding a value");
    return err_;
  }

 private:
  static void check(bool c, const char* what) noexcept {
    if (!c) detail::bad_result_access(what);
  }
  void check_value() const noexcept {
    if (!ok_) detail::bad_value_access(err_);
  }
  void destroy() noexcept {
    if (ok_) val_.~T();
    else err_.rcmgr::error::~error();
  }
  union {
    T val_;
    rcmgr::error err_;
  };
  bool ok_;
};

/// result<void>: success, or an error. The error is only constructed on failure, so returning
/// success costs one byte of state (this is the return type of every reservation).
template <>
class [[nodiscard]] result<void> {
 public:
  using value_type = void;
  constexpr result() noexcept : dummy_{}, ok_(true) {}
  result(const rcmgr::error& e) noexcept : ok_(false) { ::new (static_cast<void*>(&err_)) rcmgr::error(e); }  // NOLINT
  result(const result& o) noexcept : dummy_{}, ok_(o.ok_) {
    if (!ok_) ::new (static_cast<void*>(&err_)) rcmgr::error(o.err_);
  }
  result& operator=(const result& o) noexcept {
    if (this != &o) {
      ok_ = o.ok_;
      if (!ok_) ::new (static_cast<void*>(&err_)) rcmgr::error(o.err_);
    }
    return *this;
  }
  ~result() = default;  // rcmgr::error is trivially destructible
  bool has_value() const noexcept { return ok_; }
  explicit operator bool() const noexcept { return ok_; }
  /// Nothing; on a result holding an error, prints the error to stderr and aborts.
  void value() const noexcept {
    if (!ok_) detail::bad_value_access(err_);
  }
  const rcmgr::error& error() const noexcept {
    if (ok_) detail::bad_result_access("error() called on a result holding a value");
    return err_;
  }

 private:
  union {
    char dummy_;
    rcmgr::error err_;
  };
  bool ok_;
};

}  // namespace rcmgr
