// Differential test, thread_cached policy (see differential_test.cpp for the options). Used from
// one thread, it must decide and report exactly as the model does: its per-thread stock is
// returned before any refusal and is left out of stat(). A small chunk (64 bytes, next to limits
// of a few hundred bytes) keeps stock in play on most reservations.
#include <catch2/catch.hpp>

#include "verify/differential.hpp"

TEST_CASE("the thread-cached manager agrees with the reference model on random call sequences", "[verify][differential]") {
  verify::run_sequences<rcmgr::thread_cached<64, 2>>("thread_cached<64, 2>");
}

// thread_cached<> with its default chunk (64 KiB, 8 slots). Next to the small limits of the
// sequences its chunk rarely fits, so this mostly checks the fall-back to the exact path.
TEST_CASE("thread_cached<> with its default chunk agrees with the reference model on random call sequences",
          "[verify][differential]") {
  verify::run_sequences<rcmgr::thread_cached<>>("thread_cached<>");
}
