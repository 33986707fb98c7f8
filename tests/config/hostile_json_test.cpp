// Hostile limit files: deeply nested, huge and many-key documents are refused with the path and
// the bound they broke, without recursion on their nesting, on a thread with a 256 KiB stack
// (std::thread cannot set its stack size: a pthread is made with pthread_attr_setstacksize).
#include <catch2/catch.hpp>

#include <pthread.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include "rcmgr/config/json.hpp"

namespace {

namespace cfg = rcmgr::config;

/// Runs f on a new thread whose stack is `stack_bytes`; a stack overflow crashes the test.
void on_small_stack(const std::function<void()>& f, std::size_t stack_bytes = 256 * 1024) {
  pthread_attr_t attr;
  REQUIRE(pthread_attr_init(&attr) == 0);
  REQUIRE(pthread_attr_setstacksize(&attr, stack_bytes) == 0);
  pthread_t t;
  auto* arg = const_cast<std::function<void()>*>(&f);
  REQUIRE(pthread_create(
              &t, &attr,
              [](void* p) -> void* {
                (*static_cast<std::function<void()>*>(p))();
                return nullptr;
              },
              arg) == 0);
  REQUIRE(pthread_join(t, nullptr) == 0);
  pthread_attr_destroy(&attr);
}

/// Parses on a 256 KiB stack; returns the error text ("" when it parsed).
std::string parse_small(const std::string& text) {
  std::string out;
  on_small_stack([&] {
    auto r = cfg::parse_limits(text);
    out = r ? "" : r.error().str();
  });
  return out;
}

std::string repeat(std::string_view unit, std::size_t n) {
  std::string s;
  s.reserve(unit.size() * n);
  for (std::size_t i = 0; i < n; ++i) s += unit;
  return s;
}

/// {"Protocol": {"/p/0": {}, ..., "/p/<n-1>": {}}}: n + 1 keys, n of them in one object.
std::string protocols(std::size_t n) {
  std::string doc = R"({"Protocol": {)";
  for (std::size_t i = 0; i < n; ++i) {
    if (i != 0) doc += ',';
    doc += "\"/p/" + std::to_string(i) + "\":{}";
  }
  return doc + "}}";
}

/// Slots the duplicate check looks at while parsing `text`.
std::uint64_t duplicate_check_probes(const std::string& text) {
  nlohmann::json doc;
  cfg::detail::strict_sax sax(doc);
  REQUIRE(nlohmann::json::sax_parse(text.begin(), text.end(), &sax));
  return sax.probes();
}

/// Seconds parse_limits takes on `text`.
double parse_seconds(const std::string& text) {
  const auto t0 = std::chrono::steady_clock::now();
  const auto r = cfg::parse_limits(text);
  const std::chrono::duration<double> d = std::chrono::steady_clock::now() - t0;
  REQUIRE(r.has_value());
  return d.count();
}

}  // namespace

TEST_CASE("a million nested arrays or objects are refused at the depth bound", "[config][hostile]") {
  const std::size_t n = 1000000;
  CHECK(parse_small(repeat("[", n) + repeat("]", n)) == "nested deeper than 16 levels");
  const std::string objects = repeat(R"({"a":)", n) + "1" + repeat("}", n);
  CHECK(parse_small(objects) == "a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a: nested deeper than 16 levels");
  // unterminated: refused the same way, before the syntax error at the end
  CHECK(parse_small(repeat(R"({"Peer":)", n)) == "Peer.Peer.Peer.Peer.Peer.Peer.Peer.Peer.Peer.Peer.Peer.Peer.Peer.Peer.Peer.Peer: "
                                                 "nested deeper than 16 levels");
  // within the bound, nesting is an ordinary error of the reader
  CHECK(parse_small(R"({"System": {"Memory": [[[[[[[1]]]]]]]}})") ==
        R"(System.Memory: expected a non-negative integer (or a string of digits), "default", "unlimited" or "blockAll", got an array)");
}

TEST_CASE("a document above the size bound is refused before it is parsed", "[config][hostile]") {
  const std::string huge = "{" + std::string(cfg::max_document_size, ' ') + "}";
  CHECK(parse_small(huge) == "document of 16777218 bytes exceeds the 16777216-byte maximum");
  // just within the bound it parses (whitespace is legal)
  const std::string big = "{" + std::string(cfg::max_document_size - 2, ' ') + "}";
  CHECK(parse_small(big) == "");
}

TEST_CASE("more keys than the bound are refused with the path of the object", "[config][hostile]") {
  std::string doc = R"({"Protocol": {)";
  for (std::size_t i = 0; i <= cfg::max_keys; ++i) {
    if (i != 0) doc += ',';
    doc += "\"/p/" + std::to_string(i) + "\":{}";
  }
  doc += "}}";
  CHECK(parse_small(doc) == "Protocol: more than 200000 keys in the document");
}

