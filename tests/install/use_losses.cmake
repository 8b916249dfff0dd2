# Script of the install.use_losses test (cmake -P): examples/use_losses against the moved prefix.
include(${CMAKE_CURRENT_LIST_DIR}/common.cmake)
build_and_run_example(use_losses)
# Reference: the nt_xent test's SimCLR value and F.cross_entropy(F.normalize(z1) @ F.normalize(z2).T / 0.5,
# arange(2)) for z1 = [[1, 0], [1, 1]], z2 = [[0, 1], [1, -1]].
if(NOT step_output MATCHES "nt_xent 1\\.950183\ninfo_nce 1\\.631835")
  message(FATAL_ERROR "unexpected output of use_losses:\n${step_output}")
endif()
