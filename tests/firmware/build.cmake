# rcmgr_firmware_build (cmake -P): configure the firmware project with the cross toolchain if
# needed, then build it. SOURCE_DIR, BINARY_DIR, TOOLCHAIN, GENERATOR, WERROR.
cmake_minimum_required(VERSION 3.20)
foreach(var SOURCE_DIR BINARY_DIR TOOLCHAIN GENERATOR)
  if(NOT DEFINED ${var} OR "${${var}}" STREQUAL "")
    message(FATAL_ERROR "build.cmake: ${var} is not set")
  endif()
endforeach()
if(NOT WERROR)
  set(WERROR OFF)
endif()
execute_process(COMMAND ${CMAKE_COMMAND} -S ${SOURCE_DIR} -B ${BINARY_DIR} -G ${GENERATOR}
                        -DCMAKE_TOOLCHAIN_FILE=${TOOLCHAIN} -DRCMGR_WERROR=${WERROR}
                RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "configuring the firmware failed (${rc})")
endif()
execute_process(COMMAND ${CMAKE_COMMAND} --build ${BINARY_DIR} -j 1 RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "building the firmware failed (${rc})")
endif()