TEST_CASE("a duplicate key after 90000 entries is found, with its path", "[config][hostile]") {
  std::string doc = R"({"Protocol": {)";
  for (std::size_t i = 0; i < 90000; ++i) doc += "\"/p/" + std::to_string(i) + "\":{\"Memory\":1},";
  doc += R"("/p/5": {}}})";
  CHECK(parse_small(doc) == R"(Protocol["/p/5"]: duplicate key (each key may appear once per object))");
  // and the same document without the duplicate reads, every entry in place
  doc.resize(doc.size() - std::string(R"("/p/5": {}}})").size() - 1);
  doc += "}}";
  std::size_t entries = 0;
  on_small_stack([&] {
    auto r = cfg::parse_limits(doc);
    if (r) entries = r->limits.overrides<rcmgr::libp2p::protocol_scope>().size();
  });
  CHECK(entries == 90000);
}

TEST_CASE("long keys and strings are cut in messages, and refused where they cannot be keys", "[config][hostile]") {
  const std::string long_key(100000, 'k');
  const std::string e1 = parse_small(R"({")" + long_key + R"(": {}})");
  CHECK(e1.size() < 600);
  CHECK_THAT(e1, Catch::StartsWith("[\"" + std::string(61, 'k') + "...\"]: unknown key"));
  const std::string e2 = parse_small(R"({"Protocol": {"/)" + std::string(2000, 'p') + R"(": {}}})");
  CHECK_THAT(e2, Catch::EndsWith("key of 2001 bytes exceeds the 1023-byte maximum"));
  const std::string e3 = parse_small(R"({"System": {"Memory": ")" + std::string(100000, 'x') + R"("}})");
  CHECK(e3.size() < 300);
}

TEST_CASE("read_limits on a deeply nested value a caller built does not recurse", "[config][hostile]") {
  // nlohmann's destructor is iterative; the reader must not dump or walk the value recursively.
  nlohmann::json deep = nlohmann::json::array();
  for (int i = 0; i < 200000; ++i) deep = nlohmann::json::array({std::move(deep)});
  nlohmann::json doc = {{"System", {{"Memory", std::move(deep)}}}};
  std::string err;
  on_small_stack([&] {
    auto r = cfg::read_limits(doc);
    err = r ? "" : r.error().str();
  });
  CHECK_THAT(err, Catch::EndsWith("got an array"));
  // tear the value down here, on the large stack (the destructor is the library's, not ours)
}

TEST_CASE("duplicate keys are found with constant work per key", "[config][hostile]") {
  // An ordered set does ~log2(k) comparisons per key of a k-key object (14 at 20,000, 15 at
  // 40,000): the work per key grows with the object. The hash set does about 3.3 probes per key
  // (insertions at most half load, plus rehashing when the table doubles), whatever the size.
  const std::size_t n = 20000;
  const double per_key_n = double(duplicate_check_probes(protocols(n))) / double(n + 1);
  const double per_key_2n = double(duplicate_check_probes(protocols(2 * n))) / double(2 * n + 1);
  INFO("probes per key: " << per_key_n << " at " << n << " keys, " << per_key_2n << " at " << 2 * n);
  CHECK(per_key_n < 5.0);
  CHECK(per_key_2n < 5.0);
  CHECK(per_key_2n < per_key_n + 0.25);
  // Many small objects: the same constant per key.
  std::string many = R"({"Peer": {)";
  for (std::size_t i = 0; i < 10000; ++i)
    many += (i != 0 ? ",\"P" : "\"P") + std::to_string(i) + R"(":{"Conns":1,"Streams":2,"Memory":"3","FD":4})";
  many += "}}";
  CHECK(double(duplicate_check_probes(many)) / 50002.0 < 5.0);
  // The hash is keyed per reader: no two readers share a key, so keys that collide under one
  // say nothing about the next (a fixed or unseeded hash would fail here).
  nlohmann::json d1, d2;
  const cfg::detail::strict_sax a(d1), b(d2);
  CHECK((a.seed().k0 != b.seed().k0 || a.seed().k1 != b.seed().k1));
  CHECK((a.seed().k0 != 0 || a.seed().k1 != 0));
}

TEST_CASE("reading four times the keys takes about four times the time", "[config][hostile]") {
  // A regression gate against quadratic work, measured against the same run: 4n keys take about
  // 4x the time of n (4.5x with the document's std::map objects and a larger working set), a
  // quadratic reader 16x. Each of five rounds times n then 4n back to back, so both see the
  // same load; the median of the five ratios counts, so a burst of other work on the machine
  // during one round does not decide it.
  const std::size_t n = 5000;
  const std::string small = protocols(n), large = protocols(4 * n);
  std::vector<double> ratios;
  for (int i = 0; i < 5; ++i) {
    const double t_n = parse_seconds(small);
    ratios.push_back(parse_seconds(large) / t_n);
  }
  std::sort(ratios.begin(), ratios.end());
  const double ratio = ratios[ratios.size() / 2];
  INFO(n << " vs " << 4 * n << " keys: median ratio " << ratio << " (from " << ratios.front() << " to " << ratios.back() << ")");
  CHECK(ratio < 8.0);
}
