# rcmgr_firmware_code_size (cmake -P): the size of rcmgr's code in each firmware image, against
# the committed figures in examples/firmware/code_size.txt.
#
# What is counted ("rcmgr .text"): the sizes (nm -S) of every function symbol in the image's
# .text whose mangled name is in namespace rcmgr (_ZN[qualifiers]5rcmgr...): the engine, the
# handles, result, error builders, including template instantiations for the firmware's
# topology and their .isra/.part clones; one body with several names (a constructor's C1 and C2
# symbols) once; also firmware code the compiler inlined into an rcmgr template it instantiates
# (view<K>(key, f) with the firmware's f). The list is written to <image>.rcmgr_text.txt.
# Not counted: rcmgr code the compiler inlined into the firmware's own functions (at -Os, small
# calls such as stat() or a handle's reserve_memory wrapper), and library code rcmgr calls
# (memcpy, memset). "image .text" is the whole image's
# .text (arm-none-eabi-size -A): startup, the session, printing, libc.
#
# Fails if either figure of an image exceeds its committed value by more than 10%; warns when
# rcmgr .text is over the image's target. NM, SIZE, BINARY_DIR, IMAGES ('|'-separated), BUDGET.
cmake_minimum_required(VERSION 3.20)
foreach(var NM SIZE BINARY_DIR IMAGES BUDGET)
  if(NOT DEFINED ${var} OR "${${var}}" STREQUAL "")
    message(FATAL_ERROR "code_size.cmake: ${var} is not set")
  endif()
endforeach()
string(REPLACE "|" ";" images "${IMAGES}")

file(STRINGS ${BUDGET} budget_lines REGEX "^[a-z_0-9]+[ \t]+[0-9]+[ \t]+[0-9]+[ \t]+[0-9]+")
set(failed FALSE)
set(report "image      rcmgr .text (symbols)   image .text   committed rcmgr / image   target\n")
foreach(image IN LISTS images)
  set(elf ${BINARY_DIR}/${image}.elf)
  if(NOT EXISTS ${elf})
    message(FATAL_ERROR "${elf} does not exist (did rcmgr_firmware_build run?)")
  endif()
  execute_process(COMMAND ${NM} -S --size-sort ${elf} OUTPUT_VARIABLE syms RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${NM} -S --size-sort ${elf} failed")
  endif()
  string(REPLACE "\n" ";" syms "${syms}")
  set(rcmgr_text 0)
  set(count 0)
  set(seen "")
  set(listing "")
  foreach(line IN LISTS syms)
    # one body under several names (a constructor's complete and base-object symbols) counts once
    if(line MATCHES "^([0-9a-fA-F]+) ([0-9a-fA-F]+) [TtWw] (_ZN[rVKRO]*5rcmgr.*)$" AND NOT CMAKE_MATCH_1 IN_LIST seen)
      list(APPEND seen ${CMAKE_MATCH_1})
      math(EXPR rcmgr_text "${rcmgr_text} + 0x${CMAKE_MATCH_2}")
      math(EXPR size "0x${CMAKE_MATCH_2}" OUTPUT_FORMAT DECIMAL)
      string(APPEND listing "${size} ${CMAKE_MATCH_3}\n")
      math(EXPR count "${count} + 1")
    endif()
  endforeach()
  # what was counted, for `c++filt < <image>.rcmgr_text.txt`
  file(WRITE ${BINARY_DIR}/${image}.rcmgr_text.txt "${listing}")
  execute_process(COMMAND ${SIZE} -A ${elf} OUTPUT_VARIABLE sections RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0 OR NOT sections MATCHES "\n\\.text[ \t]+([0-9]+)")
    message(FATAL_ERROR "${SIZE} -A ${elf}: no .text")
  endif()
  set(image_text ${CMAKE_MATCH_1})

  set(committed_rcmgr "")
  foreach(b IN LISTS budget_lines)
    if(b MATCHES "^${image}[ \t]+([0-9]+)[ \t]+([0-9]+)[ \t]+([0-9]+)")
      set(committed_rcmgr ${CMAKE_MATCH_1})
      set(committed_image ${CMAKE_MATCH_2})
      set(target ${CMAKE_MATCH_3})
    endif()
  endforeach()
  if(committed_rcmgr STREQUAL "")
    message(SEND_ERROR "${image}: no line in ${BUDGET}; measured: ${image} ${rcmgr_text} ${image_text}")
    set(failed TRUE)
    continue()
  endif()
  string(APPEND report "${image}     ${rcmgr_text} B (${count})            ${image_text} B      ${committed_rcmgr} / ${committed_image} B         ${target} B\n")
  math(EXPR max_rcmgr "${committed_rcmgr} * 11 / 10")
  math(EXPR max_image "${committed_image} * 11 / 10")
  if(rcmgr_text GREATER max_rcmgr)
    message(SEND_ERROR "${image}: rcmgr .text is ${rcmgr_text} B, more than 10% over the committed ${committed_rcmgr} B")
    set(failed TRUE)
  endif()
  if(image_text GREATER max_image)
    message(SEND_ERROR "${image}: image .text is ${image_text} B, more than 10% over the committed ${committed_image} B")
    set(failed TRUE)
  endif()
  if(rcmgr_text GREATER target)
    # reported, not failed: the 10% rule above is the gate; the target is where to be
    message(WARNING "${image}: rcmgr .text is ${rcmgr_text} B, over its target of ${target} B")
  endif()
endforeach()
message("${report}")
if(failed)
  message(FATAL_ERROR "code size check failed (update ${BUDGET} only for growth that is understood and wanted)")
endif()
