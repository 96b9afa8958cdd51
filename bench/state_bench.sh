#!/usr/bin/env bash
# Bounded memory with RocksDB as the store (issue 13, SPEC §4): replays the
# peak-hour stream with --state at growing sizes, half as many distinct
# users as events and unique event ids (no duplicates, no bad lines), with
# the topology's default state settings, and prints per size: wall time,
# events/s, peak RSS, the state directory's size, and what was written.
# Usage: bench/state_bench.sh [EVENTS...]   (default 1000000 5000000)
set -euo pipefail
cd "$(dirname "$0")/.."
B=$PWD/build/src/app/alliance
T=topologies/spring-alliance.yaml
work="$(mktemp -d /tmp/alliance-sbench-XXXX)"
trap 'rm -rf "$work"' EXIT
counts=("$@"); [ ${#counts[@]} -eq 0 ] && counts=(1000000 5000000)
printf "| events | distinct users | wall s | events/s | peak RSS MiB | state dir MiB | settlements |\n|---|---|---|---|---|---|---|\n"
for n in "${counts[@]}"; do
  users=$((n / 2))
  $B generate --topology $T --events "$n" --seed 1 --users "$users" --gap-ms 4 --duplicate-rate 0 --bad-rate 0 > "$work/in.jsonl"
  rm -rf "$work/state" "$work/out"
  start=$(date +%s.%N)
  /usr/bin/time -f "%M" -o "$work/rss" $B replay --topology $T --input "$work/in.jsonl" --out "$work/out" --state "$work/state" --quiet
  end=$(date +%s.%N)
  wall=$(echo "$end - $start" | bc)
  printf "| %s | %s | %.1f | %.0f | %d | %d | %d |\n" "$n" "$users" "$wall" "$(echo "$n / $wall" | bc -l)" \
    $(( $(cat "$work/rss") / 1024 )) $(( $(du -sk "$work/state" | cut -f1) / 1024 )) "$(wc -l < "$work/out/settlements.jsonl")"
  rm -f "$work/in.jsonl"
done
