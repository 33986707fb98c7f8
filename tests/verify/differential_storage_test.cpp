// Differential test over the storage policies other than the default: bounded_storage and
// static_storage with caps above anything the sequences reach (4 peers, 3 protocols, 2
// services, 4 connections, 4 streams, 6 spans), so that the answers must be the model's
// exactly; a node store or table that lost, shared or mislaid a scope would show as a
// disagreement. 200 sequences per combination by default (the storage policies change where
// nodes live, not how they are charged), so the four add about as much as one concurrency
// policy. See differential_test.cpp for the options.
#include <catch2/catch.hpp>

#include "verify/differential.hpp"

TEST_CASE("the manager on static_storage agrees with the reference model", "[verify][differential][storage]") {
  verify::run_sequences<rcmgr::single_threaded, rcmgr::static_storage<32, 16>>("single_threaded, static_storage<32, 16>", 200);
  verify::run_sequences<rcmgr::thread_safe, rcmgr::static_storage<32>>("thread_safe, static_storage<32>", 200);
}

TEST_CASE("the manager on bounded_storage agrees with the reference model", "[verify][differential][storage]") {
  verify::run_sequences<rcmgr::thread_safe, rcmgr::bounded_storage<32>>("thread_safe, bounded_storage<32>", 200);
  verify::run_sequences<rcmgr::thread_cached<64, 2>, rcmgr::bounded_storage<32>>("thread_cached<64, 2>, bounded_storage<32>", 200);
}
