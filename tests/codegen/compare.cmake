# The null-manager codegen test (cmake -P compare.cmake).
#   COMPILER, FLAGS ('|'-separated)  the build's C++ compiler and the flags to compile the probes
#   NM, OBJDUMP                      the build's binutils (OBJDUMP may be empty)
#   SOURCE_DIR, WORK_DIR             where the probes are, where their objects go
# Compiles probe_null.cpp (a session on rcmgr::null_resource_manager), probe_plain.cpp (the same
# work without a manager) and probe_real.cpp (the session on a real manager), then requires:
#   - rcmgr_codegen_null is exactly as many bytes as rcmgr_codegen_plain (nm -S);
#   - the null object defines the same symbols as the plain one (nothing else is emitted);
#   - with objdump: the two functions are the same instructions;
#   - rcmgr_codegen_real is larger than rcmgr_codegen_plain (the comparison can fail);
#   - probe_real.cpp compiled with RCMGR_DETAIL_WITHOUT_SCOPE_HOOKS (the engine without the hooks
#     of carries<T> and instead_of<>, i.e. without connection gating) is the same bytes and the
#     same instructions as probe_real.cpp compiled normally: a manager that does not use gating
#     pays nothing for it.
#   - probe_unobserved.cpp (probe_real's session with observed_by<no_observer, no_observer>)
#     emits exactly as many bytes of code in total as probe_real.cpp, and its function is the same
#     instructions; probe_observed.cpp (with a counting observer) emits different code (the control).
#   - probe_real.cpp and probe_observed.cpp define no function of detail::graph (the topology
#     analysis is evaluated at compile time, not called at run time).
# And probe_null_ids.cpp (peer ids built at the call site) against probe_plain_ids.cpp: the same
# symbols (no out-of-line peer_id constructor) and, with clang++, the same size and instructions.
# (g++ 12 allocates registers differently around the folded calls: a few bytes either way.)
cmake_minimum_required(VERSION 3.20)
foreach(var COMPILER FLAGS NM SOURCE_DIR WORK_DIR)
  if(NOT DEFINED ${var} OR "${${var}}" STREQUAL "")
    message(FATAL_ERROR "compare.cmake: ${var} is not set")
  endif()
endforeach()
string(REPLACE "|" ";" flags "${FLAGS}")
file(MAKE_DIRECTORY "${WORK_DIR}")

