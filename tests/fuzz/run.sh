#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, -DALLIANCE_FUZZ=ON, own build
# directory) and runs each for SECONDS (default 60), FUZZ_PARALLEL (2) at a time,
# printing libFuzzer's final "#N DONE cov: ... ft: ..." line per target.
#   tests/fuzz/run.sh [SECONDS] [TARGET...]
# Env: FUZZ_BUILD_DIR (default <repo>/build-fuzz). The committed seeds in
# tests/fuzz/corpus/<target>/ are read, never written: new inputs go to
# $FUZZ_BUILD_DIR/corpus/<target>/, crashes to $FUZZ_BUILD_DIR/artifacts/.
# Exit 0: no crash; 1: a target crashed (its reproducer is printed);
# 77: clang++ is not installed (the ctest skips).
set -uo pipefail
SECONDS_EACH="${1:-60}"
shift || true
SRC="$(cd "$(dirname "$0")/../.." && pwd)"
BUILD="${FUZZ_BUILD_DIR:-$SRC/build-fuzz}"
ALL=(event_decoder topology state_restore changelog forward_record)
TARGETS=("$@")
((${#TARGETS[@]})) || TARGETS=("${ALL[@]}")

CXX_BIN="$(command -v clang++ || true)"
if [ -z "$CXX_BIN" ]; then
  echo "fuzz: clang++ not found (scripts/setup.sh installs Debian's clang); skipping"
  exit 77
fi
LAUNCHER=()
command -v ccache >/dev/null 2>&1 && LAUNCHER=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
GEN=(); command -v ninja >/dev/null 2>&1 && GEN=(-G Ninja)
if [ ! -f "$BUILD/CMakeCache.txt" ]; then
  cmake -S "$SRC" -B "$BUILD" "${GEN[@]}" -DALLIANCE_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo \
        -DCMAKE_CXX_COMPILER="$CXX_BIN" "${LAUNCHER[@]}" >/dev/null || exit 1
fi
cmake --build "$BUILD" -j "${FUZZ_JOBS:-2}" --target $(printf 'fuzz_%s ' "${TARGETS[@]}") || exit 1

# Each target runs in its own process; FUZZ_PARALLEL of them at a time
# (default 2: the ctest is RUN_SERIAL, so the machine's cores are its own).
run_target() {
  local t="$1" work="$BUILD/corpus/$1" art="$BUILD/artifacts/$1/" log="$BUILD/fuzz_$1.log"
  mkdir -p "$work" "$art"
  echo "fuzz: $t for ${SECONDS_EACH}s (log: $log)"
  # -rss_limit_mb bounds memory per input; -timeout flags any input over 10 s.
  "$BUILD/tests/fuzz/fuzz_$t" -max_total_time="$SECONDS_EACH" -rss_limit_mb=2048 -timeout=10 \
      -print_final_stats=1 -artifact_prefix="$art" "$work" "$SRC/tests/fuzz/corpus/$t" >"$log" 2>&1
  echo $? >"$BUILD/fuzz_$t.rc"
}
PARALLEL="${FUZZ_PARALLEL:-2}"
running=0
for t in "${TARGETS[@]}"; do
  rm -f "$BUILD/fuzz_$t.rc"
  run_target "$t" &
  running=$((running + 1))
  if ((running >= PARALLEL)); then wait -n; running=$((running - 1)); fi
done
wait

failed=()
summary=()
for t in "${TARGETS[@]}"; do
  log="$BUILD/fuzz_$t.log"
  rc="$(cat "$BUILD/fuzz_$t.rc" 2>/dev/null || echo 1)"
  done_line="$(grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | tail -1)"
  execs="$(grep -E '^stat::number_of_executed_units' "$log" | awk '{print $2}')"
  if [ "$rc" -ne 0 ]; then
    failed+=("$t")
    echo "fuzz: $t FAILED (exit $rc):"
    grep -E 'ERROR: |SUMMARY: |Test unit written to' "$log" | head -5
    summary+=("$t: FAILED exit $rc")
  else
    summary+=("$t: ${SECONDS_EACH}s, executions ${execs:-?}; ${done_line:-no DONE line}")
  fi
done
echo "fuzz summary:"
printf '  %s\n' "${summary[@]}"
((${#failed[@]} == 0)) || { echo "fuzz: crashes in: ${failed[*]}"; exit 1; }
