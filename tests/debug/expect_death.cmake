# Runs one death-test case: cmake -DPROGRAM=<exe> -DCASE=<name> -DEXPECT=<regex> -P expect_death.cmake
# Passes when the program ends abnormally (aborted, or a non-zero exit) AND its output matches
# EXPECT; a clean exit, or a death with another message, fails.
execute_process(COMMAND ${PROGRAM} ${CASE} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
if(rc STREQUAL "0")
  message(FATAL_ERROR "${CASE}: the program exited normally; the check did not fire:\n${out}")
endif()
if(NOT out MATCHES "${EXPECT}")
  message(FATAL_ERROR "${CASE}: the program died (${rc}) without the expected report\n  ${EXPECT}\nit printed:\n${out}")
endif()
message(STATUS "${CASE}: died (${rc}) with the expected report:\n${out}")
