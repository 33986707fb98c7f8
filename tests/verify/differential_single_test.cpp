// Differential test, single_threaded policy (see differential_test.cpp for the options).
#include <catch2/catch.hpp>

#include "verify/differential.hpp"

TEST_CASE("the single-threaded manager agrees with the reference model on random call sequences", "[verify][differential]") {
  verify::run_sequences<rcmgr::single_threaded>("single_threaded");
}
