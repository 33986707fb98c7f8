// rcmgr::trace_observer: go-libp2p's resource manager trace -- one JSON object per line for every
// change of every scope, gzipped, in go's format (event types start, create_scope, destroy_scope,
// reserve_memory, block_reserve_memory, release_memory, add_stream, block_add_stream,
// remove_stream, add_conn, block_add_conn, remove_conn; fields Time, Type, Scope, Name, Limit,
// Priority, Delta, DeltaIn, DeltaOut, Memory, StreamsIn, StreamsOut, ConnsIn, ConnsOut, FD), so
// tools that read go's traces read these.
//
// Every scope is announced by a create_scope event carrying its limit (go's BaseLimit object) and
// retired by a destroy_scope event: connections, streams and spans when they open and end;
// peers, protocols, services and their per-peer views when the manager creates and collects
// them; system, transient and the other singletons right after `start` when the trace is
// opened with the manager (open(path, mgr)). A refused open is traced as go does it: the new
// connection or stream is created, the refusing scope's block_* event follows, then it is
// destroyed. block_* events carry the refusing scope's usage in every field go writes.
//
// The operation's thread only turns the event into records and appends them to a bounded queue
// under a mutex (no I/O, no formatting); a background thread formats, compresses and writes
// them, waking at least once a second (go's pace). When the queue is full the new records are
// dropped and counted (dropped()): the reservation path never waits for the disk. Part of the
// optional CMake target rcmgr::trace (zlib).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <deque>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include <zlib.h>

#include "rcmgr/limits.hpp"
#include "rcmgr/observer.hpp"
#include "rcmgr/topology.hpp"

namespace rcmgr {

/// One line of the trace (go's TraceEvt). Zero fields are left out of the JSON, as go does.
struct trace_record {
  std::string_view type;  ///< "add_stream", ... (static text)
  std::string name;       ///< go's scope name: "system", "peer:12D3...", "conn-4", "stream-9", "protocol:/x.peer:P", "stream-9.span-11"
  std::uint8_t priority = 0;
  std::int64_t delta = 0;  ///< bytes for memory events; descriptors for connection events
  std::int64_t delta_in = 0, delta_out = 0;
  std::int64_t memory = 0, streams_in = 0, streams_out = 0, conns_in = 0, conns_out = 0, fd = 0;  ///< the scope's usage after
  /// go's Limit, written when has_limit: a BaseLimit object with the fields of the resources in
  /// `limit_fields` (zero ones left out, as go does). `start` has an empty one ({}), which is
  /// what go writes for its fixed limiter (its fields are not exported).
  bool has_limit = false;
  limit lim{};
  resource_set limit_fields{};
  std::chrono::system_clock::time_point time{};
};

/// Writes a trace_record as go's JSON (no trailing newline).
inline void write_trace_json(std::string& out, const trace_record& r);

class trace_observer {
 public:
  trace_observer() = default;
  trace_observer(const trace_observer&) = delete;
  trace_observer& operator=(const trace_observer&) = delete;
  ~trace_observer() { close(); }

