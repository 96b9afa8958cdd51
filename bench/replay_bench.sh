#!/usr/bin/env bash
# File replay on the peak-hour stream: N events (default 1 000 000) from
# 40 000 users, one every 4 ms of event time (1 M ~ 67 min), several
# campaigns, sources and partners, two currencies. Runs `alliance replay`
# in memory and with RocksDB state (--state) and prints, per mode: wall and
# CPU time, events/s, CPU-microseconds per event, peak RSS, campaign-metric
# records per input event and (state) the state directory's size.
# Usage: bench/replay_bench.sh [EVENTS]
set -euo pipefail
cd "$(dirname "$0")/.."
B=$PWD/build/src/app/alliance
T=topologies/spring-alliance.yaml
N=${1:-1000000}
work="$(mktemp -d /tmp/alliance-rbench-XXXX)"
trap 'rm -rf "$work"' EXIT
$B generate --topology $T --events "$N" --seed 1 --users 40000 --gap-ms 4 > "$work/events.jsonl"
echo "input: $N events ($(du -m "$work/events.jsonl" | cut -f1) MiB), 40 000 users, 4 ms apart"
for mode in memory state; do
  extra=()
  [ "$mode" = state ] && extra=(--state "$work/state")
  /usr/bin/time -f "%e %U %S %M" -o "$work/time" $B replay --topology $T --input "$work/events.jsonl" \
    --out "$work/out-$mode" --quiet "${extra[@]}"
  read -r wall user sys rss < "$work/time"
  cpu=$(echo "$user + $sys" | bc -l)
  metrics=$(wc -l < "$work/out-$mode/campaign-metrics.jsonl")
  printf "%-6s wall %6.2f s  CPU %6.2f s  %8.0f events/s  %6.2f CPU-us/event  peak RSS %5d MiB  %.4f metric records/event" \
    "$mode" "$wall" "$cpu" "$(echo "$N / $wall" | bc -l)" "$(echo "$cpu * 1000000 / $N" | bc -l)" $((rss / 1024)) \
    "$(echo "$metrics / $N" | bc -l)"
  [ "$mode" = state ] && printf "  state dir %d MiB" "$(du -sm "$work/state" | cut -f1)"
  echo
done
for f in settlements campaign-metrics settlement-statements dlq; do
  cmp -s <(sed 's/"emitted_at":[0-9]*//' "$work/out-memory/$f.jsonl") <(sed 's/"emitted_at":[0-9]*//' "$work/out-state/$f.jsonl") \
    || { echo "outputs differ between the modes: $f"; exit 1; }
done
echo "outputs of both modes identical (apart from emitted_at)"
