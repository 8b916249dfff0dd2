#!/usr/bin/env bash
# Test command: install what is missing (the tests' packages too), build everything (tests included), run ctest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh --tests
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DSSLKIT_BUILD_TESTS=ON >/dev/null
cmake --build build
cd build && ctest --output-on-failure -j2
