#!/usr/bin/env bash
# The whole test suite: installs what it needs, builds the unit tests with
# ASan+UBSan and runs them, then builds everything and runs every test
# (unit, integration through RocksDB, the CLI and the broker). Ends with
# ctest's own summary.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
JOBS="${JOBS:-2}"

echo "== sanitizer build (ASan + UBSan): unit tests"
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DALLIANCE_SANITIZE=ON -DALLIANCE_UNIT_ONLY=ON >/dev/null
cmake --build build-asan -j "$JOBS"
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
  ctest --test-dir build-asan -L unit --output-on-failure -j "$JOBS" | tail -n 3

echo "== release build: every test"
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j "$JOBS"
ctest --test-dir build --output-on-failure -j "$JOBS"
