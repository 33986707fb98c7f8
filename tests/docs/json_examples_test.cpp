// Every ```json block of README.md and docs/*.md is a limit file that rcmgr reads (blocks marked
// <!-- snippet: not-a-limit-file --> are left out by the extractor).
#include <catch2/catch.hpp>

#include "json_examples.hpp"
#include "rcmgr/config/json.hpp"

TEST_CASE("every JSON example in the docs loads with the reader", "[docs][config]") {
  int n = 0;
  for (const auto* e = doc_json_examples; e->where != nullptr; ++e, ++n) {
    INFO(e->where);
    auto r = rcmgr::config::parse_limits(e->text);
    if (!r) FAIL_CHECK(e->where << ": " << r.error());
    else SUCCEED();
  }
  INFO("JSON examples found: " << n);
  CHECK(n >= 1);  // docs/limits.md shows a limit file
}
