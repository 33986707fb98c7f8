// Scope kinds shared by the compile-fail TUs. Each TU declares one topology that is wrong in
// exactly one way, or, with RCMGR_CF_VALID defined, its corrected twin, and builds a manager on
// it. Kinds live in the global namespace so that diagnostics print their bare names.
#pragma once

#include <string>

#include "rcmgr/manager.hpp"
#include "rcmgr/topology.hpp"

struct system_scope : rcmgr::scope<rcmgr::singleton> {};
struct transient_scope : rcmgr::scope<rcmgr::singleton> {};
struct a_scope : rcmgr::scope<rcmgr::singleton> {};
struct b_scope : rcmgr::scope<rcmgr::singleton> {};
struct memory_only_scope : rcmgr::scope<rcmgr::singleton, rcmgr::accounts<rcmgr::resource::memory>> {};
struct peer_scope : rcmgr::scope<rcmgr::keyed_by<std::string>> {};
struct proto_scope : rcmgr::scope<rcmgr::keyed_by<std::string>> {};
struct proto_peer_scope : rcmgr::scope<rcmgr::view_of<proto_scope, peer_scope>> {};
struct conn_scope : rcmgr::scope<> {};
struct conn2_scope : rcmgr::scope<> {};
struct stream_scope : rcmgr::scope<> {};

using rcmgr::after;
using rcmgr::edge;
using rcmgr::kinds;
using rcmgr::late;
using rcmgr::until;

/// Builds a manager on the topology: the twin must be usable, not merely declarable.
#define RCMGR_CF_USE(T)                       \
  int main() {                                \
    rcmgr::basic_resource_manager<T> manager; \
    (void)manager;                            \
  }
