#!/usr/bin/env bash
# Test command: install what is missing, build everything (tests included) and run ctest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DSSLKIT_BUILD_TESTS=ON >/dev/null
cmake --build build
cd build && ctest --output-on-failure -j2
