// rcmgr::scope_memory_resource: a std::pmr::memory_resource that charges a scope for every
// allocation, so standard containers (std::pmr::vector, std::pmr::string, ...) and buffers built
// on them are accounted without hand-written bookkeeping.
//
//   std::pmr::memory_resource::allocate must return memory or throw (it may not return null):
//   scope_memory_resource throws std::bad_alloc when the scope refuses, and keeps the refusal in
//   last_error(). Its try_allocate() is the no-exceptions path: it returns null instead, for code
//   that checks (and for builds without exceptions, where a refusal inside allocate() aborts).
//
// Each allocation is charged its requested size in bytes (not rounded up to the alignment); the
// upstream resource's own bookkeeping is not charged. The resource holds a memory_reservation on
// the scope, so the scope's handle may be moved; if the scope ends first, allocations fail with
// errc::scope_closed and deallocations still return memory upstream.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory_resource>
#include <new>

#include "rcmgr/errors.hpp"
#include "rcmgr/memory_reservation.hpp"
#include "rcmgr/resources.hpp"

namespace rcmgr {

namespace detail {
class basic_scope_memory_resource : public std::pmr::memory_resource {
 public:
  /// Charges `scope` at priority `prio`; memory comes from `upstream`.
  template <::rcmgr::reservable_scope S>
  explicit basic_scope_memory_resource(const S& scope, std::uint8_t prio = priority::always,
                                       std::pmr::memory_resource* upstream = std::pmr::new_delete_resource()) noexcept
      : charged_(scope), upstream_(upstream), prio_(prio) {}
  basic_scope_memory_resource(const basic_scope_memory_resource&) = delete;
  basic_scope_memory_resource& operator=(const basic_scope_memory_resource&) = delete;
  /// Memory still allocated from it stays charged until the resource goes: destroy the
  /// containers first, as with any memory resource.
  ~basic_scope_memory_resource() override = default;

  /// The last refusal (scope, resource, numbers); meaningful when has_error().
  const error& last_error() const noexcept { return last_error_; }
  /// True once an allocation was refused, until clear_error().
  bool has_error() const noexcept { return has_error_; }
  void clear_error() noexcept { has_error_ = false; }
  /// Bytes this resource has charged and not yet given back.
  std::int64_t charged() const noexcept { return charged_.size(); }
  std::uint8_t priority_level() const noexcept { return prio_; }
  std::pmr::memory_resource* upstream_resource() const noexcept { return upstream_; }

 protected:
  /// Charges, then allocates; null (and last_error()) on refusal, nothing charged.
  void* charge_and_allocate(std::size_t bytes, std::size_t align) noexcept {
    if (bytes > std::size_t(INT64_MAX)) {
      last_error_ = error{};
      last_error_.code = errc::invalid_argument;
      last_error_.detail = "allocation larger than INT64_MAX bytes";
      has_error_ = true;
      return nullptr;
    }
    if (auto r = charged_.grow(std::int64_t(bytes), prio_); !r) {
      last_error_ = r.error();
      has_error_ = true;
      return nullptr;
    }
    void* p = nullptr;
#if defined(__cpp_exceptions)
    try {
      p = upstream_->allocate(bytes, align);
    } catch (...) {
      p = nullptr;
    }
#else
    p = upstream_->allocate(bytes, align);
#endif
    if (p == nullptr) {
      charged_.shrink(std::int64_t(bytes));
      last_error_ = error{};
      last_error_.code = errc::out_of_memory;
      last_error_.detail = "the upstream memory resource failed";
      has_error_ = true;
    }
    return p;
  }
  void do_deallocate(void* p, std::size_t bytes, std::size_t align) override {
    upstream_->deallocate(p, bytes, align);
    charged_.shrink(std::int64_t(bytes));
  }
  bool do_is_equal(const std::pmr::memory_resource& o) const noexcept override { return this == &o; }

 private:
  memory_reservation charged_;  ///< bytes allocated through this resource and not yet freed
  std::pmr::memory_resource* upstream_;
  std::uint8_t prio_;
  bool has_error_ = false;
  error last_error_{};
};
}  // namespace detail

/// Charges a scope for each allocation. Used by one thread at a time.
class scope_memory_resource : public detail::basic_scope_memory_resource {
 public:
  using basic_scope_memory_resource::basic_scope_memory_resource;

  /// The no-exceptions path: memory, or null when the scope refuses (the reason in last_error()).
  /// Give the memory back with deallocate(p, bytes, align).
  [[nodiscard]] void* try_allocate(std::size_t bytes, std::size_t align = alignof(std::max_align_t)) noexcept {
    return charge_and_allocate(bytes, align);
  }

 protected:
  /// allocate() may not return null: a refusal throws std::bad_alloc. Built without exceptions,
  /// a refusal there aborts; such code calls try_allocate() instead.
  void* do_allocate(std::size_t bytes, std::size_t align) override {
    void* p = charge_and_allocate(bytes, align);
    if (p == nullptr) {
#if defined(__cpp_exceptions)
      throw std::bad_alloc();
#else
      std::abort();
#endif
    }
    return p;
  }
};

}  // namespace rcmgr
