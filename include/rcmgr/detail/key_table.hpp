// The table of a keyed or view kind: node pointers by hash, open addressing with linear probing.
// Each slot caches its node's 64-bit hash, so a probe compares keys only on a full hash match,
// and erasing (by node) never re-hashes a key. Erasure shifts the following entries back
// (no tombstones), so a table that churns does not fill up with dead slots.
//
// Capacity is a power of two. A growable table (hashed_storage) keeps its load at most 3/4,
// doubles when an insert would pass it, and halves (or more) when a table of more than
// min_slots falls below 1/8 full, so the memory of a burst comes back as the burst ends.
// A fixed table (bounded_storage: allocated once at construction; static_storage: a member
// array) never grows or shrinks and is sized for at most half full.
#pragma once

#include <cstddef>
#include <cstdint>
#include <iterator>
#include <new>
#include <type_traits>

#include "rcmgr/detail/node_pool.hpp"

namespace rcmgr::detail {

struct table_entry {
  std::uint64_t hash;
  void* node;  ///< nullptr: empty slot
};

struct empty_slots {};

constexpr std::size_t pow2_at_least(std::size_t n) noexcept {
  std::size_t c = 1;
  while (c < n) c <<= 1;
  return c;
}

/// Where a table's slots live: on the heap (Fixed false: grows and shrinks; Fixed true: sized
/// once at construction), or inside the table (InlineSlots > 0).
template <class Node, std::size_t InlineSlots = 0, bool Fixed = false>
class key_table {
  static constexpr bool inline_slots = InlineSlots > 0;

 public:
  static constexpr std::size_t min_slots = 16;

  /// `max_live`: for fixed tables, the most entries the table will hold (its slots are
  /// allocated now, sized for half that load); ignored for growable ones.
  explicit key_table(std::size_t max_live = 0) {
    if constexpr (inline_slots) {
      (void)max_live;
      slots_ = inline_;
      mask_ = InlineSlots - 1;
      for (auto& e : inline_) e = table_entry{0, nullptr};
    } else if constexpr (Fixed) {
      const std::size_t cap = pow2_at_least(2 * max_live);
      slots_ = static_cast<table_entry*>(::operator new(cap * sizeof(table_entry)));  // throws: constructor
      for (std::size_t i = 0; i < cap; ++i) slots_[i] = table_entry{0, nullptr};
      mask_ = cap - 1;
    } else {
      (void)max_live;
    }
  }
  key_table(const key_table&) = delete;
  key_table& operator=(const key_table&) = delete;
  ~key_table() {
    if constexpr (!inline_slots) {
      if (slots_ != nullptr) heap_free(slots_, capacity() * sizeof(table_entry), alignof(table_entry));
    }
  }

  std::size_t size() const noexcept { return size_; }
  bool empty() const noexcept { return size_ == 0; }
  std::size_t capacity() const noexcept { return slots_ == nullptr ? 0 : mask_ + 1; }
  /// Bytes of heap memory the slots take (0 for inline slots).
  std::size_t heap_bytes() const noexcept { return inline_slots ? 0 : capacity() * sizeof(table_entry); }

  /// The node with hash h for which eq(node) holds, or nullptr. At most size() + 1 probes.
  template <class Eq>
  Node* find(std::uint64_t h, Eq&& eq) const noexcept {
    if (slots_ == nullptr) return nullptr;
    for (std::size_t i = std::size_t(h) & mask_;; i = (i + 1) & mask_) {
      const table_entry& e = slots_[i];
      if (e.node == nullptr) return nullptr;
      if (e.hash == h && eq(*static_cast<Node*>(e.node))) return static_cast<Node*>(e.node);
    }
  }

