# rcmgr_firmware_<image> (cmake -P): run a firmware image under QEMU (mps2-an386, Cortex-M4) with
# semihosting, bounded by a timeout, and require
#   - exit status 0 (the image's main returns the number of steps that went otherwise than expected),
#   - the closing line "result: all steps as expected",
#   - no allocator in the image: malloc, operator new and their kin are not even linked.
# QEMU, NM, ELF. With EXPECT_HEAP_USE=ON (the heap_probe control) the opposite: an allocator is
# linked, and the image stops with status 86 after saying "heap use".
cmake_minimum_required(VERSION 3.20)
foreach(var QEMU NM ELF)
  if(NOT DEFINED ${var} OR "${${var}}" STREQUAL "")
    message(FATAL_ERROR "run.cmake: ${var} is not set")
  endif()
endforeach()
if(NOT EXISTS "${ELF}")
  message(FATAL_ERROR "${ELF} does not exist (did rcmgr_firmware_build run?)")
endif()

# Heap-free: the image must not contain an allocator (symbols as newlib and libstdc++ name them).
execute_process(COMMAND ${NM} --defined-only ${ELF} OUTPUT_VARIABLE syms RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "${NM} ${ELF} failed")
endif()
set(allocators malloc _malloc_r calloc _calloc_r realloc _realloc_r memalign _memalign_r free _free_r
               _Znwj _Znaj _ZnwjSt11align_val_t _ZnajSt11align_val_t _ZdlPv _ZdlPvj _ZdaPv)
set(found "")
foreach(s IN LISTS allocators)
  if(syms MATCHES "[0-9a-fA-F]+ [TtWw] ${s}\n")
    list(APPEND found ${s})
  endif()
endforeach()
if(EXPECT_HEAP_USE)
  if(NOT found)
    message(FATAL_ERROR "control failed: ${ELF} calls malloc, but no allocator symbol was found in it")
  endif()
elseif(found)
  message(FATAL_ERROR "${ELF} links an allocator: ${found} (see its .map file for who pulled it in)")
endif()

execute_process(COMMAND ${QEMU} -machine mps2-an386 -cpu cortex-m4 -nographic -monitor none -serial none
                        -semihosting-config enable=on,target=native -kernel ${ELF}
                TIMEOUT 60 RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
# (QEMU writes semihosting output to its standard error when no chardev is given: both are read.)
message("${out}")
if(EXPECT_HEAP_USE)
  if(NOT rc STREQUAL "86" OR NOT out MATCHES "heap use: ")
    message(FATAL_ERROR "control failed: the heap probe exited with status '${rc}' (86 expected, after 'heap use: ...')")
  endif()
  message(STATUS "ok: the heap probe links malloc and stops with status 86 when it calls it")
  return()
endif()
if(NOT rc STREQUAL "0")
  message(FATAL_ERROR "the firmware exited with status '${rc}' (0 expected)")
endif()
if(NOT out MATCHES "\nresult: all steps as expected\n")
  message(FATAL_ERROR "the firmware's output does not end with 'result: all steps as expected'")
endif()
message(STATUS "ok: exit status 0, every step as expected, no allocator linked")
