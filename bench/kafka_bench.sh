#!/usr/bin/env bash
# Kafka end to end on the embedded broker (separate process), in one run:
#  1. raw librdkafka consume rate of the pre-loaded input (bench/raw_consume.cc);
#  2. `alliance run` over the same input as a bounded run: wall time, CPU
#     time and events per CPU-second (per core);
#  3. live latency: `alliance demo` at a fixed rate, p50/p90/p99 of
#     input-append -> output-acknowledged from its histogram.
# The mock keeps ~5 MB per partition, so the pre-load stays below that.
# Usage: bench/kafka_bench.sh [EVENTS] [RATE] [PARTITIONS]   (default 40000 1000 1)
# The input is the peak-hour stream: 40 000 users, one event every 4 ms of
# event time (1 M events ~ 67 min), several campaigns, sources, partners and
# two currencies (`alliance generate --users 40000 --gap-ms 4`).
# With PARTITIONS > 1 the run uses the two stages (repartition topic).
# LIVE_PARTITIONS=N: partitions of the live (demo) part (default PARTITIONS).
set -euo pipefail
cd "$(dirname "$0")/.."
B=$PWD/build/src/app/alliance
T=topologies/spring-alliance.yaml
N=${1:-40000}
RATE=${2:-1000}
P=${3:-1}
work="$(mktemp -d /tmp/alliance-kbench-XXXX)"
cleanup() { kill "$broker" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
source bench/preload.sh
echo "input: $N events on $BOOT, $P partition(s) per topic"

build/bench/raw_consume "$BOOT" alliance.clicks alliance.referrals alliance.orders

IDLE_MS=300
/usr/bin/time -f "%e %U %S %M" -o "$work/time" $B run --topology $T --bootstrap "$BOOT" --group bench \
  --state "$work/state" --metrics "" --stop-when-idle $IDLE_MS 2> "$work/run.err"
grep -E "consumed|where the time" "$work/run.err" | sed 's/^alliance run: /alliance run: /'
read -r wall user sys rss < "$work/time"
cpu=$(echo "$user + $sys" | bc -l)
printf "alliance run (bounded, includes group join and %d ms idle tail): wall %.2f s, CPU %.2f s, peak RSS %d MiB\n" \
  $IDLE_MS "$wall" "$cpu" $((rss / 1024))
printf "  => %.0f events per CPU-second (one core), %.2f CPU-microseconds per event\n" "$(echo "$N / $cpu" | bc -l)" "$(echo "$cpu * 1000000 / $N" | bc -l)"

[ -n "${SKIP_LIVE:-}" ] && exit 0  # SKIP_LIVE=1: the pre-loaded run only
PORT=$((20000 + RANDOM % 20000))
$B demo --topology $T --duration 40s --rate "$RATE" --partitions "${LIVE_PARTITIONS:-$P}" --dashboard "" --metrics 127.0.0.1:$PORT --state "$work/demo" > /dev/null 2>&1 &
demo=$!
sleep 35
curl -s 127.0.0.1:$PORT/metrics > "$work/scrape.txt" || true
wait $demo || true
/usr/bin/python3 - "$work/scrape.txt" "$RATE" <<'PY'
import sys
buckets = []
for line in open(sys.argv[1]):
    if line.startswith("alliance_end_to_end_seconds_bucket"):
        le = line.split('le="')[1].split('"')[0]
        buckets.append((float("inf") if le == "+Inf" else float(le), float(line.split()[-1])))
total = buckets[-1][1] if buckets else 0
def q(p):
    for le, c in buckets:
        if c >= p * total:
            return le
print(f"live latency at {sys.argv[2]} events/s (append -> output acknowledged, per batch, bucket upper bounds): "
      f"p50 <= {q(0.5)} s, p90 <= {q(0.9)} s, p99 <= {q(0.99)} s over {int(total)} batches")
PY
