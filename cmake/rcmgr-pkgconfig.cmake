# pkg-config files for builds that do not use CMake:
#   rcmgr.pc          the core (Boost.Hana's include directory, -pthread)
#   rcmgr-config.pc   rcmgr::config: the core plus nlohmann_json (installed only with it)
# They carry no -std flag: compile with -std=c++20 (or later) yourself. The library is
# header-only, so they go to the architecture-independent ${datadir}/pkgconfig.
set(_rcmgr_pc_cflags "")
foreach(_dir IN LISTS Boost_INCLUDE_DIRS)
  # the compiler's own directories must not be repeated (-isystem /usr/include breaks #include_next)
  if(NOT _dir IN_LIST CMAKE_CXX_IMPLICIT_INCLUDE_DIRECTORIES AND NOT _dir STREQUAL "/usr/include")
    string(APPEND _rcmgr_pc_cflags " -I${_dir}")
  endif()
endforeach()
configure_file(${CMAKE_CURRENT_LIST_DIR}/rcmgr.pc.in ${CMAKE_CURRENT_BINARY_DIR}/rcmgr.pc @ONLY)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/rcmgr.pc DESTINATION ${CMAKE_INSTALL_DATADIR}/pkgconfig)
if(RCMGR_BUILD_CONFIG)
  configure_file(${CMAKE_CURRENT_LIST_DIR}/rcmgr-config.pc.in ${CMAKE_CURRENT_BINARY_DIR}/rcmgr-config.pc @ONLY)
  install(FILES ${CMAKE_CURRENT_BINARY_DIR}/rcmgr-config.pc DESTINATION ${CMAKE_INSTALL_DATADIR}/pkgconfig)
endif()
