// go-libp2p limit files (the JSON read by go-libp2p's resource manager and written by kubo and
// others), read into and written from rcmgr::libp2p::limits. Part of the optional rcmgr::config
// target: needs nlohmann-json.
//
//   {
//     "System":      {"Conns": 256, "ConnsInbound": 128, "Memory": "1073741824", "FD": "unlimited"},
//     "PeerDefault": {"Streams": 64},
//     "Peer":        {"12D3KooWQ...": {"Conns": 32}},
//     "Protocol":    {"/ipfs/bitswap/1.2.0": {"StreamsInbound": "blockAll"}}
//   }
//
// Top-level keys: System, Transient, AllowlistedSystem, AllowlistedTransient, ServiceDefault,
// Service{name}, ServicePeerDefault, ServicePeer{name}, ProtocolDefault, Protocol{id},
// ProtocolPeerDefault, ProtocolPeer{id}, PeerDefault, Peer{id}, Conn, Stream. Each scope holds
// any of Streams, StreamsInbound, StreamsOutbound, Conns, ConnsInbound, ConnsOutbound, FD, Memory.
// A value is a non-negative integer, "default" (keep the base), "unlimited" or "blockAll"; an
// explicit 0 also blocks all. Memory (bytes) may also be a string of digits, as go writes it.
//
// Reading is all or nothing: it returns a complete limit set (the file laid over a base: the
// defaults, or scaled limits) or an error naming the path of the first problem; the limits in
// force are never touched (apply the result with set_limits()). Stricter than go on purpose:
// unknown keys, wrong types, negative or overflowing numbers, null, duplicate keys, fractions
// and keys in the wrong case are errors rather than silently ignored or zeroed. A positive
// count for a resource a scope does not account (Conns under Protocol, say) is an error too;
// "blockAll", 0, "default" and "unlimited" are accepted there because go-libp2p itself writes
// "blockAll" for every such field.
//
// A limit file may come from anywhere, so reading it is bounded: at most max_document_size
// bytes, max_depth levels of nesting and max_keys object keys in all, checked while the text is
// parsed (nothing deeper or larger is ever built), with no recursion on the input's nesting, so
// a hostile file is refused with its path and the bound it broke even on a thread with a small
// stack (tests/config/hostile_json_test.cpp runs them on a 256 KiB stack). Duplicate keys are
// found in expected constant time per key: a hash set per object, keyed with SipHash under a
// secret drawn per reader, so no file can be written whose keys collide. (The parsed document
// itself is nlohmann::json, whose objects are std::maps: O(log k) string comparisons per key of
// an object of k keys, which is the one part of reading that is not linear.)
#pragma once

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <ostream>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <type_traits>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "rcmgr/detail/printable.hpp"
#include "rcmgr/detail/siphash.hpp"
#include "rcmgr/keys.hpp"
#include "rcmgr/libp2p/default_limits.hpp"
#include "rcmgr/libp2p/sanity.hpp"
#include "rcmgr/libp2p/topology.hpp"
#include "rcmgr/limits.hpp"

namespace rcmgr::config {

/// Most bytes of limit-file text read. A file with a per-peer entry for 10,000 peers is about
/// 2 MiB.
inline constexpr std::size_t max_document_size = std::size_t{16} << 20;
/// Most levels of nested objects and arrays. go-libp2p's files use 3 (document, map, entry).
inline constexpr std::size_t max_depth = 16;
/// Most object keys in a whole document.
inline constexpr std::size_t max_keys = 200000;

/// What a limit file describes: the limits of every libp2p scope, plus go-libp2p's allowlist
/// scopes, which rcmgr::gated_resource_manager enforces (config::gated_limits() in
/// rcmgr/config/gating.hpp builds its limits from this).
struct limit_config {
  libp2p::limits limits = libp2p::default_limits();
  std::optional<limit> allowlisted_system;     ///< AllowlistedSystem, if the file gave it
  std::optional<limit> allowlisted_transient;  ///< AllowlistedTransient, if the file gave it

  limit_config() = default;
  /// The limits of a file without allowlist scopes: a libp2p::limits is accepted wherever a
  /// limit_config is (as a base, as write_options::relative_to).
  limit_config(libp2p::limits l, std::optional<limit> system = std::nullopt,  // NOLINT: implicit by design
               std::optional<limit> transient = std::nullopt)
      : limits(std::move(l)), allowlisted_system(system), allowlisted_transient(transient) {}
};

/// Why a limit file was refused.
struct error {
  std::string source;   ///< the file, when read from one
  std::string path;     ///< where in the document: "Peer.12D3KooW....StreamsInbound"; empty for syntax errors
  std::string message;  ///< what is wrong and what is expected
  std::size_t line = 0, column = 0;  ///< of a syntax error (1-based); 0 otherwise

