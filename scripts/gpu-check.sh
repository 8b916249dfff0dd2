#!/usr/bin/env bash
# GPU check, one command for a machine with CUDA and a CUDA LibTorch:
#   bash scripts/gpu-check.sh [--all-tests] [--build-only]
# Builds sslkit against that LibTorch (CMAKE_PREFIX_PATH, else Python's torch.utils.cmake_prefix_path) in
# build-gpu/, leaving out the optional parts whose packages are missing (OpenCV, HDF5, ONNX; the CLI without
# Boost.Program_options; c10d without the Gloo headers); runs the tests that need CUDA (test_trainers and
# test_distributed "[cuda]": pinned non-blocking batches, fp16 loss scaling, fp32/bf16/fp16 steps against the CPU,
# pretraining and resume, NCCL); prints `bench train --device cuda` in fp32, bf16 and fp16. --all-tests also runs
# the whole CPU suite (ctest) on this LibTorch. What a bare machine lacks (Catch2, zlib headers, Fashion-MNIST)
# comes from .gpu-deps/, made by scripts/gpu-deps.sh on a Debian machine. Exits non-zero when any step failed.
set -uo pipefail
cd "$(dirname "$0")/.."

all_tests=0 build_only=0
for arg in "$@"; do
  case "$arg" in
    --all-tests) all_tests=1 ;;
    --build-only) build_only=1 ;;
    *) echo "gpu-check: unknown argument '$arg': expected --all-tests or --build-only" >&2; exit 2 ;;
  esac
done

deps=$PWD/.gpu-deps
build=build-gpu
jobs=$(nproc)
failed=()
say() { printf '== %s\n' "$*"; }
have_header() {  # have_header FILE: FILE under a system include folder or .gpu-deps
  for dir in /usr/include /usr/local/include "$deps/usr/include"; do [ -e "$dir/$1" ] && return 0; done
  return 1
}
py() { python3 -c "$1" 2>/dev/null; }

# LibTorch and what it was built with.
torch_prefix=${CMAKE_PREFIX_PATH:-$(py 'import torch.utils; print(torch.utils.cmake_prefix_path)')}
[ -n "$torch_prefix" ] || { echo "gpu-check: no LibTorch: set CMAKE_PREFIX_PATH or install Python's torch" >&2; exit 1; }
say "LibTorch: $torch_prefix"
py 'import torch; print("== torch", torch.__version__, "CUDA", torch.version.cuda, "cuDNN", torch.backends.cudnn.version(), "C++11 ABI", torch.compiled_with_cxx11_abi())'
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,compute_cap,memory.total,driver_version --format=csv,noheader
abi=$(py 'import torch; print(int(torch.compiled_with_cxx11_abi()))')

# Optional parts: on when their headers are here. C++ libraries from the system (Boost, OpenCV) only link with a
# LibTorch of the same C++ ABI (pip wheels before 2.7 use the old one).
on_off() { "$@" && echo ON || echo OFF; }
cxx_abi_ok() { [ "${abi:-1}" = 1 ]; }
tools=$(on_off eval 'have_header boost/program_options.hpp && cxx_abi_ok')
opencv=$(on_off eval 'have_header opencv4/opencv2/core.hpp && cxx_abi_ok')
hdf5=$(on_off eval 'have_header hdf5.h || have_header hdf5/serial/hdf5.h')
onnx=$(on_off have_header onnx/onnx_pb.h)
tests=$(on_off have_header catch2/catch.hpp)
torch_include=""
for dir in "$torch_prefix/include" "$torch_prefix/../../include" "$torch_prefix/../../../include"; do
  [ -d "$dir/torch" ] && { torch_include=$(cd "$dir" && pwd); break; }
