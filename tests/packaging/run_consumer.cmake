# Runs one packaging check as a CTest test: cmake -DMODE=find_package|add_subdirectory
# -DSOURCE_DIR=<rcmgr source> -DWORK_DIR=<scratch> -DGENERATOR=<gen> -DCXX=<compiler> -P run_consumer.cmake
# Every step (configure, build, install, run) must succeed; its output is shown on failure.
foreach(v MODE SOURCE_DIR WORK_DIR GENERATOR CXX)
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
set(consumer_dir ${SOURCE_DIR}/tests/packaging/${MODE})
set(common -G ${GENERATOR} -DCMAKE_CXX_COMPILER=${CXX} -DCMAKE_BUILD_TYPE=Release)

if(MODE STREQUAL "find_package")
  set(prefix ${WORK_DIR}/prefix)
  step("configure rcmgr for install"
       ${CMAKE_COMMAND} -S ${SOURCE_DIR} -B ${WORK_DIR}/rcmgr-build ${common} -DCMAKE_INSTALL_PREFIX=${prefix}
       -DRCMGR_BUILD_TESTS=OFF -DRCMGR_BUILD_EXAMPLES=OFF -DRCMGR_BUILD_BENCH=OFF -DRCMGR_INSTALL=ON)
  step("build rcmgr" ${CMAKE_COMMAND} --build ${WORK_DIR}/rcmgr-build)
  step("install rcmgr" ${CMAKE_COMMAND} --install ${WORK_DIR}/rcmgr-build)
  if(NOT EXISTS ${prefix}/include/rcmgr/rcmgr.hpp)
    message(FATAL_ERROR "the install did not put rcmgr/rcmgr.hpp under ${prefix}/include")
  endif()
  set(extra -DCMAKE_PREFIX_PATH=${prefix})
elseif(MODE STREQUAL "add_subdirectory")
  set(extra -DRCMGR_SOURCE_DIR=${SOURCE_DIR})
else()
  message(FATAL_ERROR "run_consumer.cmake: unknown MODE ${MODE}")
endif()

step("configure consumer" ${CMAKE_COMMAND} -S ${consumer_dir} -B ${WORK_DIR}/consumer-build ${common} ${extra})
step("build consumer" ${CMAKE_COMMAND} --build ${WORK_DIR}/consumer-build)
step("run consumer" ${WORK_DIR}/consumer-build/consumer)
message(STATUS "${step_output}")