  /// One line: "limits.json: Peer.12D3KooW....StreamsInbound: expected ..." or
  /// "line 3, column 14: syntax error ...".
  std::string str() const {
    std::string s;
    if (!source.empty()) s += source + ": ";
    if (!path.empty()) {
      // The path holds the file's keys: a key's control characters must not reach a terminal.
      std::ostringstream p;
      rcmgr::detail::write_printable(p, path);
      s += std::move(p).str() + ": ";
    } else if (line != 0) s += "line " + std::to_string(line) + ", column " + std::to_string(column) + ": ";
    return s + message;
  }
  friend std::ostream& operator<<(std::ostream& os, const error& e) { return os << e.str(); }
};

/// A value or a config::error.
template <class T>
class [[nodiscard]] result {
 public:
  result(T v) : v_(std::in_place_index<0>, std::move(v)) {}            // NOLINT: implicit by design
  result(config::error e) : v_(std::in_place_index<1>, std::move(e)) {}  // NOLINT
  bool has_value() const noexcept { return v_.index() == 0; }
  explicit operator bool() const noexcept { return has_value(); }
  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  const config::error& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, config::error> v_;
};

template <>
class [[nodiscard]] result<void> {
 public:
  result() = default;
  result(config::error e) : e_(std::move(e)) {}  // NOLINT
  bool has_value() const noexcept { return !e_; }
  explicit operator bool() const noexcept { return has_value(); }
  const config::error& error() const { return *e_; }

 private:
  std::optional<config::error> e_;
};

namespace detail {

using json = nlohmann::json;
using libp2p::limit_field;
using libp2p::limit_fields;

/// Appends a key to an error path, cut to 64 bytes: a hostile key can be megabytes long.
inline void append_short_key(std::string& path, std::string_view key) {
  if (key.size() <= 64) {
    libp2p::append_path_key(path, key);
  } else {
    std::string k(key.substr(0, 61));
    k += "...";
    libp2p::append_path_key(path, k);
  }
}

/// The keys of one object, for the duplicate check: open addressing with linear probing, kept
/// at most half full, hashed with SipHash-1-3 under the reader's secret key. Whoever writes the
/// file cannot know the key, so cannot choose keys that collide: an insertion costs O(1)
/// expected probes (about 1.5 at half load) whatever the file, and growing costs O(1) amortized.
class key_set {
 public:
  /// Adds `key`; false when the object already has it. `probes` counts the slots looked at
  /// (rehashing included): the work done, for tests.
  bool insert(std::string_view key, const rcmgr::detail::hash_seed& seed, std::uint64_t& probes) {
    if (2 * (count_ + 1) > slots_.size()) grow(probes);
    const std::uint64_t h = rcmgr::detail::siphash13(seed, key);
    const std::size_t mask = slots_.size() - 1;
    for (std::size_t i = std::size_t(h) & mask;; i = (i + 1) & mask) {
      ++probes;
      slot& s = slots_[i];
      if (s.length_plus_one == 0) {
        s = {h, std::uint32_t(text_.size()), std::uint32_t(key.size() + 1)};
        text_.append(key);
        ++count_;
        return true;
      }
      if (s.hash == h && std::string_view(text_).substr(s.offset, s.length_plus_one - 1) == key) return false;
    }
  }

 private:
  // Offsets and lengths into the key text fit 32 bits: a document is at most 16 MiB.
  static_assert(max_document_size < (std::size_t{1} << 32) - 1);
  struct slot {
    std::uint64_t hash = 0;
    std::uint32_t offset = 0;           ///< of the key in text_
    std::uint32_t length_plus_one = 0;  ///< 0: an empty slot (a key may be "")
  };
  void grow(std::uint64_t& probes) {
    std::vector<slot> old = std::move(slots_);
    slots_.assign(old.empty() ? 8 : 2 * old.size(), slot{});
    const std::size_t mask = slots_.size() - 1;
    for (const slot& s : old) {
      if (s.length_plus_one == 0) continue;
      std::size_t i = std::size_t(s.hash) & mask;
      for (++probes; slots_[i].length_plus_one != 0; ++probes) i = (i + 1) & mask;
      slots_[i] = s;
    }
  }
  std::vector<slot> slots_;  ///< a power of two in size, at most half used
  std::string text_;         ///< the keys, one after another
  std::size_t count_ = 0;
};

/// Builds a DOM like nlohmann's own (iterative) parser, and refuses while parsing, before
/// building anything beyond them: nesting deeper than max_depth, more than max_keys keys, and
/// duplicate keys (nlohmann and go both keep the last silently), found with a key_set per
/// object. Records where a syntax error is.
class strict_sax {
 public:
  using number_integer_t = json::number_integer_t;
  using number_unsigned_t = json::number_unsigned_t;
  using number_float_t = json::number_float_t;
  using string_t = json::string_t;
  using binary_t = json::binary_t;

