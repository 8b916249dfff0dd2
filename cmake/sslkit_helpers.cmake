# sslkit_add_library(<layer> <export-name> SOURCES ... ) : one static library per layer folder,
# aliased as sslkit::<export-name>, installed with its headers under include/sslkit/<layer>.
function(sslkit_add_library layer export_name)
  cmake_parse_arguments(ARG "" "" "SOURCES" ${ARGN})
  set(target sslkit_${export_name})
  add_library(${target} ${ARG_SOURCES})
  add_library(sslkit::${export_name} ALIAS ${target})
  set_target_properties(${target} PROPERTIES EXPORT_NAME ${export_name} OUTPUT_NAME sslkit_${export_name}
                                             POSITION_INDEPENDENT_CODE ON)
  target_include_directories(${target} PUBLIC $<BUILD_INTERFACE:${SSLKIT_BUILD_INCLUDE_DIR}>
                                              $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
  sslkit_set_warnings(${target})
  install(TARGETS ${target} EXPORT sslkitTargets
          ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR} LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR})
  # A layer's umbrella header <layer>/<layer>.h is installed one level up, as sslkit/<layer>.h (top CMakeLists).
  install(DIRECTORY ${PROJECT_SOURCE_DIR}/${layer}/ DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/sslkit/${layer}
          FILES_MATCHING PATTERN "*.h" PATTERN "${layer}.h" EXCLUDE)
endfunction()

function(sslkit_set_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wno-unused-parameter)
  if(SSLKIT_WARNINGS_AS_ERRORS)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()

# Targets of one group share a precompiled header of <torch/torch.h>; the groups (libraries built -fPIC,
# tools with Boost's definitions, tests) differ in flags that GCC requires a PCH to match.
function(sslkit_use_torch_pch target group)
  set(key SSLKIT_PCH_OWNER_${group})
  get_property(owner GLOBAL PROPERTY ${key})
  if(NOT owner)
    target_precompile_headers(${target} PRIVATE <torch/torch.h>)
    set_property(GLOBAL PROPERTY ${key} ${target})
  else()
    target_precompile_headers(${target} REUSE_FROM ${owner})
  endif()
endfunction()
