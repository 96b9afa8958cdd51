#!/usr/bin/env bash
# Sets up, builds and runs the main job on the embedded default: an
# in-process librdkafka mock cluster, a built-in traffic generator, the
# processor and /metrics, with a live table. Extra arguments go to
# `alliance demo` (e.g. --duration 30s). Falls back to a file replay of the
# bundled sample when ALLIANCE_DEMO=replay.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j "${JOBS:-2}"
if [ "${ALLIANCE_DEMO:-kafka}" = replay ] || ! ./build/src/app/alliance demo --help >/dev/null 2>&1; then
  out="$(mktemp -d)"
  ./build/src/app/alliance generate --topology topologies/spring-alliance.yaml --events 100000 > "$out/events.jsonl"
  exec ./build/src/app/alliance replay --topology topologies/spring-alliance.yaml \
    --input tests/data/sample-events.jsonl --input "$out/events.jsonl" --out "$out/outputs"
fi
exec ./build/src/app/alliance demo --topology topologies/spring-alliance.yaml "$@"