  explicit strict_sax(json& root) : dom_(root, false) {}

  bool null() { return dom_.null(); }
  bool boolean(bool v) { return dom_.boolean(v); }
  bool number_integer(number_integer_t v) { return dom_.number_integer(v); }
  bool number_unsigned(number_unsigned_t v) { return dom_.number_unsigned(v); }
  bool number_float(number_float_t v, const string_t& s) { return dom_.number_float(v, s); }
  bool string(string_t& v) { return dom_.string(v); }
  bool binary(binary_t& v) { return dom_.binary(v); }
  bool start_object(std::size_t n) {
    if (!enter()) return false;
    frames_.push_back({true, {}, {}});
    return dom_.start_object(n);
  }
  bool key(string_t& k) {
    auto& f = frames_.back();
    if (++keys_ > max_keys) {
      refuse(path_to(frames_.size() - 1), "more than " + std::to_string(max_keys) + " keys in the document");
      return false;
    }
    if (!f.seen.insert(k, seed_, probes_)) {
      std::string p = path_to(frames_.size() - 1);
      append_short_key(p, k);
      refuse(std::move(p), "duplicate key (each key may appear once per object)");
      return false;
    }
    f.current = k;
    return dom_.key(k);
  }
  bool end_object() {
    frames_.pop_back();
    return dom_.end_object();
  }
  bool start_array(std::size_t n) {
    if (!enter()) return false;
    frames_.push_back({false, {}, {}});
    return dom_.start_array(n);
  }
  bool end_array() {
    frames_.pop_back();
    return dom_.end_array();
  }
  template <class Exception>
  bool parse_error(std::size_t position, const std::string& /*last_token*/, const Exception& ex) {
    syntax_position_ = position;
    syntax_message_ = ex.what();
    return false;
  }

  /// A bound or a duplicate refused the document (rather than a syntax error).
  bool refused() const { return refused_; }
  const std::string& refused_path() const { return refused_path_; }
  const std::string& refused_message() const { return refused_message_; }
  std::size_t syntax_position() const { return syntax_position_; }
  const std::string& syntax_message() const { return syntax_message_; }
  /// Slots the duplicate check looked at so far: O(1) expected per key (for tests).
  std::uint64_t probes() const { return probes_; }
  /// This reader's secret hash key (for tests: each reader draws its own).
  const rcmgr::detail::hash_seed& seed() const { return seed_; }

 private:
  struct frame {
    bool object;
    key_set seen;  ///< keys of this object so far
    std::string current;
  };
  bool enter() {
    if (frames_.size() < max_depth) return true;
    refuse(path_to(frames_.size()), "nested deeper than " + std::to_string(max_depth) + " levels");
    return false;
  }
  void refuse(std::string path, std::string message) {
    refused_ = true;
    refused_path_ = std::move(path);
    refused_message_ = std::move(message);
  }
  /// The keys leading into frame `depth` (frames below it, each with its current key).
  std::string path_to(std::size_t depth) const {
    std::string p;
    for (std::size_t i = 0; i < depth && i < frames_.size(); ++i)
      if (frames_[i].object) append_short_key(p, frames_[i].current);
    return p;
  }

