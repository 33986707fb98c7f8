// Codegen probe twin: the work of probe_null_ids.cpp without any resource manager or peer id.
#include <cstddef>

#include "work.hpp"

extern "C" unsigned rcmgr_codegen_plain_ids(unsigned char* buf, std::size_t n) {
  unsigned h = rcmgr_codegen_mix(buf, n, 1);
  rcmgr_codegen_consume(buf, n);
  h ^= rcmgr_codegen_mix(buf, n, h);
  return h;
}
