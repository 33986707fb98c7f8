// The work both codegen probes do around their resource-management calls: enough real code that
// the optimiser cannot fold the probes to nothing, identical in both TUs. No rcmgr here.
#pragma once

#include <cstddef>

/// Defined nowhere: the probes are only compiled, never linked, so the compiler must keep the
/// call and the buffer it reads.
extern "C" void rcmgr_codegen_consume(unsigned char* buf, std::size_t n);

inline unsigned rcmgr_codegen_mix(unsigned char* buf, std::size_t n, unsigned seed) {
  unsigned h = seed * 2654435761u;
  for (std::size_t i = 0; i < n; ++i) {
    h = (h ^ buf[i]) * 16777619u;
    buf[i] = static_cast<unsigned char>(h >> 24);
  }
  return h;
}