  nlohmann::detail::json_sax_dom_parser<json> dom_;
  std::vector<frame> frames_;
  std::size_t keys_ = 0;
  /// Secret per reader (drawn from the kernel's random source where there is one).
  rcmgr::detail::hash_seed seed_ = rcmgr::detail::make_hash_seed(reinterpret_cast<std::uintptr_t>(this));
  std::uint64_t probes_ = 0;
  bool refused_ = false;
  std::string refused_path_, refused_message_;
  std::size_t syntax_position_ = 0;
  std::string syntax_message_;
};

inline error at(std::string path, std::string message) {
  error e;
  e.path = std::move(path);
  e.message = std::move(message);
  return e;
}

inline std::string field_path(const std::string& scope_path, std::string_view field) {
  std::string p = scope_path;
  append_short_key(p, field);
  return p;
}

/// Case-insensitive equality, to suggest the right spelling of a key.
inline bool same_letters(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    auto lo = [](char c) { return (c >= 'A' && c <= 'Z') ? char(c - 'A' + 'a') : c; };
    if (lo(a[i]) != lo(b[i])) return false;
  }
  return true;
}

/// A value for an error message, at most 40 characters. Objects and arrays are named, not
/// printed: dumping one would walk (recursively) a value of any depth a caller built.
inline std::string short_dump(const json& v) {
  if (v.is_object()) return v.empty() ? "{}" : "an object";
  if (v.is_array()) return v.empty() ? "[]" : "an array";
  std::string s;
  if (v.is_string() && v.get_ref<const std::string&>().size() > 40)
    s = json(v.get_ref<const std::string&>().substr(0, 40)).dump(-1, ' ', false, json::error_handler_t::replace);
  else
    s = v.dump(-1, ' ', false, json::error_handler_t::replace);
  if (s.size() > 40) s = s.substr(0, 37) + "...";
  return s;
}

inline constexpr std::string_view count_expectation = R"(expected a non-negative integer, "default", "unlimited" or "blockAll")";
inline constexpr std::string_view memory_expectation =
    R"(expected a non-negative integer (or a string of digits), "default", "unlimited" or "blockAll")";

/// A decoded value: keep the base, or a number (unlimited and block_all included).
struct decoded {
  bool keep = false;
  std::int64_t value = 0;
};

inline std::string out_of_range(std::string_view digits) {
  return "value " + std::string(digits) + " is out of range (at most 9223372036854775807; use \"unlimited\")";
}

/// Decodes one limit value. Returns an error message, or nothing.
inline std::optional<std::string> decode(const json& v, bool memory, decoded& out) {
  const std::string_view expect = memory ? memory_expectation : count_expectation;
  if (v.is_string()) {
    const auto& s = v.get_ref<const std::string&>();
    if (s == "default") {
      out.keep = true;
      return std::nullopt;
    }
    if (s == "unlimited") {
      out.value = unlimited;
      return std::nullopt;
    }
    if (s == "blockAll") {
      out.value = block_all;
      return std::nullopt;
    }
    if (memory && !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      std::int64_t x = 0;
      for (char c : s) {
        if (x > (unlimited - (c - '0')) / 10) return out_of_range(s);
        x = x * 10 + (c - '0');
      }
      out.value = x;
      return std::nullopt;
    }
    for (std::string_view kw : {"default", "unlimited", "blockAll"})
      if (same_letters(s, kw)) return std::string(expect) + ", got " + short_dump(v) + " (did you mean \"" + std::string(kw) + "\"?)";
    return std::string(expect) + ", got " + short_dump(v);
  }
  if (v.is_number_unsigned()) {
    const auto u = v.get<json::number_unsigned_t>();
    if (u > static_cast<json::number_unsigned_t>(unlimited)) return out_of_range(std::to_string(u));
    out.value = static_cast<std::int64_t>(u);
    return std::nullopt;
  }
  if (v.is_number_integer()) {
    const auto i = v.get<json::number_integer_t>();
    if (i < 0) return std::string(expect) + ", got " + std::to_string(i);
    out.value = i;
    return std::nullopt;
  }
  if (v.is_number_float()) {
    const double d = v.get<double>();
    if (std::isfinite(d) && d >= 9.2e18 && std::floor(d) == d) return out_of_range(short_dump(v));
    return std::string(expect) + ", got " + short_dump(v) + " (a number with a fraction or exponent)";
  }
  return std::string(expect) + ", got " + short_dump(v);
}

/// Reads one scope object over `l` (its starting value). K decides which resources count.
template <class K>
std::optional<error> read_scope(const json& obj, const std::string& path, limit& l) {
  if (!obj.is_object())
    return at(path, "expected an object of limits (Streams, StreamsInbound, StreamsOutbound, Conns, ConnsInbound, "
                    "ConnsOutbound, FD, Memory), got " + short_dump(obj));
  for (auto it = obj.begin(); it != obj.end(); ++it) {
    const std::string& name = it.key();
    const limit_field* f = nullptr;
    for (const auto& c : limit_fields)
      if (c.name == name) f = &c;
    if (f == nullptr) {
      std::string msg = "unknown limit; expected one of Streams, StreamsInbound, StreamsOutbound, Conns, ConnsInbound, "
                        "ConnsOutbound, FD, Memory";
      for (const auto& c : limit_fields)
        if (same_letters(c.name, name)) msg += " (keys are case-sensitive: did you mean \"" + std::string(c.name) + "\"?)";
      return at(field_path(path, name), msg);
    }
    decoded d;
    if (auto msg = decode(it.value(), f->res == resource::memory, d)) return at(field_path(path, name), *msg);
    if (!rcmgr::detail::kind_traits<K>::accounted.contains(f->res)) {
      // go-libp2p writes "blockAll" for every field a scope does not use; a count here means
      // the author expects an effect that cannot happen.
      if (!d.keep && d.value != 0 && d.value != unlimited)
        return at(field_path(path, name),
                  std::string(rcmgr::detail::kind_traits<K>::name) + " scopes do not account " +
                      std::string(to_string(f->res)) +
                      R"(; only "blockAll", 0, "default" or "unlimited" is accepted here)");
      continue;  // nothing to store: the scope never holds this resource
    }
    if (!d.keep) l.*(f->member) = d.value;
  }
  return std::nullopt;
}

template <class K>
std::optional<error> check_key(std::string_view key, const std::string& path) {
  if (key.empty()) return at(path, std::string("empty ") + std::string(rcmgr::detail::kind_traits<K>::name) + " key");
  if constexpr (std::is_same_v<K, libp2p::peer_scope>) {
    // Text peer ids are base58btc ("12D3KooW...", "Qm...") or a multibase CID ("bafz..."):
    // letters and digits only.
    if (!std::all_of(key.begin(), key.end(), [](char c) {
          return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
        }))
      return at(path, "not a peer id (expected its text form, letters and digits only, e.g. \"12D3KooW...\")");
    // Longer text would be kept as a prefix and a hash (see rcmgr::peer_id), which neither
    // matches the peer nor writes back as the same key.
    if (key.size() > rcmgr::peer_id::capacity)
      return at(path, "not a peer id (longer than " + std::to_string(rcmgr::peer_id::capacity) + " characters)");
  }
  // The bounds the manager puts on keys (protocol ids and service names: 1023 bytes).
  if (const key_problem kp = rcmgr::detail::key_problem_of<typename rcmgr::detail::override_key_kind<K>::type>(key);
      kp && kp.max != 0)
    return at(path, std::string(kp.what) + " of " + std::to_string(kp.size) + " bytes exceeds the " + std::to_string(kp.max) +
                        "-byte maximum");
  return std::nullopt;
}

/// Reads a per-key map ("Peer": {"<id>": {...}, ...}) into ls. Missing fields of an entry come
/// from the base's entry for that key, else from the (already read) default of the kind.
template <class K>
std::optional<error> read_map(const json& obj, std::string_view map_name, const libp2p::limits& base,
                              libp2p::limits& ls) {
  const std::string path(map_name);
  if (!obj.is_object())
    return at(path, "expected an object mapping each " + std::string(rcmgr::detail::kind_traits<K>::name) +
                        " to its limits, got " + short_dump(obj));
  using key_t = override_key_of<K>;
  for (auto it = obj.begin(); it != obj.end(); ++it) {
    std::string p = path;
    detail::append_short_key(p, it.key());
    if (auto e = check_key<K>(it.key(), p)) return e;
    const key_t key(it.key());
    const auto& bo = base.overrides<K>();
    const auto found = bo.find(key);
    limit l = found != bo.end() ? found->second : ls.get<K>();
    if (auto e = read_scope<K>(it.value(), p, l)) return e;
    ls.set<K>(key, l);
  }
  return std::nullopt;
}

struct top_key {
  std::string_view name;
  int order;  ///< defaults (0) are read before per-key maps (1), which fall back on them
};
inline constexpr top_key top_keys[] = {
    {"System", 0},          {"Transient", 0},          {"AllowlistedSystem", 0},   {"AllowlistedTransient", 0},
    {"ServiceDefault", 0},  {"ServicePeerDefault", 0}, {"ProtocolDefault", 0},     {"ProtocolPeerDefault", 0},
    {"PeerDefault", 0},     {"Conn", 0},               {"Stream", 0},              {"Service", 1},
    {"ServicePeer", 1},     {"Protocol", 1},           {"ProtocolPeer", 1},        {"Peer", 1},
};

template <class K>
std::optional<error> read_single(const json& v, std::string_view name, libp2p::limits& ls) {
  limit l = ls.get<K>();
  if (auto e = read_scope<K>(v, std::string(name), l)) return e;
  ls.set<K>(l);
  return std::nullopt;
}

// ---- writing ----

inline nlohmann::ordered_json value_json(std::int64_t v, bool memory) {
  if (v == unlimited) return "unlimited";
  if (v == 0) return "blockAll";
  if (memory) return std::to_string(v);  // as go-libp2p writes it: JSON numbers lose precision past 2^53 in many readers
  return v;
}

/// The fields of `l` that K accounts, those differing from `rel` only when rel is given.
template <class K>
nlohmann::ordered_json scope_json(const limit& l, const limit* rel) {
  nlohmann::ordered_json o = nlohmann::ordered_json::object();
  for (const auto& f : limit_fields) {
    if (!rcmgr::detail::kind_traits<K>::accounted.contains(f.res)) continue;
    const std::int64_t v = l.*f.member;
    if (rel != nullptr && v == (*rel).*f.member) continue;
    o[std::string(f.name)] = value_json(v, f.res == resource::memory);
  }
  return o;
}

template <class K>
void write_kind(nlohmann::ordered_json& doc, const libp2p::limits& ls, const libp2p::limits* rel) {
  constexpr std::string_view single = libp2p::file_names<K>::single;
  constexpr std::string_view map = libp2p::file_names<K>::map;
  auto s = scope_json<K>(ls.get<K>(), rel != nullptr ? &rel->get<K>() : nullptr);
  if (rel == nullptr || !s.empty()) doc[std::string(single)] = std::move(s);
  if constexpr (!map.empty()) {
    std::vector<std::pair<std::string, const limit*>> entries;
    for (const auto& [k, l] : ls.overrides<K>()) entries.emplace_back(std::string(std::string_view(k)), &l);
    std::sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    if (entries.empty()) return;
    nlohmann::ordered_json m = nlohmann::ordered_json::object();
    for (const auto& [k, l] : entries) {
      const limit* start = nullptr;
      if (rel != nullptr) {
        // what a reader with base `rel` starts this entry from
        const auto& ro = rel->overrides<K>();
        const auto f = ro.find(override_key_of<K>(k));
        start = f != ro.end() ? &f->second : &ls.get<K>();
      }
      m[k] = scope_json<K>(*l, start);  // written even when empty: the entry itself is the override
    }
    doc[std::string(map)] = std::move(m);
  }
}

}  // namespace detail

