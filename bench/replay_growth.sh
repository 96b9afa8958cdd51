#!/usr/bin/env bash
# Replay throughput, peak RSS and RocksDB state size as the input grows over a
# fixed active-user population (SPEC §4: state tracks active users, not
# history). Usage: bench/replay_growth.sh [EVENTS...]  (default 1000000 5000000)
set -euo pipefail
cd "$(dirname "$0")/.."
B=build/src/app/alliance
T=bench/bench-topology.yaml  # spring-alliance with 10-day order/statement retention
work="$(mktemp -d /tmp/alliance-bench-XXXX)"
trap 'rm -rf "$work"' EXIT
counts=("$@"); [ ${#counts[@]} -eq 0 ] && counts=(1000000 5000000)
printf "| events | mode | wall s | events/s | peak RSS MiB | state dir MiB | live SST MiB |\n|---|---|---|---|---|---|---|\n"
for n in "${counts[@]}"; do
  $B generate --topology $T --events "$n" --users 20000 --seed 5 --gap-ms 1000 > "$work/in.jsonl"
  for mode in memory state; do
    extra=(); [ $mode = state ] && extra=(--state "$work/state" --batch 5000)
    rm -rf "$work/state" "$work/out"
    start=$(date +%s.%N)
    /usr/bin/time -f "%M" -o "$work/rss" $B replay --topology $T --input "$work/in.jsonl" --out "$work/out" --quiet "${extra[@]}"
    end=$(date +%s.%N)
    wall=$(echo "$end - $start" | bc)
    rss=$(( $(cat "$work/rss") / 1024 ))
    size="-"; sst="-"
    if [ $mode = state ]; then
      size=$(( $(du -sk "$work/state" | cut -f1) / 1024 ))
      sst=$(( $(find "$work/state" -name '*.sst' -printf '%s\n' | awk '{s+=$1} END {print s+0}') / 1048576 ))
    fi
    printf "| %s | %s | %.1f | %.0f | %s | %s | %s |\n" "$n" "$mode" "$wall" "$(echo "$n / $wall" | bc -l)" "$rss" "$size" "$sst"
  done
done