  /// Starts writing the trace to `path` (created or truncated), gzipped, with a `start` event.
  /// `queue_capacity` records wait at most for the writer; beyond, records are dropped and
  /// counted. Returns false (and traces nothing) if the file cannot be opened.
  bool open(const std::string& path, std::size_t queue_capacity = 1 << 16) {
    close();
    gzFile f = gzopen(path.c_str(), "wb");
    if (f == nullptr) return false;
    {
      std::lock_guard lk(mu_);
      file_ = f;
      capacity_ = queue_capacity;
      stopping_ = false;
      failed_ = false;  // a new file: a write that failed on the previous one says nothing of it
      active_ = true;
      trace_record start;
      start.type = "start";
      start.has_limit = true;  // {} (see trace_record::has_limit)
      start.time = std::chrono::system_clock::now();
      queue_.push_back(std::move(start));
    }
    writer_ = std::thread([this] { run(); });
    return true;
  }
  /// open(path, queue_capacity), then a create_scope event, with its limit, for each singleton
  /// scope of `mgr` (system, transient, ...), as go traces them right after `start`.
  template <class Manager>
  bool open(const std::string& path, Manager& mgr, std::size_t queue_capacity = 1 << 16) {
    if (!open(path, queue_capacity)) return false;
    announce_singletons(mgr, typename Manager::topology_type::kind_list{});
    return true;
  }
  /// Writes everything queued, closes the file and stops the writer. Idempotent.
  void close() {
    {
      std::lock_guard lk(mu_);
      if (!active_) return;
      stopping_ = true;
      active_ = false;
    }
    cv_.notify_one();
    if (writer_.joinable()) writer_.join();
  }
  /// Records dropped because the queue was full.
  std::uint64_t dropped() const {
    std::lock_guard lk(mu_);
    return dropped_;
  }
  /// Records written to the file so far.
  std::uint64_t written() const {
    std::lock_guard lk(mu_);
    return written_;
  }
  /// False once a write (or the final flush at close()) failed: the trace then stops, as go's
  /// does, until the next open().
  bool healthy() const {
    std::lock_guard lk(mu_);
    return !failed_;
  }

  /// Every event, including the creation and destruction of keyed and view scopes.
  static constexpr bool wants(scope_event::type, std::string_view) noexcept { return true; }

  void on_event(const scope_event& e) {
    {
      std::lock_guard lk(mu_);
      if (!active_) return;
    }
    std::vector<trace_record> out;
    translate(e, out);
    push(out);
  }

 private:
  using T = scope_event::type;

  void push(std::vector<trace_record>& out) {
    if (out.empty()) return;
    const auto now = std::chrono::system_clock::now();
    std::lock_guard lk(mu_);
    if (!active_) return;  // closed meanwhile: the writer is gone (and a later open() starts afresh)
    for (auto& r : out) {
      if (queue_.size() >= capacity_) {
        ++dropped_;
        continue;
      }
      r.time = now;
      queue_.push_back(std::move(r));
    }
  }

  template <class Manager, class... Ks>
  void announce_singletons(Manager& mgr, detail::type_list<Ks...>) {
    std::vector<trace_record> out;
    auto one = [&]<class K>(std::type_identity<K>) {
      if constexpr (detail::kind_traits<K>::shape == kind_shape::singleton) {
        const auto l = mgr.template get_limit<K>();
        trace_record r;
        r.type = "create_scope";
        r.name = go_shared_name(scope_name(detail::kind_traits<K>::name));
        r.has_limit = true;
        r.lim = limit{l.stream_limit(direction::inbound), l.stream_limit(direction::outbound), l.stream_total_limit(),
                      l.conn_limit(direction::inbound),   l.conn_limit(direction::outbound),   l.conn_total_limit(),
                      l.fd_limit(),                       l.memory_limit()};
        r.limit_fields = detail::kind_traits<K>::accounted;
        out.push_back(std::move(r));
      }
    };
    (one(std::type_identity<Ks>{}), ...);
    push(out);
  }
  /// A create_scope record for `name`, with the event's limit.
  static trace_record creation(const scope_event& e, std::string name) {
    trace_record c;
    c.type = "create_scope";
    c.name = std::move(name);
    if (e.lim != nullptr) {
      c.has_limit = true;
      c.lim = *e.lim;
      c.limit_fields = e.accounted;
    }
    return c;
  }
  static trace_record destruction(std::string name) {
    trace_record d;
    d.type = "destroy_scope";
    d.name = std::move(name);
    return d;
  }