/// Reads a parsed limit document over `base`. See the top of this header for the format.
inline result<limit_config> read_limits(const nlohmann::json& doc, const limit_config& base = {}) {
  using namespace libp2p;
  namespace d = detail;
  if (!doc.is_object())
    return d::at("", "expected a JSON object with scope keys (System, Transient, PeerDefault, Peer, ...), got " +
                         d::short_dump(doc));
  // Unknown keys first, so a misspelt scope is reported even if another entry is also wrong.
  for (auto it = doc.begin(); it != doc.end(); ++it) {
    const bool known = std::any_of(std::begin(d::top_keys), std::end(d::top_keys), [&](const d::top_key& k) { return k.name == it.key(); });
    if (known) continue;
    std::string msg = "unknown key; expected one of System, Transient, AllowlistedSystem, AllowlistedTransient, "
                      "ServiceDefault, Service, ServicePeerDefault, ServicePeer, ProtocolDefault, Protocol, "
                      "ProtocolPeerDefault, ProtocolPeer, PeerDefault, Peer, Conn, Stream";
    for (const auto& k : d::top_keys)
      if (d::same_letters(k.name, it.key())) msg += " (keys are case-sensitive: did you mean \"" + std::string(k.name) + "\"?)";
    std::string p;
    d::append_short_key(p, it.key());
    return d::at(p, msg);
  }
  limit_config out = base;
  libp2p::limits& ls = out.limits;
  for (int pass = 0; pass < 2; ++pass) {
    for (const auto& k : d::top_keys) {
      if (k.order != pass) continue;
      const auto it = doc.find(std::string(k.name));
      if (it == doc.end()) continue;
      const nlohmann::json& v = *it;
      std::optional<error> e;
      if (k.name == "System") e = d::read_single<system_scope>(v, k.name, ls);
      else if (k.name == "Transient") e = d::read_single<transient_scope>(v, k.name, ls);
      else if (k.name == "ServiceDefault") e = d::read_single<service_scope>(v, k.name, ls);
      else if (k.name == "ServicePeerDefault") e = d::read_single<service_peer_scope>(v, k.name, ls);
      else if (k.name == "ProtocolDefault") e = d::read_single<protocol_scope>(v, k.name, ls);
      else if (k.name == "ProtocolPeerDefault") e = d::read_single<protocol_peer_scope>(v, k.name, ls);
      else if (k.name == "PeerDefault") e = d::read_single<peer_scope>(v, k.name, ls);
      else if (k.name == "Conn") e = d::read_single<connection_scope>(v, k.name, ls);
      else if (k.name == "Stream") e = d::read_single<stream_scope>(v, k.name, ls);
      else if (k.name == "Service") e = d::read_map<service_scope>(v, k.name, base.limits, ls);
      else if (k.name == "ServicePeer") e = d::read_map<service_peer_scope>(v, k.name, base.limits, ls);
      else if (k.name == "Protocol") e = d::read_map<protocol_scope>(v, k.name, base.limits, ls);
      else if (k.name == "ProtocolPeer") e = d::read_map<protocol_peer_scope>(v, k.name, base.limits, ls);
      else if (k.name == "Peer") e = d::read_map<peer_scope>(v, k.name, base.limits, ls);
      else if (k.name == "AllowlistedSystem" || k.name == "AllowlistedTransient") {
        const bool sys = k.name == "AllowlistedSystem";
        std::optional<limit>& slot = sys ? out.allowlisted_system : out.allowlisted_transient;
        // missing fields: the base's allowlist value, else the (read) System or Transient
        limit l = slot ? *slot : (sys ? ls.get<system_scope>() : ls.get<transient_scope>());
        e = d::read_scope<system_scope>(v, std::string(k.name), l);
        if (!e) slot = l;
      }
      if (e) return *e;
    }
  }
  // Every value went through limit_set::set, which refuses what the manager would: a refusal
  // not caught above (a key the checks here let through, say) must not reach a manager.
  if (auto c = ls.check(); !c) return d::at("", c.error().message());
  return out;
}

