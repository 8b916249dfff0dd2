#!/usr/bin/env bash
# Installs the Debian bookworm packages sslkit needs, when they are missing; with --tests also those that only
# the test suite uses. As root it runs apt-get; otherwise it prints the exact apt-get line to run and fails.
set -euo pipefail

packages=(
  g++ cmake ninja-build pkg-config
  libtorch-dev               # LibTorch 1.13 (CPU)
  libgloo-dev                # Gloo headers for c10d multi-process training (optional: -DSSLKIT_WITH_DISTRIBUTED=OFF)
  libopenblas0-openmp        # switches libblas.so.3 from the reference BLAS (~5 GFLOP/s) to OpenBLAS (~160)
  zlib1g-dev                 # gzip IDX files
  libhdf5-dev                # HDF5 data sets (optional: -DSSLKIT_WITH_HDF5=OFF)
  libopencv-dev              # image folders and the ONNX export test (optional: -DSSLKIT_WITH_OPENCV=OFF)
  libonnx-dev                # ONNX export (optional: -DSSLKIT_WITH_ONNX=OFF)
  libboost-program-options-dev
  catch2                     # v2, tests
  dataset-fashion-mnist      # /usr/share/datasets/fashion-mnist
)
if [ "${1:-}" = --tests ]; then
  packages+=(
    python3-torch python3-h5py # the test of docs/python.md (cli.python_docs; skipped without them)
    chromium                   # renders the HTML report (cli.report_html_browser; skipped without it)
  )
fi

missing=()
for p in "${packages[@]}"; do
  if [ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" != "install ok installed" ]; then missing+=("$p"); fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -eq 0 ]; then
  echo "sslkit: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >/dev/null
  apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "sslkit: missing Debian packages; run as root:" >&2
  echo "  apt-get update && apt-get install -y ${missing[*]}" >&2
  exit 1
fi