foreach(probe null plain real unobserved observed null_ids plain_ids)
  set(obj "${WORK_DIR}/probe_${probe}.o")
  execute_process(COMMAND "${COMPILER}" ${flags} -c "${SOURCE_DIR}/probe_${probe}.cpp" -o "${obj}"
                  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "compiling probe_${probe}.cpp failed:\n${out}")
  endif()
  execute_process(COMMAND "${NM}" -S --size-sort "${obj}" RESULT_VARIABLE rc OUTPUT_VARIABLE sizes ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${NM} -S --size-sort ${obj} failed: ${err}")
  endif()
  # "<address> <size> T rcmgr_codegen_<probe>"
  if(NOT sizes MATCHES "([0-9a-fA-F]+) [TtWw] rcmgr_codegen_${probe}\n")
    message(FATAL_ERROR "no sized symbol rcmgr_codegen_${probe} in ${obj}:\n${sizes}")
  endif()
  math(EXPR size_${probe} "0x${CMAKE_MATCH_1}" OUTPUT_FORMAT DECIMAL)
  # every sized symbol of the object: the probe and what it instantiated out of line
  string(REGEX MATCHALL "[0-9a-fA-F]+ [0-9a-fA-F]+ [TtWw] " sized "${sizes}")
  set(total_${probe} 0)
  foreach(entry IN LISTS sized)
    string(REGEX REPLACE "^[0-9a-fA-F]+ ([0-9a-fA-F]+) .*" "\\1" hex "${entry}")
    math(EXPR total_${probe} "${total_${probe}} + 0x${hex}" OUTPUT_FORMAT DECIMAL)
  endforeach()
  execute_process(COMMAND "${NM}" --defined-only "${obj}" OUTPUT_VARIABLE defined)
  string(REGEX MATCHALL "[^ \n]+\n" names "${defined}")
  list(TRANSFORM names STRIP)
  list(SORT names)
  set(names_${probe} "${names}")
  list(LENGTH names n_names)
  if(probe MATCHES "real|observed")
    message(STATUS "rcmgr_codegen_${probe}: ${size_${probe}} bytes; the object defines ${n_names} symbols")
  else()
    message(STATUS "rcmgr_codegen_${probe}: ${size_${probe}} bytes; the object defines: ${names}")
  endif()
endforeach()

if(NOT size_null EQUAL size_plain)
  message(FATAL_ERROR "the null manager costs code: rcmgr_codegen_null is ${size_null} bytes, "
                      "its twin without a manager ${size_plain} bytes")
endif()
string(REPLACE "rcmgr_codegen_null" "rcmgr_codegen_plain" renamed "${names_null}")
if(NOT renamed STREQUAL names_plain)
  message(FATAL_ERROR "the null probe's object defines other symbols than its twin's:\n  null:  ${names_null}\n  plain: ${names_plain}")
endif()
# The topology analysis (detail::graph) is compile-time work: a real session must not emit any
# of its functions, which would mean they are evaluated at run time (clang++ 14 -O2 did that for
# graph::slot and graph::direct used outside constant contexts: a stream cycle took 6 us).
foreach(probe real observed)
  foreach(name IN LISTS names_${probe})
    if(name MATCHES "N5rcmgr6detail5graphI")
      message(FATAL_ERROR "probe_${probe}.cpp calls the topology analysis at run time: it defines ${name}")
    endif()
  endforeach()
endforeach()
if(NOT size_real GREATER size_plain)
  message(FATAL_ERROR "control failed: the real manager's probe (${size_real} bytes) is not larger than the plain one")
endif()

# Same instructions, not only the same length (addresses and symbol annotations removed).
function(instructions probe out_var)
  execute_process(COMMAND "${OBJDUMP}" -d --no-show-raw-insn "${WORK_DIR}/probe_${probe}.o" OUTPUT_VARIABLE dis RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${OBJDUMP} -d failed on probe_${probe}.o")
  endif()
  string(REPLACE "\n" ";" lines "${dis}")
  set(inside FALSE)
  set(result "")
  foreach(line IN LISTS lines)
    if(line MATCHES "<rcmgr_codegen_${probe}>:$")
      set(inside TRUE)
      continue()
    endif()
    if(inside)
      if(line MATCHES "^[ \t]*$" OR line MATCHES ">:$")
        break()
      endif()
      string(REGEX REPLACE "^[ \t]*[0-9a-fA-F]+:[ \t]*" "" line "${line}")
      string(REGEX REPLACE "<[^>]*>" "" line "${line}")
      string(REGEX REPLACE "[ \t]*#.*$" "" line "${line}")
      string(REGEX REPLACE "[ \t]+" " " line "${line}")
      string(REGEX REPLACE "0x[0-9a-fA-F]+|[0-9a-fA-F]+ $" "" line "${line}")
      list(APPEND result "${line}")
    endif()
  endforeach()
  set(${out_var} "${result}" PARENT_SCOPE)
endfunction()
if(OBJDUMP)
  instructions(null ins_null)
  instructions(plain ins_plain)
  list(LENGTH ins_null n)
  if(n EQUAL 0)
    message(FATAL_ERROR "could not read the instructions of rcmgr_codegen_null with ${OBJDUMP}")
  endif()
  if(NOT ins_null STREQUAL ins_plain)
    string(REPLACE ";" "\n  " a "${ins_null}")
    string(REPLACE ";" "\n  " b "${ins_plain}")
    message(FATAL_ERROR "same size, different instructions:\nnull:\n  ${a}\nplain:\n  ${b}")
  endif()
  message(STATUS "same ${n} instructions")
endif()

# The real probe again, without the engine's gating hooks.
set(obj "${WORK_DIR}/probe_nohooks.o")
execute_process(COMMAND "${COMPILER}" ${flags} -DRCMGR_DETAIL_WITHOUT_SCOPE_HOOKS -c "${SOURCE_DIR}/probe_real.cpp" -o "${obj}"
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "compiling probe_real.cpp without scope hooks failed:\n${out}")
endif()
execute_process(COMMAND "${NM}" -S --size-sort "${obj}" OUTPUT_VARIABLE sizes)
if(NOT sizes MATCHES "([0-9a-fA-F]+) [TtWw] rcmgr_codegen_real\n")
  message(FATAL_ERROR "no sized symbol rcmgr_codegen_real in ${obj}")
endif()
math(EXPR size_nohooks "0x${CMAKE_MATCH_1}" OUTPUT_FORMAT DECIMAL)
if(NOT size_nohooks EQUAL size_real)
  message(FATAL_ERROR "the gating hooks cost code in a manager without gating: rcmgr_codegen_real is ${size_real} bytes, "
                      "${size_nohooks} bytes without the hooks")
endif()
if(OBJDUMP)
  file(RENAME "${obj}" "${WORK_DIR}/probe_realnohooks.o")
  # instructions() reads probe_<name>.o and the function rcmgr_codegen_<name>
  execute_process(COMMAND "${OBJDUMP}" -d --no-show-raw-insn "${WORK_DIR}/probe_realnohooks.o" OUTPUT_VARIABLE d1)
  execute_process(COMMAND "${OBJDUMP}" -d --no-show-raw-insn "${WORK_DIR}/probe_real.o" OUTPUT_VARIABLE d2)
  string(REGEX REPLACE "[^\n]*file format[^\n]*" "" d1 "${d1}")
  string(REGEX REPLACE "[^\n]*file format[^\n]*" "" d2 "${d2}")
  if(NOT d1 STREQUAL d2)
    message(FATAL_ERROR "the real probe's object differs with and without the gating hooks")
  endif()
  message(STATUS "the real probe is the same object with and without the gating hooks")
endif()
message(STATUS "ok: null ${size_null} B == plain ${size_plain} B < real ${size_real} B == real without gating hooks")

# No observer costs nothing: observers that are all disabled leave the manager's code unchanged.
message(STATUS "code in total: real ${total_real} B, unobserved ${total_unobserved} B, observed ${total_observed} B")
if(NOT size_unobserved EQUAL size_real OR NOT total_unobserved EQUAL total_real)
  message(FATAL_ERROR "disabled observers cost code: rcmgr_codegen_unobserved is ${size_unobserved} bytes "
                      "(${total_unobserved} in total), rcmgr_codegen_real ${size_real} (${total_real} in total)")
endif()
set(observed_differs FALSE)
if(NOT total_observed EQUAL total_real)
  set(observed_differs TRUE)
endif()
if(OBJDUMP)
  instructions(unobserved ins_unobserved)
  instructions(real ins_real)
  instructions(observed ins_observed)
  if(NOT ins_unobserved STREQUAL ins_real)
    message(FATAL_ERROR "disabled observers change the instructions of the session")
  endif()
  if(NOT ins_observed STREQUAL ins_real)
    set(observed_differs TRUE)
  endif()
endif()
# The control: a real observer must change the code (its size, or the session's instructions;
# compilers inline differently, so the total alone may even shrink).
if(NOT observed_differs)
  message(FATAL_ERROR "control failed: the observed probe compiles to the same code as the unobserved one")
endif()
message(STATUS "ok: unobserved ${total_unobserved} B == real ${total_real} B; observed differs (${total_observed} B)")

# Peer ids built at the call site.
string(REPLACE "rcmgr_codegen_null_ids" "rcmgr_codegen_plain_ids" renamed_ids "${names_null_ids}")
if(NOT renamed_ids STREQUAL names_plain_ids)
  message(FATAL_ERROR "building peer ids costs code with the null manager; the object defines other symbols "
                      "than its twin's:\n  null:  ${names_null_ids}\n  plain: ${names_plain_ids}")
endif()
execute_process(COMMAND "${COMPILER}" --version OUTPUT_VARIABLE compiler_version)
if(compiler_version MATCHES "clang")
  if(NOT size_null_ids EQUAL size_plain_ids)
    message(FATAL_ERROR "building peer ids costs code with the null manager: rcmgr_codegen_null_ids is "
                        "${size_null_ids} bytes, its twin ${size_plain_ids} bytes")
  endif()
  if(OBJDUMP)
    instructions(null_ids ins_null_ids)
    instructions(plain_ids ins_plain_ids)
    if(NOT ins_null_ids STREQUAL ins_plain_ids)
      message(FATAL_ERROR "peer ids at the call site: same size, different instructions")
    endif()
  endif()
endif()
message(STATUS "ok: peer ids at the call site: null ${size_null_ids} B, plain ${size_plain_ids} B")