/// Reads a limit document over a base limit set (the defaults, or scale()/autoscale() limits).
inline result<limit_config> read_limits(const nlohmann::json& doc, const libp2p::limits& base) {
  return read_limits(doc, limit_config{base, std::nullopt, std::nullopt});
}

/// Parses and reads limit-file text. A syntax error reports its line and column.
inline result<limit_config> parse_limits(std::string_view text, const limit_config& base = {}) {
  if (text.size() > max_document_size)
    return detail::at("", "document of " + std::to_string(text.size()) + " bytes exceeds the " +
                              std::to_string(max_document_size) + "-byte maximum");
  nlohmann::json doc;
  detail::strict_sax sax(doc);
  const bool ok = nlohmann::json::sax_parse(text.begin(), text.end(), &sax);
  if (!ok) {
    if (sax.refused()) return detail::at(sax.refused_path(), sax.refused_message());
    error e;
    std::string m = sax.syntax_message();
    if (auto p = m.find("] "); p != std::string::npos) m = m.substr(p + 2);   // drop "[json.exception...]"
    if (m.rfind("parse error", 0) == 0)
      if (auto p = m.find(": "); p != std::string::npos) m = m.substr(p + 2);  // drop "parse error at line..:"
    e.message = m.empty() ? "syntax error" : m;
    const std::size_t pos = std::min(sax.syntax_position(), text.size());
    e.line = 1;
    e.column = 1;
    for (std::size_t i = 0; i + 1 < pos; ++i) {
      if (text[i] == '\n') {
        ++e.line;
        e.column = 1;
      } else {
        ++e.column;
      }
    }
    return e;
  }
  return read_limits(doc, base);
}
inline result<limit_config> parse_limits(std::string_view text, const libp2p::limits& base) {
  return parse_limits(text, limit_config{base, std::nullopt, std::nullopt});
}

