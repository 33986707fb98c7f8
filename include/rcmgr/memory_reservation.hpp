// rcmgr::memory_reservation: bytes reserved on a scope, released when the reservation goes away.
//
// The shape of Seastar's semaphore_units or gRPC's MemoryAllocator reservation: a move-only
// value that owns an amount of memory in one scope (and, through it, every scope that scope is
// charged to). A buffer that holds one next to its storage cannot forget to give the bytes back.
//
// It refers to the scope's *node*, not to the handle the caller passed: binding takes a reference
// on the node (the same count that spans and owned children hold), so moving, swapping or
// destroying the handle afterwards cannot leave the reservation pointing at nothing. If the scope
// ends first (done(), or its handle is destroyed), the scope's end already released everything it
// held; the reservation then keeps only the node alive, further growth fails with
// errc::scope_closed, and shrinking or destroying it changes no counter.
#pragma once

#include <cstdint>
#include <type_traits>
#include <utility>

#include "rcmgr/errors.hpp"
#include "rcmgr/null_manager.hpp"
#include "rcmgr/resources.hpp"
#include "rcmgr/result.hpp"
#include "rcmgr/scope_handle.hpp"

namespace rcmgr {

namespace detail {
/// What a reservation needs from the scope it is bound to, for one (Core, kind) pair. One
/// constant table per pair: the reservation stays a single type whatever scope it is bound to.
struct reservation_ops {
  result<void> (*reserve)(void* core, void* node, std::int64_t bytes, std::uint8_t prio) noexcept;
  void (*release)(void* core, void* node, std::int64_t bytes) noexcept;
  void (*add_ref)(void* core, void* node) noexcept;
  void (*drop_ref)(void* core, void* node) noexcept;
  /// True once the scope has ended (per-object scopes); shared scopes never end.
  bool (*ended)(const void* node) noexcept;
  std::string_view kind;
};

template <class Core, class K>
struct reservation_ops_for {
  using node_type = node<Core, K>;
  static result<void> reserve(void* c, void* n, std::int64_t b, std::uint8_t p) noexcept {
    return static_cast<Core*>(c)->template reserve_memory<K>(*static_cast<node_type*>(n), b, p);
  }
  static void release(void* c, void* n, std::int64_t b) noexcept {
    static_cast<Core*>(c)->template release_memory<K>(*static_cast<node_type*>(n), b);
  }
  static void add_ref(void* c, void* n) noexcept { static_cast<Core*>(c)->template add_ref<K>(static_cast<node_type*>(n)); }
  static void drop_ref(void* c, void* n) noexcept {
    static_cast<Core*>(c)->template release_owner<K>(static_cast<node_type*>(n));
  }
  static bool ended(const void* n) noexcept { return chain_ended<K>(static_cast<const node_type*>(n)); }
  /// A per-object scope has ended when it is done or an owner up its chain is.
  template <class J>
  static bool chain_ended(const node<Core, J>* n) noexcept {
    if constexpr (!is_per_object<J>) {
      return (void)n, false;
    } else if constexpr (kind_traits<J>::is_span) {
      return n->done || n->owner == nullptr || chain_ended<typename J::owner>(n->owner);
    } else {
      return n->done || Core::template owner_chain_ended<J>(*n);
    }
  }
  static constexpr reservation_ops table{&reserve, &release, &add_ref, &drop_ref, &ended, kind_traits<K>::name};
};

/// The null manager's scopes: every growth succeeds, nothing is counted.
struct null_reservation_ops {
  static result<void> reserve(void*, void*, std::int64_t b, std::uint8_t) noexcept {
    if (b < 0) {
      error e;
      e.code = errc::invalid_argument;
      e.detail = "cannot reserve a negative amount of memory";
      return e;
    }
    return {};
  }
  static void release(void*, void*, std::int64_t) noexcept {}
  static void add_ref(void*, void*) noexcept {}
  static void drop_ref(void*, void*) noexcept {}
  static bool ended(const void*) noexcept { return false; }
  static constexpr reservation_ops table{&reserve, &release, &add_ref, &drop_ref, &ended, "null"};
};

/// Scopes a reservation can be bound to: a handle or a reference of a real manager, or a null
/// handle or reference.
template <class S>
struct reservable_scope : std::false_type {};
template <class Core, class K>
struct reservable_scope<scope_handle<Core, K>> : std::true_type {};
template <class Core, class K>
struct reservable_scope<scope_ref<Core, K>> : std::true_type {};
template <class K>
struct reservable_scope<null_handle<K>> : std::true_type {};
template <class K>
struct reservable_scope<null_ref<K>> : std::true_type {};
}  // namespace detail

/// A handle, span or reference a memory_reservation can be bound to.
template <class S>
concept reservable_scope = detail::reservable_scope<std::remove_cvref_t<S>>::value;

/// Move-only RAII ownership of `size()` bytes of memory reserved on one scope. Used by one thread
/// at a time (for a connection or stream, the thread that uses its handle).
class memory_reservation {
 public:
  /// Bound to nothing: grow() fails with errc::scope_closed, everything else does nothing.
  memory_reservation() noexcept = default;