done
distributed=$(on_off eval '[ -n "$torch_include" ] && [ -e "$torch_include/gloo/config.h" ]')
nccl_include=$(py 'import os, nvidia.nccl as n; print(os.path.join(list(n.__path__)[0], "include"))')
[ -e "$nccl_include/nccl.h" ] || nccl_include=""
cmake_args=(-S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release "-DCMAKE_PREFIX_PATH=$torch_prefix;$deps/usr"
  -DSSLKIT_BUILD_TOOLS="$tools" -DSSLKIT_WITH_OPENCV="$opencv" -DSSLKIT_WITH_HDF5="$hdf5" -DSSLKIT_WITH_ONNX="$onnx"
  -DSSLKIT_BUILD_TESTS="$tests" -DSSLKIT_WITH_DISTRIBUTED="$distributed")
[ -n "$nccl_include" ] && cmake_args+=("-DSSLKIT_NCCL_INCLUDE_DIR=$nccl_include")
if ! [ -e /usr/include/zlib.h ] && [ -e "$deps/usr/include/zlib.h" ]; then
  libz=$(ldconfig -p | awk '/libz\.so\.1 .*x86-64/ {print $NF; exit}')
  cmake_args+=("-DZLIB_INCLUDE_DIR=$deps/usr/include" "-DZLIB_LIBRARY=$libz")
fi
say "parts: CLI $tools, tests $tests, OpenCV $opencv, HDF5 $hdf5, ONNX $onnx, c10d $distributed, nccl.h ${nccl_include:-none}"

say "configure and build ($jobs jobs)"
mkdir -p "$build"
if ! cmake "${cmake_args[@]}" >"$build/configure.log" 2>&1; then
  tail -30 "$build/configure.log"
  echo "gpu-check: cmake failed (log: $build/configure.log)" >&2
  exit 1
fi
grep -E "^-- sslkit:" "$build/configure.log"
if ! cmake --build "$build" -j "$jobs" >"$build/build.log" 2>&1; then
  grep -E "error|Error" "$build/build.log" | head -30
  echo "gpu-check: build failed (log: $build/build.log)" >&2
  exit 1
fi
say "build ok"
[ "$build_only" = 1 ] && exit 0

py 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)' ||
  command -v nvidia-smi >/dev/null || { echo "gpu-check: no CUDA device visible" >&2; exit 1; }
[ -d "$deps/fashion-mnist" ] && [ ! -d /usr/share/datasets/fashion-mnist ] && export SSLKIT_FASHION_MNIST_DIR=$deps/fashion-mnist
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-4}

run() {  # run NAME COMMAND...: prints the command's output, records a failure
  say "$1"
  shift
  "$@" || failed+=("$*")
}
if [ "$tests" = ON ]; then
  run "CUDA tests: trainers" "$build/tests/test_trainers" "[cuda]"
  if [ -x "$build/tests/test_distributed" ]; then
    run "CUDA tests: NCCL" "$build/tests/test_distributed" "[cuda]"
  else
    say "NCCL test not built: c10d needs LibTorch's Gloo headers ($torch_include/gloo)"
  fi
fi
workers=$((jobs > 4 ? jobs - 2 : 2))
for precision in fp32 bf16 fp16; do
  if [ "$tools" = ON ]; then
    run "sslkit bench train --device cuda --precision $precision --workers $workers" \
      "$build/bin/sslkit" bench train --device cuda --precision "$precision" --workers "$workers"
  fi
done
if [ "$tools" = OFF ] && [ "$tests" = ON ]; then
  run "bench train on CUDA, fp32 / bf16 / fp16 (no CLI here: the same tables from test_trainers)" \
    "$build/tests/test_trainers" "[cuda-bench]"
fi
if [ "$all_tests" = 1 ] && [ "$tests" = ON ]; then
  run "the CPU suite on this LibTorch (ctest)" ctest --test-dir "$build" -j "$jobs" --output-on-failure
fi

if [ ${#failed[@]} -gt 0 ]; then
  say "FAILED: ${failed[*]}"
  exit 1
fi
say "gpu-check passed"