  // ---- naming: go's scope names ----
  /// go's name for a scope on a path: per-object scopes by their trace id, shared ones by name.
  std::string go_name(const scope_name& n, const void* object) {
    if (object != nullptr) {
      std::lock_guard lk(names_mu_);
      if (auto it = names_.find(object); it != names_.end()) return it->second.name;
    }
    return go_shared_name(n);
  }
  static std::string go_shared_name(const scope_name& n) {
    const std::string_view kind = n.kind, key = n.key();
    auto view = [&](std::string_view first) {  // "protocol-peer:X@P" -> "protocol:X.peer:P"
      const auto at = key.rfind('@');
      std::string s(first);
      s += ':';
      s += key.substr(0, at);
      s += ".peer:";
      if (at != std::string_view::npos) s += key.substr(at + 1);
      return s;
    };
    if (kind == "protocol-peer") return view("protocol");
    if (kind == "service-peer") return view("service");
    if (kind == "connection") return "conn";
    if (kind == "allowlisted-system") return "allowlistedSystem";  // go's names of the allowlist's scopes
    if (kind == "allowlisted-transient") return "allowlistedTransient";
    return n.str();
  }
  /// Names a new connection, stream or other per-object scope: go counts each kind apart, from 1.
  std::string assign(const void* object, std::string_view kind) {
    std::lock_guard lk(names_mu_);
    const std::uint64_t id = ++next_of_kind_[std::string(kind)];
    std::string name = (kind == "connection" ? std::string("conn") : std::string(kind)) + "-" + std::to_string(id);
    names_[object] = object_name{name};
    return name;
  }
  /// Names a new span of `owner` (go numbers spans per owner, from 1).
  std::string assign_span(const void* object, const void* owner, const std::string& owner_name) {
    std::lock_guard lk(names_mu_);
    std::uint64_t id;
    if (auto it = owner == nullptr ? names_.end() : names_.find(owner); it != names_.end()) id = ++it->second.spans;
    else id = ++shared_spans_[owner_name];  // a span of a shared scope
    std::string name = owner_name + ".span-" + std::to_string(id);
    names_[object] = object_name{name};
    return name;
  }
  void forget(const void* object) {
    std::lock_guard lk(names_mu_);
    names_.erase(object);
  }

  struct entry {
    std::string name;
    scope_stat usage;
  };
  std::vector<entry> visit(const scope_path& p) {
    std::vector<entry> v;
    p.for_each([&](const scope_name& n, const scope_stat& u, const void* o) { v.push_back({go_name(n, o), u}); });
    return v;
  }
  /// Records of `amount` (a usage) added to (sign 1) or removed from (sign -1) a scope whose usage is now `after`.
  static void change(std::vector<trace_record>& out, const std::string& name, const scope_stat& amount, int sign,
                     const scope_stat& after, std::uint8_t prio) {
    if (amount.conns() != 0 || amount.fd != 0) {
      trace_record r;
      r.type = sign > 0 ? "add_conn" : "remove_conn";
      r.name = name;
      r.delta_in = sign * amount.conns_inbound, r.delta_out = sign * amount.conns_outbound, r.delta = sign * amount.fd;
      r.conns_in = after.conns_inbound, r.conns_out = after.conns_outbound, r.fd = after.fd;
      out.push_back(std::move(r));
    }
    if (amount.streams() != 0) {
      trace_record r;
      r.type = sign > 0 ? "add_stream" : "remove_stream";
      r.name = name;
      r.delta_in = sign * amount.streams_inbound, r.delta_out = sign * amount.streams_outbound;
      r.streams_in = after.streams_inbound, r.streams_out = after.streams_outbound;
      out.push_back(std::move(r));
    }
    if (amount.memory != 0) {
      trace_record r;
      r.type = sign > 0 ? "reserve_memory" : "release_memory";
      r.name = name;
      r.priority = sign > 0 ? prio : 0;
      r.delta = sign * amount.memory;
      r.memory = after.memory;
      out.push_back(std::move(r));
    }
  }
  static scope_stat minus(scope_stat a, const scope_stat& b) {
    a.memory -= b.memory, a.fd -= b.fd;
    a.streams_inbound -= b.streams_inbound, a.streams_outbound -= b.streams_outbound;
    a.conns_inbound -= b.conns_inbound, a.conns_outbound -= b.conns_outbound;
    return a;
  }
  /// The refusing scope's go name: a scope on the path when it is there (per-object ones get their id).
  std::string refusing(const scope_event& e) {
    std::string found;
    e.path.for_each([&](const scope_name& n, const scope_stat&, const void* o) {
      if (found.empty() && n.kind == e.err->scope.kind && n.key() == e.err->scope.key()) found = go_name(n, o);
    });
    return found.empty() ? go_shared_name(e.err->scope) : found;
  }
  /// go's block_* record: what was asked of the refusing scope (one connection or stream for an
  /// open; the scope's whole usage for an attach, as go's ReserveForChild; bytes for a
  /// reservation) and the refusing scope's usage in every field of that event type.
  void block(const scope_event& e, std::vector<trace_record>& out) {
    const error& err = *e.err;
    const scope_stat& u = e.refuser_usage;
    scope_stat asked;
    if (e.what == T::open_refused) {
      if (err.res == resource::streams) {
        (e.dir == direction::inbound ? asked.streams_inbound : asked.streams_outbound) = 1;
      } else {
        (e.dir == direction::inbound ? asked.conns_inbound : asked.conns_outbound) = 1;
        asked.fd = e.fd ? 1 : 0;
      }
    } else if (e.what == T::attach_refused) {
      asked = e.usage;
    } else {
      asked.memory = err.attempted;
    }
    trace_record r;
    r.name = refusing(e);
    switch (err.res) {
      case resource::memory:
        r.type = "block_reserve_memory";
        r.priority = err.prio;
        r.delta = asked.memory;
        r.memory = u.memory;
        break;
      case resource::streams:
        r.type = "block_add_stream";
        r.delta_in = asked.streams_inbound, r.delta_out = asked.streams_outbound;
        r.streams_in = u.streams_inbound, r.streams_out = u.streams_outbound;
        break;
      case resource::conns:
      case resource::fd:
        r.type = "block_add_conn";
        r.delta_in = asked.conns_inbound, r.delta_out = asked.conns_outbound, r.delta = asked.fd;
        r.conns_in = u.conns_inbound, r.conns_out = u.conns_outbound, r.fd = u.fd;
        break;
    }
    out.push_back(std::move(r));
  }

