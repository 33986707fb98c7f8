// The control of the heap checks: an image that calls malloc. Its test requires that the
// allocator shows up in the image and that the call stops the program with status 86 (startup.cpp's
// _sbrk), so the same checks passing on node_a and node_b mean something.
#include <cstdlib>

#include "board.hpp"

int main() {
  board::print("heap probe: calling malloc(64)\n");
  void* volatile p = std::malloc(64);
  board::print("heap probe: malloc returned; this line must not be reached\n");
  std::free(p);
  return 0;
}
