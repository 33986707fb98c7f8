# The object file of a translation unit that uses the manager through rcmgr::libp2p_instance
# must define none of the engine's functions (they come from src/libp2p_instance.cpp), and must
# call the handles' reservation entry point from there.
# usage: cmake -DNM=<nm> -DOBJECTS=<object files> -P check_symbols.cmake
execute_process(COMMAND ${NM} -C ${OBJECTS} OUTPUT_VARIABLE syms RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "nm failed on ${OBJECTS}")
endif()
string(REGEX MATCHALL "[^\n]* [TtWw] rcmgr::detail::core<[^\n]*" defined "${syms}")
list(LENGTH defined n)
if(n GREATER 0)
  list(GET defined 0 first)
  message(FATAL_ERROR "${n} engine functions are instantiated in a translation unit that only declares them, e.g.\n${first}")
endif()
if(NOT syms MATCHES " U rcmgr::scope_handle<[^\n]*stream_scope>::reserve_memory")
  message(FATAL_ERROR "the translation unit does not call scope_handle<..., stream_scope>::reserve_memory from the instance")
endif()
message(STATUS "no engine function defined; reservations call the instance")
