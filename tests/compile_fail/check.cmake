# Runs the compiler on one compile-fail TU (cmake -P check.cmake).
#   COMPILER  the C++ compiler of the build
#   FLAGS     its flags, separated by '|'
#   SOURCE    the TU; its lines "// expect: <text>" give text the diagnostics must contain
#   MODE      fail: the TU must fail to compile, printing every expected text, and at most
#                   MAX_ERRORS errors (default 2: the report and the manager's "reported above";
#                   no cascade)
#             pass: the TU with RCMGR_CF_VALID defined (its corrected twin) must compile cleanly
# A bare "it did not compile" never passes: a typo in the TU would pass that too.
cmake_minimum_required(VERSION 3.20)
foreach(var COMPILER FLAGS SOURCE MODE)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "check.cmake: ${var} is not set")
  endif()
endforeach()
if(NOT DEFINED MAX_ERRORS)
  set(MAX_ERRORS 2)
endif()

string(REPLACE "|" ";" flags "${FLAGS}")
set(cmd "${COMPILER}" ${flags} -fsyntax-only "${SOURCE}")
if(MODE STREQUAL "pass")
  list(APPEND cmd -DRCMGR_CF_VALID)
endif()
execute_process(COMMAND ${cmd} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
string(REPLACE ";" "|" shown_cmd "${cmd}")

if(MODE STREQUAL "pass")
  if(NOT rc EQUAL 0 OR out MATCHES "error" OR out MATCHES "warning:")
    message(FATAL_ERROR "the corrected twin of ${SOURCE} must compile without diagnostics (exit ${rc}):\n${out}")
  endif()
  message(STATUS "ok: the corrected twin compiles")
  return()
endif()

if(rc EQUAL 0)
  message(FATAL_ERROR "${SOURCE} compiled, but must not:\n${out}")
endif()
file(STRINGS "${SOURCE}" expectations REGEX "^// expect: ")
list(LENGTH expectations n_expect)
if(n_expect EQUAL 0)
  message(FATAL_ERROR "${SOURCE} has no '// expect: ' line")
endif()
foreach(line IN LISTS expectations)
  string(REGEX REPLACE "^// expect: " "" text "${line}")
  string(FIND "${out}" "${text}" at)
  if(at EQUAL -1)
    message(FATAL_ERROR "the diagnostics of ${SOURCE} do not contain\n  ${text}\nthey were:\n${out}")
  endif()
  message(STATUS "found: ${text}")
endforeach()
# a TU may allow more errors ("// max-errors: N"): an invalid scope<...> also makes the topology
# that lists it invalid, and clang says so
file(STRINGS "${SOURCE}" max_line REGEX "^// max-errors: [0-9]+$")
if(max_line)
  string(REGEX REPLACE "^// max-errors: " "" MAX_ERRORS "${max_line}")
endif()
string(REGEX MATCHALL "error:" errors "${out}")
list(LENGTH errors n_errors)
if(n_errors GREATER MAX_ERRORS)
  message(FATAL_ERROR "${SOURCE}: ${n_errors} errors, expected at most ${MAX_ERRORS} (a cascade):\n${out}")
endif()
message(STATUS "ok: ${n_errors} error(s), every expected text found")
