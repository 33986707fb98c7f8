// Differential test, thread_cached policy (see differential_test.cpp for the options). Used from
// one thread, it must decide and report exactly as the model does: its per-thread stock is
// returned before any refusal and is left out of stat(). A small chunk (64 bytes, next to limits
// of a few hundred bytes) keeps stock in play on most reservations.
#include <catch2/catch.hpp>

#include "verify/differential.hpp"

TEST_CASE("the thread-cached manager agrees with the reference model on random call sequences", "[verify][differential]") {
  verify::run_sequences<rcmgr::thread_cached<64, 2>>("thread_cached<64, 2>");
}

// The default policy (thread_cached<>: 64 KiB chunks, 8 slots). Next to the small limits of the
// sequences its chunk rarely fits, so this mostly checks the fall-back to the exact path.
TEST_CASE("the default manager (thread_cached<>) agrees with the reference model on random call sequences",
          "[verify][differential]") {
  verify::run_sequences<rcmgr::thread_cached<>>("thread_cached<> (the default)");
}