  void translate(const scope_event& e, std::vector<trace_record>& out) {
    if (e.err != nullptr) {
      if (e.err->code != errc::limit_exceeded) return;
      // A refused open: the scope existed while it was refused (the path starts with it), as in go.
      const void* refused = nullptr;
      if (e.what == T::open_refused)
        e.path.for_each([&](const scope_name&, const scope_stat&, const void* o) {
          if (refused == nullptr) refused = o;
        });
      if (refused != nullptr) out.push_back(creation(e, assign(refused, e.scope.kind)));
      block(e, out);
      if (refused != nullptr) {
        out.push_back(destruction(go_name(e.scope, refused)));
        forget(refused);
      }
      return;
    }
    switch (e.what) {
      case T::opened: {
        out.push_back(creation(e, assign(e.object, e.scope.kind)));
        for (const auto& x : visit(e.path)) change(out, x.name, e.usage, 1, x.usage, priority::always);
        break;
      }
      case T::created: out.push_back(creation(e, go_shared_name(e.scope))); break;
      case T::destroyed: {
        std::string name = go_shared_name(e.scope);
        {
          std::lock_guard lk(names_mu_);
          shared_spans_.erase(name);  // a scope created again numbers its spans from 1, as in go
        }
        out.push_back(destruction(std::move(name)));
        break;
      }
      case T::span_begun: {
        std::string owner;
        const void* owner_object = nullptr;
        bool found = false;
        e.path.for_each([&](const scope_name& n, const scope_stat&, const void* o) {
          if (o != e.object && !found) owner = go_name(n, o), owner_object = o, found = true;
        });
        out.push_back(creation(e, assign_span(e.object, owner_object, found ? owner : std::string("span"))));
        break;
      }
      case T::reserved:
      case T::released: {
        if (e.memory == 0) break;  // go traces no empty reservation
        scope_stat a;
        a.memory = e.memory;
        for (const auto& x : visit(e.path)) change(out, x.name, a, e.what == T::reserved ? 1 : -1, x.usage, e.prio);
        break;
      }
      case T::attached: {
        // The scope's whole usage moved from the scopes it left to the scopes it joined.
        const auto before = visit(e.before), after = visit(e.path);
        auto in = [](const std::vector<entry>& v, const std::string& n) {
          for (const auto& x : v)
            if (x.name == n) return true;
          return false;
        };
        for (const auto& x : after)
          if (!in(before, x.name)) change(out, x.name, e.usage, 1, x.usage, priority::always);
        for (const auto& x : before)
          if (!in(after, x.name)) change(out, x.name, e.usage, -1, x.usage, 0);
        break;
      }
      case T::ended: {
        // Called just before the release: each scope's usage after is its usage now minus what goes.
        for (const auto& x : visit(e.path)) change(out, x.name, e.released, -1, minus(x.usage, e.released), 0);
        out.push_back(destruction(go_name(e.scope, e.object)));
        forget(e.object);
        break;
      }
      default: break;
    }
  }

