# Script of the install.use_losses test (cmake -P); fails with the step's output on the first error.
set(prefix ${WORK_DIR}/prefix)
set(build ${WORK_DIR}/build)
file(REMOVE_RECURSE ${WORK_DIR})

function(run_step what)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${what} failed (${rc}):\n${out}\n${err}")
  endif()
  set(step_output "${out}" PARENT_SCOPE)
endfunction()

run_step("install" ${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${prefix})
run_step("configure" ${CMAKE_COMMAND} -S ${EXAMPLE_DIR} -B ${build} -G ${GENERATOR} -DCMAKE_BUILD_TYPE=Release
         -DCMAKE_CXX_COMPILER=${CXX_COMPILER} "-DCMAKE_PREFIX_PATH=${prefix}\;${TORCH_PREFIX}")
run_step("build" ${CMAKE_COMMAND} --build ${build})
run_step("run" ${build}/use_losses)
message(STATUS "use_losses printed:\n${step_output}")
# Reference: the nt_xent test's SimCLR value and F.cross_entropy(F.normalize(z1) @ F.normalize(z2).T / 0.5,
# arange(2)) for z1 = [[1, 0], [1, 1]], z2 = [[0, 1], [1, -1]].
if(NOT step_output MATCHES "nt_xent 1\\.950183\ninfo_nce 1\\.631835")
  message(FATAL_ERROR "unexpected output of use_losses:\n${step_output}")
endif()
