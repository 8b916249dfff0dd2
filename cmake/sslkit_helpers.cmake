# sslkit_add_library(<layer> <export-name> SOURCES ...): one static library per layer folder, aliased as
# sslkit::<export-name> and exported. <layer> is the folder below the source root, possibly nested (trainers/eval).
# The layer's headers are installed by sslkit_install_headers().
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
  set_property(GLOBAL APPEND PROPERTY SSLKIT_LAYERS ${layer})
endfunction()

# `text` with the characters that are special in a CMake regular expression escaped.
function(sslkit_regex_escape out text)
  string(REGEX REPLACE "([][.*+?^$()|\\])" "\\\\\\1" escaped "${text}")
  set(${out} "${escaped}" PARENT_SCOPE)
endfunction()

# sslkit_install_headers(): installs the public headers of every layer given to sslkit_add_library; called once,
# after the last layer. Each header goes to include/sslkit/<its layer>/ exactly once, at the path it has in the
# build tree: a layer leaves out the folders of the layers nested in it (trainers/eval is sslkit::eval's, not
# sslkit::trainers'), and every detail/ or impl/ folder, which holds private helpers that no public header
# includes. A top-level layer's umbrella header <layer>/<layer>.h is left out too: the top CMakeLists maps it
# one level up, as sslkit/<layer>.h.
function(sslkit_install_headers)
  get_property(layers GLOBAL PROPERTY SSLKIT_LAYERS)
  foreach(layer IN LISTS layers)
    set(dir ${PROJECT_SOURCE_DIR}/${layer})
    sslkit_regex_escape(dir_regex "${dir}")
    set(excludes PATTERN detail EXCLUDE PATTERN impl EXCLUDE)
    if(NOT layer MATCHES "/")
      list(APPEND excludes REGEX "^${dir_regex}/${layer}\\.h$" EXCLUDE)
    endif()
    foreach(other IN LISTS layers)
      string(FIND "${other}" "${layer}/" at)
      if(at EQUAL 0)
        sslkit_regex_escape(other_regex "${PROJECT_SOURCE_DIR}/${other}")
        list(APPEND excludes REGEX "^${other_regex}$" EXCLUDE)
      endif()
    endforeach()
    install(DIRECTORY ${dir}/ DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/sslkit/${layer}
            FILES_MATCHING PATTERN "*.h" ${excludes})
  endforeach()
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
