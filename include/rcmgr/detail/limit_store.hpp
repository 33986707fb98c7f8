// Where a kind's limit lives at run time. rcmgr::limit is kept in relaxed atomics (under the
// thread-safe policy) so it can be replaced while reservations run without any lock; constant
// limits take no storage at all; other user limit types are stored as given and never change.
#pragma once

#include <cstdint>

#include "rcmgr/limits.hpp"

namespace rcmgr::detail {

template <class L, class Policy>
struct limit_store {  // a user-defined limit type: stored by value, immutable
  L value;
  limit_store() = default;
  explicit limit_store(const L& l) : value(l) {}
  std::int64_t memory_limit() const noexcept { return value.memory_limit(); }
  std::int64_t stream_limit(direction d) const noexcept { return value.stream_limit(d); }
  std::int64_t stream_total_limit() const noexcept { return value.stream_total_limit(); }
  std::int64_t conn_limit(direction d) const noexcept { return value.conn_limit(d); }
  std::int64_t conn_total_limit() const noexcept { return value.conn_total_limit(); }
  std::int64_t fd_limit() const noexcept { return value.fd_limit(); }
};

template <class L, class Policy>
  requires constant_limit<L>
struct limit_store<L, Policy> : L {  // compile-time values: empty
  limit_store() = default;
  explicit limit_store(const L&) {}
};

template <class Policy>
struct limit_store<limit, Policy> {
  template <class T>
  using cell = typename Policy::template cell<T>;
  cell<std::int64_t> streams_inbound, streams_outbound, streams, conns_inbound, conns_outbound, conns, fd, memory;

  limit_store() { set(limit{}); }
  explicit limit_store(const limit& l) { set(l); }
  void set(const limit& l) noexcept {
    streams_inbound.store(l.streams_inbound);
    streams_outbound.store(l.streams_outbound);
    streams.store(l.streams);
    conns_inbound.store(l.conns_inbound);
    conns_outbound.store(l.conns_outbound);
    conns.store(l.conns);
    fd.store(l.fd);
    memory.store(l.memory);
  }
  limit get() const noexcept {
    return {streams_inbound.load(), streams_outbound.load(), streams.load(), conns_inbound.load(),
            conns_outbound.load(),  conns.load(),            fd.load(),      memory.load()};
  }
  std::int64_t memory_limit() const noexcept { return memory.load(); }
  std::int64_t stream_limit(direction d) const noexcept {
    return d == direction::inbound ? streams_inbound.load() : streams_outbound.load();
  }
  std::int64_t stream_total_limit() const noexcept { return streams.load(); }
  std::int64_t conn_limit(direction d) const noexcept {
    return d == direction::inbound ? conns_inbound.load() : conns_outbound.load();
  }
  std::int64_t conn_total_limit() const noexcept { return conns.load(); }
  std::int64_t fd_limit() const noexcept { return fd.load(); }
};

}  // namespace rcmgr::detail