  // ---- the writer thread ----
  void run() {
    std::deque<trace_record> batch;
    std::string text;
    for (;;) {
      bool stop;
      {
        std::unique_lock lk(mu_);
        cv_.wait_for(lk, std::chrono::seconds(1), [&] { return stopping_; });
        batch.swap(queue_);
        stop = stopping_;
      }
      text.clear();
      for (const auto& r : batch) {
        write_trace_json(text, r);
        text += '\n';
      }
      // After a failed write nothing more is written, and nothing more counts as written.
      const bool skip = text.empty() || failed();
      const bool ok = skip || (gzwrite(file_, text.data(), static_cast<unsigned>(text.size())) == static_cast<int>(text.size()) &&
                               gzflush(file_, Z_SYNC_FLUSH) == Z_OK);
      {
        std::lock_guard lk(mu_);
        if (!ok) failed_ = true;
        else if (!skip) written_ += batch.size();
      }
      batch.clear();
      if (stop) break;
    }
    const bool closed = gzclose(file_) == Z_OK;  // the last block and the gzip trailer
    file_ = nullptr;
    if (!closed) {
      std::lock_guard lk(mu_);
      failed_ = true;
    }
  }
  bool failed() const {
    std::lock_guard lk(mu_);
    return failed_;
  }

  mutable std::mutex mu_;  // guards everything below up to written_
  std::condition_variable cv_;
  std::deque<trace_record> queue_;
  std::size_t capacity_ = 0;
  bool active_ = false, stopping_ = false, failed_ = false;
  std::uint64_t dropped_ = 0, written_ = 0;
  gzFile file_ = nullptr;  // used by the writer thread only
  std::thread writer_;