  /// Bound to `scope` with 0 bytes; never fails. An empty (moved-from) handle gives an unbound
  /// reservation. The handle may be moved or destroyed afterwards: the reservation holds the
  /// scope itself.
  template <class Core, class K>
  explicit memory_reservation(const scope_handle<Core, K>& scope) noexcept {
    bind<Core, K>(scope.rcmgr_core(), scope.rcmgr_node());
  }
  template <class Core, class K>
  explicit memory_reservation(const scope_ref<Core, K>& scope) noexcept {
    bind<Core, K>(scope.rcmgr_core(), scope.rcmgr_node());
  }
  template <class K>
  explicit memory_reservation(const null_handle<K>&) noexcept : ops_(&detail::null_reservation_ops::table) {}
  template <class K>
  explicit memory_reservation(const null_ref<K>&) noexcept : ops_(&detail::null_reservation_ops::table) {}
  /// A handle about to be destroyed would end its scope, and with it what is reserved here:
  /// binding to a temporary handle is refused at compile time.
  template <class Core, class K>
  explicit memory_reservation(scope_handle<Core, K>&&) = delete;

  /// Reserves `bytes` on `scope` at priority `prio`: the reservation, or why it was refused.
  template <reservable_scope S>
  static result<memory_reservation> reserve(const S& scope, std::int64_t bytes, std::uint8_t prio = priority::always) noexcept {
    memory_reservation m(scope);
    if (auto r = m.grow(bytes, prio); !r) return r.error();
    return m;
  }
  template <class Core, class K>
  static result<memory_reservation> reserve(scope_handle<Core, K>&&, std::int64_t, std::uint8_t = priority::always) = delete;

  memory_reservation(memory_reservation&& o) noexcept
      : ops_(std::exchange(o.ops_, nullptr)), core_(o.core_), node_(std::exchange(o.node_, nullptr)), bytes_(std::exchange(o.bytes_, 0)) {}
  memory_reservation& operator=(memory_reservation&& o) noexcept {
    if (this != &o) {
      reset();
      ops_ = std::exchange(o.ops_, nullptr);
      core_ = o.core_;
      node_ = std::exchange(o.node_, nullptr);
      bytes_ = std::exchange(o.bytes_, 0);
    }
    return *this;
  }
  memory_reservation(const memory_reservation&) = delete;
  memory_reservation& operator=(const memory_reservation&) = delete;
  ~memory_reservation() { reset(); }