/// Reads a limit file. Errors carry the file name in `source`.
inline result<limit_config> load_limits(const std::filesystem::path& file, const limit_config& base = {}) {
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    error e;
    e.source = file.string();
    e.message = std::string("cannot open: ") + std::strerror(errno);
    return e;
  }
  // Read at most one byte past the bound: a huge file is refused without being read whole.
  std::string text(max_document_size + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<std::size_t>(in.gcount()));
  auto r = text.size() > max_document_size
               ? result<limit_config>(detail::at("", "file larger than the " + std::to_string(max_document_size) +
                                                         "-byte maximum"))
               : parse_limits(text, base);
  if (!r) {
    error e = r.error();
    e.source = file.string();
    return e;
  }
  return r;
}
inline result<limit_config> load_limits(const std::filesystem::path& file, const libp2p::limits& base) {
  return load_limits(file, limit_config{base, std::nullopt, std::nullopt});
}

/// How to write a limit document.
struct write_options {
  /// When set, write only what differs from this base (a limit_config or a libp2p::limits): the
  /// document then reads back to the same limits *over this base*. Per-key entries are always
  /// written (possibly as {}); an entry the base has and the written set lacks cannot be
  /// expressed (a file only adds).
  std::optional<limit_config> relative_to;
};

/// The limit document for `c`: every scope with every resource it accounts, "unlimited" and
/// "blockAll" spelled out, Memory as a string of digits (as go-libp2p writes it), per-key entries
/// sorted by key.
inline nlohmann::ordered_json to_json(const limit_config& c, const write_options& opt = {}) {
  using namespace libp2p;
  nlohmann::ordered_json doc = nlohmann::ordered_json::object();
  const libp2p::limits* rel = opt.relative_to ? &opt.relative_to->limits : nullptr;
  detail::write_kind<system_scope>(doc, c.limits, rel);
  detail::write_kind<transient_scope>(doc, c.limits, rel);
  auto allow = [&](const char* name, const std::optional<limit>& l, const std::optional<limit>& base_l, const limit& fallback) {
    if (!l) return;
    const limit* start = nullptr;
    if (opt.relative_to) start = base_l ? &*base_l : &fallback;
    doc[name] = detail::scope_json<system_scope>(*l, start);
  };
  allow("AllowlistedSystem", c.allowlisted_system, opt.relative_to ? opt.relative_to->allowlisted_system : std::nullopt,
        c.limits.get<system_scope>());
  allow("AllowlistedTransient", c.allowlisted_transient,
        opt.relative_to ? opt.relative_to->allowlisted_transient : std::nullopt, c.limits.get<transient_scope>());
  detail::write_kind<service_scope>(doc, c.limits, rel);
  detail::write_kind<service_peer_scope>(doc, c.limits, rel);
  detail::write_kind<protocol_scope>(doc, c.limits, rel);
  detail::write_kind<protocol_peer_scope>(doc, c.limits, rel);
  detail::write_kind<peer_scope>(doc, c.limits, rel);
  detail::write_kind<connection_scope>(doc, c.limits, rel);
  detail::write_kind<stream_scope>(doc, c.limits, rel);
  return doc;
}
inline nlohmann::ordered_json to_json(const libp2p::limits& ls, const write_options& opt = {}) {
  return to_json(limit_config{ls, std::nullopt, std::nullopt}, opt);
}