  std::mutex names_mu_;  // guards the trace names of live connections, streams and spans, and the counters
  struct object_name {
    std::string name;
    std::uint64_t spans = 0;  ///< spans begun on it so far
  };
  std::unordered_map<const void*, object_name> names_;
  std::unordered_map<std::string, std::uint64_t> next_of_kind_;  ///< last id given, by per-object kind
  std::unordered_map<std::string, std::uint64_t> shared_spans_;  ///< spans begun so far, by shared scope name
};

namespace detail {
/// A JSON string; bytes that are not well-formed UTF-8 (keys may hold any) become \u00XX, and
/// control characters (C0, C1) are escaped, so the trace stays valid JSON a terminal can show.
inline void json_string(std::string& out, std::string_view s) {
  out += '"';
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (static_cast<unsigned char>(c) >= 0x80) {
      if (const std::size_t n = utf8_sequence(s, i); n != 0 && !(n == 2 && static_cast<unsigned char>(c) == 0xc2 &&
                                                               static_cast<unsigned char>(s[i + 1]) < 0xa0)) {
        out.append(s.data() + i, n);
        i += n - 1;
      } else if (n != 0) {  // a C1 control (U+0080-U+009F), escaped like the C0 ones
        char buf[8];
        std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(static_cast<unsigned char>(s[i + 1])));
        out += buf;
        ++i;
      } else {
        char buf[8];
        std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(static_cast<unsigned char>(c)));
        out += buf;
      }
      continue;
    }
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(static_cast<unsigned char>(c)));
          out += buf;
        } else {
          out += c;
        }
    }
  }
  out += '"';
}
/// go's Scope object for a name: {"Class":"peer","Peer":"..."} and so on.
inline void json_scope_class(std::string& out, std::string_view name) {
  std::string_view span;
  // Only connections and streams have spans: a protocol or service name may itself hold ".span-".
  const bool per_object = name.substr(0, 5) == "conn-" || name.substr(0, 7) == "stream-";
  if (auto i = per_object ? name.find(".span-") : std::string_view::npos; i != std::string_view::npos) {
    span = name.substr(i + 6);
    name = name.substr(0, i);
  }
  auto field = [&](std::string_view k, std::string_view v) {
    out += ",\"";
    out += k;
    out += "\":";
    json_string(out, v);
  };
  auto starts = [&](std::string_view p) { return name.substr(0, p.size()) == p; };
  out += "{\"Class\":";
  if (starts("conn-")) {
    json_string(out, "conn");
    field("Conn", name.substr(5));
  } else if (starts("stream-")) {
    json_string(out, "stream");
    field("Stream", name.substr(7));
  } else if (starts("peer:")) {
    json_string(out, "peer");
    field("Peer", name.substr(5));
  } else if (starts("service:") || starts("protocol:")) {
    const bool svc = starts("service:");
    const std::string_view rest = name.substr(svc ? 8 : 9);
    const auto p = rest.rfind(".peer:");
    if (p != std::string_view::npos) {
      json_string(out, svc ? "service-peer" : "protocol-peer");
      field(svc ? "Service" : "Protocol", rest.substr(0, p));
      field("Peer", rest.substr(p + 6));
    } else {
      json_string(out, svc ? "service" : "protocol");
      field(svc ? "Service" : "Protocol", rest);
    }
  } else {
    json_string(out, name);  // system, transient
  }
  if (!span.empty()) field("Span", span);
  out += '}';
}
}  // namespace detail

inline void write_trace_json(std::string& out, const trace_record& r) {
  // Time as RFC 3339 with nanoseconds, UTC (go's time.RFC3339Nano).
  const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(r.time.time_since_epoch()).count();
  const std::time_t secs = static_cast<std::time_t>(ns / 1000000000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%09lldZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<long long>(ns % 1000000000));
  out += "{\"Time\":\"";
  out += buf;
  out += "\",\"Type\":";
  detail::json_string(out, r.type);
  if (!r.name.empty()) {
    out += ",\"Scope\":";
    detail::json_scope_class(out, r.name);
    out += ",\"Name\":";
    detail::json_string(out, r.name);
  }
  if (r.has_limit) {
    // go's BaseLimit: Streams, StreamsInbound, StreamsOutbound, Conns, ConnsInbound, ConnsOutbound, FD, Memory
    out += ",\"Limit\":{";
    bool first = true;
    auto field = [&](const char* k, resource res, std::int64_t v) {
      if (!r.limit_fields.contains(res) || v == 0) return;
      if (!first) out += ',';
      first = false;
      out += '"';
      out += k;
      out += "\":";
      out += std::to_string(v);
    };
    field("Streams", resource::streams, r.lim.streams);
    field("StreamsInbound", resource::streams, r.lim.streams_inbound);
    field("StreamsOutbound", resource::streams, r.lim.streams_outbound);
    field("Conns", resource::conns, r.lim.conns);
    field("ConnsInbound", resource::conns, r.lim.conns_inbound);
    field("ConnsOutbound", resource::conns, r.lim.conns_outbound);
    field("FD", resource::fd, r.lim.fd);
    field("Memory", resource::memory, r.lim.memory);
    out += '}';
  }
  auto num = [&](const char* k, std::int64_t v) {
    if (v == 0) return;
    out += ",\"";
    out += k;
    out += "\":";
    out += std::to_string(v);
  };
  num("Priority", r.priority);
  num("Delta", r.delta);
  num("DeltaIn", r.delta_in);
  num("DeltaOut", r.delta_out);
  num("Memory", r.memory);
  num("StreamsIn", r.streams_in);
  num("StreamsOut", r.streams_out);
  num("ConnsIn", r.conns_in);
  num("ConnsOut", r.conns_out);
  num("FD", r.fd);
  out += '}';
}

}  // namespace rcmgr
