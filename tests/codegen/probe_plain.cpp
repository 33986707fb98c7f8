// Codegen probe twin: the work of probe_null.cpp without any resource manager.
#include <cstddef>

#include "work.hpp"

extern "C" unsigned rcmgr_codegen_plain(const void* peer_ptr, unsigned char* buf, std::size_t n) {
  (void)peer_ptr;
  unsigned h = rcmgr_codegen_mix(buf, n, 1);
  rcmgr_codegen_consume(buf, n);
  h ^= rcmgr_codegen_mix(buf, n, h);
  return h;
}