/// The limit document as text (indented by `indent` spaces; -1 for one line).
inline std::string write_limits(const limit_config& c, const write_options& opt = {}, int indent = 2) {
  return to_json(c, opt).dump(indent, ' ', false, nlohmann::ordered_json::error_handler_t::replace) + "\n";
}
inline std::string write_limits(const libp2p::limits& ls, const write_options& opt = {}, int indent = 2) {
  return write_limits(limit_config{ls, std::nullopt, std::nullopt}, opt, indent);
}

/// Writes a limit file.
inline result<void> save_limits(const std::filesystem::path& file, const limit_config& c, const write_options& opt = {}) {
  std::ofstream out(file, std::ios::binary | std::ios::trunc);
  if (out) out << write_limits(c, opt);
  if (!out) {
    error e;
    e.source = file.string();
    e.message = std::string("cannot write: ") + std::strerror(errno);
    return e;
  }
  return {};
}

/// True when a and b limit every resource each kind accounts alike, default and per-key
/// entries included. (Fields for resources a kind never holds are not part of a limit file.)
inline bool equivalent(const libp2p::limits& a, const libp2p::limits& b) {
  using namespace libp2p;
  bool same = true;
  auto cmp = [&]<class K>(std::type_identity<K>) {
    auto eq = [](const limit& x, const limit& y) {
      for (const auto& f : limit_fields)
        if (rcmgr::detail::kind_traits<K>::accounted.contains(f.res) && x.*f.member != y.*f.member) return false;
      return true;
    };
    if (!eq(a.get<K>(), b.get<K>())) same = false;
    if constexpr (!file_names<K>::map.empty()) {
      const auto& ao = a.overrides<K>();
      const auto& bo = b.overrides<K>();
      if (ao.size() != bo.size()) same = false;
      for (const auto& [k, l] : ao) {
        const auto f = bo.find(k);
        if (f == bo.end() || !eq(l, f->second)) same = false;
      }
    }
  };
  cmp(std::type_identity<system_scope>{});
  cmp(std::type_identity<transient_scope>{});
  cmp(std::type_identity<service_scope>{});
  cmp(std::type_identity<service_peer_scope>{});
  cmp(std::type_identity<protocol_scope>{});
  cmp(std::type_identity<protocol_peer_scope>{});
  cmp(std::type_identity<peer_scope>{});
  cmp(std::type_identity<connection_scope>{});
  cmp(std::type_identity<stream_scope>{});
  return same;
}
inline bool equivalent(const limit_config& a, const limit_config& b) {
  return equivalent(a.limits, b.limits) && a.allowlisted_system == b.allowlisted_system &&
         a.allowlisted_transient == b.allowlisted_transient;
}

/// libp2p::sanity_report() of the limits. AllowlistedSystem and AllowlistedTransient are the
/// limits of rcmgr::gated_resource_manager's allowlisted scopes (config::gated_limits() in
/// rcmgr/config/gating.hpp), not settings without effect.
inline std::vector<libp2p::finding> sanity_report(const limit_config& c) { return libp2p::sanity_report(c.limits); }

}  // namespace rcmgr::config
