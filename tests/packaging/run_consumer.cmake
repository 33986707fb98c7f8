# Runs one packaging check as a CTest test:
#   cmake -DMODE=<mode> -DSOURCE_DIR=<rcmgr source> -DWORK_DIR=<scratch> -DPREFIX=<install prefix>
#         -DGENERATOR=<gen> -DCXX=<compiler> -DHAVE_CONFIG=<ON|OFF> -P run_consumer.cmake
# Modes are described in CMakeLists.txt next to this file. Every step must do what it is expected
# to (succeed, or for config_missing fail with the expected message); its output is shown when
# it does not.
foreach(v MODE SOURCE_DIR WORK_DIR PREFIX GENERATOR CXX HAVE_CONFIG)
  if(NOT DEFINED ${v})
    message(FATAL_ERROR "run_consumer.cmake: -D${v}=... is required")
  endif()
endforeach()

function(step what)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${what} failed (${rc}):\n${out}\n${err}")
  endif()
  message(STATUS "${what}: ok")
  set(step_output "${out}" PARENT_SCOPE)
endfunction()

file(REMOVE_RECURSE ${WORK_DIR})
file(MAKE_DIRECTORY ${WORK_DIR})
set(common -G ${GENERATOR} -DCMAKE_CXX_COMPILER=${CXX} -DCMAKE_BUILD_TYPE=Release)
# What a machine without the optional packages looks like to CMake.
set(no_json -DCMAKE_DISABLE_FIND_PACKAGE_nlohmann_json=ON -Dnlohmann_json_DIR=/nonexistent)

if(MODE STREQUAL "install")
  # The plain top-level commands a user types, with the test and benchmark packages unfindable:
  # they must only be skipped (and say so).
  file(REMOVE_RECURSE ${PREFIX})
  step("configure rcmgr at top level without Catch2 and Google Benchmark"
       ${CMAKE_COMMAND} -S ${SOURCE_DIR} -B ${WORK_DIR}/rcmgr-build ${common} -DCMAKE_INSTALL_PREFIX=${PREFIX}
       -DCMAKE_DISABLE_FIND_PACKAGE_Catch2=ON -DCMAKE_DISABLE_FIND_PACKAGE_benchmark=ON)
  foreach(said "Catch2 not found" "Google Benchmark not found")
    string(FIND "${step_output}" "${said}" at)
    if(at EQUAL -1)
      message(FATAL_ERROR "the configure log does not say \"${said}\":\n${step_output}")
    endif()
  endforeach()
  step("install rcmgr" ${CMAKE_COMMAND} --install ${WORK_DIR}/rcmgr-build)
  foreach(f include/rcmgr/rcmgr.hpp share/cmake/rcmgr/rcmgr-config.cmake share/cmake/rcmgr/rcmgr-targets.cmake
            share/pkgconfig/rcmgr.pc)
    if(NOT EXISTS ${PREFIX}/${f})
      message(FATAL_ERROR "the install did not put ${f} under ${PREFIX}")
    endif()
  endforeach()
  if(NOT EXISTS ${PREFIX}/share/cmake/rcmgr/rcmgr-asio-targets.cmake)
    message(FATAL_ERROR "rcmgr::asio's export file was not installed")
  endif()
  if(HAVE_CONFIG AND NOT EXISTS ${PREFIX}/share/cmake/rcmgr/rcmgr-config-targets.cmake)
    message(FATAL_ERROR "rcmgr::config was built but its export file was not installed")
  endif()
  return()
endif()

if(MODE STREQUAL "find_package")
  set(consumer_dir ${SOURCE_DIR}/tests/packaging/find_package)
  set(extra -DCMAKE_PREFIX_PATH=${PREFIX} ${no_json})
elseif(MODE STREQUAL "config")
  set(consumer_dir ${SOURCE_DIR}/tests/packaging/find_package_config)
  set(extra -DCMAKE_PREFIX_PATH=${PREFIX})
elseif(MODE STREQUAL "config_missing")
  execute_process(COMMAND ${CMAKE_COMMAND} -S ${SOURCE_DIR}/tests/packaging/find_package_config
                          -B ${WORK_DIR}/consumer-build ${common} -DCMAKE_PREFIX_PATH=${PREFIX} ${no_json}
                  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(rc EQUAL 0)
    message(FATAL_ERROR "find_package(rcmgr COMPONENTS config) succeeded without nlohmann-json:\n${out}\n${err}")
  endif()
  set(expected "rcmgr component 'config' needs nlohmann_json 3.9, which was not found")
  string(FIND "${err}" "${expected}" at)
  if(at EQUAL -1)
    message(FATAL_ERROR "configuring failed, but without saying\n  ${expected}\nit said:\n${out}\n${err}")
  endif()
  message(STATUS "failed as expected: ${expected}")
  return()
elseif(MODE STREQUAL "pkg_config")
  find_program(PKG_CONFIG pkg-config REQUIRED)
  set(ENV{PKG_CONFIG_PATH} ${PREFIX}/share/pkgconfig)
  step("pkg-config --cflags --libs rcmgr" ${PKG_CONFIG} --cflags --libs rcmgr)
  string(STRIP "${step_output}" flags)
  separate_arguments(flags UNIX_COMMAND "${flags}")
  step("compile a consumer with pkg-config's flags"
       ${CXX} -std=c++20 -Wall -Wextra -Wpedantic -Werror ${SOURCE_DIR}/tests/packaging/consumer.cpp ${flags}
       -o ${WORK_DIR}/consumer)
  step("run consumer" ${WORK_DIR}/consumer)
  message(STATUS "${step_output}")
  return()
elseif(MODE STREQUAL "add_subdirectory")
  set(consumer_dir ${SOURCE_DIR}/tests/packaging/add_subdirectory)
  set(extra -DRCMGR_SOURCE_DIR=${SOURCE_DIR})
else()
  message(FATAL_ERROR "run_consumer.cmake: unknown MODE ${MODE}")
endif()

step("configure consumer" ${CMAKE_COMMAND} -S ${consumer_dir} -B ${WORK_DIR}/consumer-build ${common} ${extra})
step("build consumer" ${CMAKE_COMMAND} --build ${WORK_DIR}/consumer-build)
step("run consumer" ${WORK_DIR}/consumer-build/consumer)
message(STATUS "${step_output}")
