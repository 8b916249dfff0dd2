# Script of the install.use_data test (cmake -P): examples/use_data against the moved prefix.
include(${CMAKE_CURRENT_LIST_DIR}/common.cmake)
build_and_run_example(use_data ${WORK_DIR}/files)
# Reference (Python): the pixels are (7 * k) % 256 for k in range(96), so pixel_sum = sum((7 * k) % 256 for k in
# range(96)) = 11184; the labels are i % 3 for i in range(6), label_sum = 6. The first image holds k = 0..15,
# pixel sum 840; each of its four rotations sums to 840 / 255 = 3.2941 on the [0, 1] scale, view v rotated by v
# quarter turns (all_rotations), hence targets 0 1 2 3.
set(expected "idx images 6 pixel_sum 11184 label_sum 6\n")
if(WITH_HDF5)
  string(APPEND expected "hdf5 images 6 pixel_sum 11184 label_sum 6\n")
else()
  string(APPEND expected "hdf5 off\n")
endif()
string(APPEND expected "rotations views 4 view_sums 3.2941 3.2941 3.2941 3.2941 targets 0 1 2 3\n")
if(NOT step_output STREQUAL expected)
  message(FATAL_ERROR "unexpected output of use_data:\n${step_output}\nexpected:\n${expected}")
endif()
