# Shared by the install tests' scripts (cmake -P).

# Runs a command; fails with its output, naming `what`, when it exits non-zero. Sets `step_output` to its stdout.
function(run_step what)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${what} failed (${rc}):\n${out}\n${err}")
  endif()
  set(step_output "${out}" PARENT_SCOPE)
endfunction()

# Configures and builds EXAMPLE_DIR in WORK_DIR/build against the sslkit at PREFIX and Torch at TORCH_PREFIX, then
# runs the example `name` with the given arguments. Sets `step_output` to what it printed.
function(build_and_run_example name)
  set(build ${WORK_DIR}/build)
  file(REMOVE_RECURSE ${WORK_DIR})
  run_step("configure" ${CMAKE_COMMAND} -S ${EXAMPLE_DIR} -B ${build} -G ${GENERATOR} -DCMAKE_BUILD_TYPE=Release
           -DCMAKE_CXX_COMPILER=${CXX_COMPILER} "-DCMAKE_PREFIX_PATH=${PREFIX}\;${TORCH_PREFIX}")
  run_step("build" ${CMAKE_COMMAND} --build ${build})
  run_step("run" ${build}/${name} ${ARGN})
  message(STATUS "${name} printed:\n${step_output}")
  set(step_output "${step_output}" PARENT_SCOPE)
endfunction()