  /// Reserves `bytes` more at priority `prio`, all or nothing. On refusal nothing changes and the
  /// error says which scope refused and why.
  result<void> grow(std::int64_t bytes, std::uint8_t prio = priority::always) noexcept {
    if (ops_ == nullptr) return unbound_error();
    auto r = ops_->reserve(core_, node_, bytes, prio);
    if (r) bytes_ += bytes;
    return r;
  }
  /// Gives back `bytes` (at most what is held; a negative amount does nothing).
  void shrink(std::int64_t bytes) noexcept {
    if (bytes <= 0 || ops_ == nullptr) return;
    if (bytes > bytes_) bytes = bytes_;
    bytes_ -= bytes;
    if (bytes != 0) ops_->release(core_, node_, bytes);
  }
  /// Grows or shrinks to exactly `bytes`; growth is at priority `prio`.
  result<void> resize(std::int64_t bytes, std::uint8_t prio = priority::always) noexcept {
    if (bytes >= bytes_) return grow(bytes - bytes_, prio);
    shrink(bytes_ - bytes);
    return {};
  }
  /// Gives back everything; stays bound to the scope.
  void release() noexcept { shrink(bytes_); }
  /// Gives back everything and unbinds.
  void reset() noexcept {
    if (ops_ == nullptr) return;
    release();
    ops_->drop_ref(core_, node_);
    ops_ = nullptr;
    node_ = nullptr;
  }

  /// A new reservation bound to the same scope, holding `bytes` taken from this one (at most what
  /// this one holds). No counter changes.
  memory_reservation split(std::int64_t bytes) noexcept {
    memory_reservation m;
    if (ops_ == nullptr) return m;
    if (bytes < 0) bytes = 0;
    if (bytes > bytes_) bytes = bytes_;
    ops_->add_ref(core_, node_);
    m.ops_ = ops_;
    m.core_ = core_;
    m.node_ = node_;
    m.bytes_ = bytes;
    bytes_ -= bytes;
    return m;
  }
  /// Moves everything `o` holds into this reservation. Both must be bound to the same scope (or
  /// this one unbound); otherwise nothing happens and false is returned.
  bool merge(memory_reservation&& o) noexcept {
    if (&o == this) return true;  // r.merge(std::move(r)): it already holds everything (reset() would give it back)
    if (ops_ == nullptr) {
      *this = std::move(o);
      return true;
    }
    if (o.node_ != node_ || o.ops_ != ops_) return false;
    bytes_ += std::exchange(o.bytes_, 0);
    o.reset();
    return true;
  }

  /// Bytes held (0 once the scope has ended: its end released them).
  std::int64_t size() const noexcept { return scope_ended() ? 0 : bytes_; }
  /// True when bound to a scope (which may have ended since).
  bool bound() const noexcept { return ops_ != nullptr; }
  /// True when bound to a scope that has ended: growth fails with errc::scope_closed.
  bool scope_ended() const noexcept { return ops_ != nullptr && ops_->ended(node_); }
  /// True when both are bound to the same scope.
  bool same_scope(const memory_reservation& o) const noexcept { return ops_ != nullptr && ops_ == o.ops_ && node_ == o.node_; }

 private:
  template <class Core, class K, class N>
  void bind(Core* core, N* n) noexcept {
    if (n == nullptr || core == nullptr) return;
    ops_ = &detail::reservation_ops_for<Core, K>::table;
    core_ = core;
    node_ = n;
    ops_->add_ref(core_, node_);
  }
  error unbound_error() const noexcept {
    error e;
    e.code = errc::scope_closed;
    e.scope = scope_name("reservation");
    e.detail = "the reservation is not bound to a scope (moved from, default-constructed, or made from an empty handle)";
    return e;
  }

  const detail::reservation_ops* ops_ = nullptr;  ///< null: unbound
  void* core_ = nullptr;                          ///< the manager's engine (Core*)
  void* node_ = nullptr;                          ///< the scope (detail::node<Core, K>*), referenced
  std::int64_t bytes_ = 0;                        ///< bytes reserved through this object; never negative
};

}  // namespace rcmgr