  /// Makes room for one more entry; false when the slots cannot be grown (allocation failure),
  /// in which case nothing changed. Fixed tables always have room while size() < their limit,
  /// which the engine checks before (the storage policy's cap).
  bool reserve_one() noexcept {
    if constexpr (inline_slots || Fixed) {
      return true;
    } else {
      if (slots_ != nullptr && (size_ + 1) * 4 <= capacity() * 3) return true;
      return rehash(slots_ == nullptr ? min_slots : capacity() * 2);
    }
  }
  /// Inserts n (not present) with hash h. Precondition: reserve_one() returned true.
  void insert(std::uint64_t h, Node* n) noexcept {
    std::size_t i = std::size_t(h) & mask_;
    while (slots_[i].node != nullptr) i = (i + 1) & mask_;
    slots_[i] = table_entry{h, n};
    ++size_;
  }
  /// Removes n, whose hash is h. Shrinks a growable table that has become mostly empty.
  void erase(std::uint64_t h, const Node* n) noexcept {
    std::size_t i = std::size_t(h) & mask_;
    while (slots_[i].node != n) i = (i + 1) & mask_;
    // Backward-shift deletion: move later entries of the run into the hole when their home
    // slot does not lie (cyclically) after the hole.
    std::size_t j = i;
    for (;;) {
      j = (j + 1) & mask_;
      if (slots_[j].node == nullptr) break;
      const std::size_t home = std::size_t(slots_[j].hash) & mask_;
      const bool stays = i <= j ? (i < home && home <= j) : (i < home || home <= j);
      if (!stays) {
        slots_[i] = slots_[j];
        i = j;
      }
    }
    slots_[i] = table_entry{0, nullptr};
    --size_;
    if constexpr (!inline_slots && !Fixed) {
      if (capacity() > min_slots && size_ * 8 < capacity()) shrink();
    }
  }
  /// Gives back slots a growable table does not need: the smallest capacity keeping the load
  /// at most 3/8 (none at all when empty). Failure to allocate the smaller array keeps the
  /// current one.
  void shrink() noexcept {
    if constexpr (!inline_slots && !Fixed) {
      if (size_ == 0) {
        if (slots_ != nullptr) heap_free(slots_, capacity() * sizeof(table_entry), alignof(table_entry));
        slots_ = nullptr;
        mask_ = 0;
        return;
      }
      std::size_t cap = min_slots;
      while (size_ * 8 > cap * 3) cap <<= 1;
      if (cap < capacity()) (void)rehash(cap);
    }
  }
  /// How far entries sit from their home slot (probes a lookup of each makes, minus one): the
  /// measure of how well keys spread, for tests. O(capacity).
  struct displacement_stats {
    std::size_t total = 0;  ///< sum over entries
    std::size_t max = 0;    ///< the longest
  };
  displacement_stats displacement() const noexcept {
    displacement_stats d;
    for (std::size_t i = 0; i < capacity(); ++i) {
      if (slots_[i].node == nullptr) continue;
      const std::size_t dist = (i - (std::size_t(slots_[i].hash) & mask_)) & mask_;
      d.total += dist;
      if (dist > d.max) d.max = dist;
    }
    return d;
  }
  /// Empties the table (the nodes are the caller's).
  void clear() noexcept {
    if (slots_ == nullptr) return;
    for (std::size_t i = 0; i <= mask_; ++i) slots_[i] = table_entry{0, nullptr};
    size_ = 0;
    shrink();
  }

  class iterator {
   public:
    using value_type = Node*;
    using difference_type = std::ptrdiff_t;
    iterator() = default;
    iterator(const table_entry* p, const table_entry* end) noexcept : p_(p), end_(end) { skip(); }
    Node* operator*() const noexcept { return static_cast<Node*>(p_->node); }
    iterator& operator++() noexcept {
      ++p_;
      skip();
      return *this;
    }
    iterator operator++(int) noexcept {
      auto t = *this;
      ++*this;
      return t;
    }
    bool operator==(const iterator& o) const noexcept { return p_ == o.p_; }

   private:
    void skip() noexcept {
      while (p_ != end_ && p_->node == nullptr) ++p_;
    }
    const table_entry* p_ = nullptr;
    const table_entry* end_ = nullptr;
  };
  iterator begin() const noexcept { return {slots_, slots_ + capacity()}; }
  iterator end() const noexcept { return {slots_ + capacity(), slots_ + capacity()}; }

 private:
  bool rehash(std::size_t cap) noexcept {
    auto* fresh = static_cast<table_entry*>(heap_allocate(cap * sizeof(table_entry), alignof(table_entry)));
    if (fresh == nullptr) return false;
    for (std::size_t i = 0; i < cap; ++i) fresh[i] = table_entry{0, nullptr};
    const std::size_t m = cap - 1;
    for (std::size_t i = 0, n = capacity(); i < n; ++i) {
      if (slots_[i].node == nullptr) continue;
      std::size_t k = std::size_t(slots_[i].hash) & m;
      while (fresh[k].node != nullptr) k = (k + 1) & m;
      fresh[k] = slots_[i];
    }
    if (slots_ != nullptr) heap_free(slots_, capacity() * sizeof(table_entry), alignof(table_entry));
    slots_ = fresh;
    mask_ = m;
    return true;
  }

  table_entry* slots_ = nullptr;
  std::size_t mask_ = 0;
  std::size_t size_ = 0;
  [[no_unique_address]] std::conditional_t<inline_slots, table_entry[(InlineSlots > 0 ? InlineSlots : 1)], empty_slots> inline_;
};

}  // namespace rcmgr::detail
