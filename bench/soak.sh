#!/usr/bin/env bash
# The soak (issue 22, docs/SOAK.md): `alliance broker`, a paced producer
# (bench/soak_producer.cc), `alliance run --state --metrics`, a settlement
# latency probe (bench/soak_latency.cc) and a sampler (bench/soak_sampler.py),
# each its own process, for DURATION at RATE events/s; then the report
# (bench/soak_report.py): samples.csv, latency.csv, soak.png, summary.txt.
#
# Usage: bench/soak.sh DURATION RATE [USERS]      e.g. bench/soak.sh 60m 10000
#   DURATION  30s, 10m, 1h or seconds; whole 10-second windows
#   RATE      events per second the producer holds (clicks, referrals, orders)
#   USERS     active users at any moment (default 100000); the population
#             turns over once per TURNOVER
# Environment:
#   OUT=DIR          report directory (default soak-out/<timestamp>)
#   TOPOLOGY=FILE    default topologies/spring-alliance.yaml
#   PARTITIONS=N     partitions per topic (default 1; >1: the two-stage run)
#   TURNOVER=30m     time in which the whole user population is replaced (0: never)
#   DRAIN=5s         the probe reads settlements this long after the producer stops
#   BUILD=DIR        build directory with the binaries (default build)
#   KEEP_STATE=1     keep OUT/state (default: deleted after the report; its size is in samples.csv)
set -euo pipefail
# OUT, TOPOLOGY and BUILD given relative are relative to where the script is called from.
for v in OUT TOPOLOGY BUILD; do
  if [ -n "${!v:-}" ] && [[ ${!v} != /* ]]; then printf -v "$v" '%s/%s' "$PWD" "${!v}"; fi
done
cd "$(dirname "$0")/.."
ROOT=$PWD
PY=/usr/bin/python3

die() { echo "soak: $*" >&2; exit 2; }
usage() { die "usage: bench/soak.sh DURATION RATE [USERS]   e.g. bench/soak.sh 60m 10000 (docs/SOAK.md)"; }
# 90s, 10m, 1h or plain seconds -> seconds.
seconds() {
  case "$1" in
    *[!0-9smh]* | "" | [smh]*) return 1 ;;
    *h) [[ ${1%h} =~ ^[0-9]+$ ]] && echo $((${1%h} * 3600)) ;;
    *m) [[ ${1%m} =~ ^[0-9]+$ ]] && echo $((${1%m} * 60)) ;;
    *s) [[ ${1%s} =~ ^[0-9]+$ ]] && echo $((${1%s})) ;;
    *) [[ $1 =~ ^[0-9]+$ ]] && echo $(($1)) ;;
  esac
}

[ $# -ge 2 ] && [ $# -le 3 ] || usage
DURATION_S=$(seconds "$1") || die "DURATION $1: write e.g. 90s, 10m, 1h"
((DURATION_S >= 10 && DURATION_S % 10 == 0)) || die "DURATION $1: at least 10 s, in whole 10-second windows"
[[ $2 =~ ^[0-9]+$ ]] && (($2 >= 1 && $2 <= 1000000)) || die "RATE $2: events per second, 1..1000000"
RATE=$2
USERS=${3:-100000}
[[ $USERS =~ ^[0-9]+$ ]] && ((USERS >= 1)) || die "USERS $USERS: a positive number of users"
TURNOVER_S=$(seconds "${TURNOVER:-30m}") || die "TURNOVER ${TURNOVER}: write e.g. 30m, 1h, or 0 (never)"
DRAIN_S=$(seconds "${DRAIN:-5s}") || die "DRAIN ${DRAIN}: write e.g. 5s"
PARTITIONS=${PARTITIONS:-1}
[[ $PARTITIONS =~ ^[0-9]+$ ]] && ((PARTITIONS >= 1 && PARTITIONS <= 64)) || die "PARTITIONS $PARTITIONS: 1..64"
TOPOLOGY=${TOPOLOGY:-topologies/spring-alliance.yaml}
[ -f "$TOPOLOGY" ] || die "TOPOLOGY $TOPOLOGY: no such file"
BUILD=${BUILD:-build}
ALLIANCE=$BUILD/src/app/alliance
PRODUCER=$BUILD/bench/soak_producer
PROBE=$BUILD/bench/soak_latency
for b in "$ALLIANCE" "$PRODUCER" "$PROBE"; do
  [ -x "$b" ] || die "$b is missing: build first (ninja -C $BUILD alliance soak_producer soak_latency), or set BUILD"
done
"$PY" -c "import matplotlib" 2>/dev/null || die "$PY has no matplotlib: apt-get install python3-matplotlib (scripts/setup.sh does)"
command -v curl >/dev/null || die "curl is missing: apt-get install curl"

OUT=${OUT:-soak-out/$(date +%Y%m%d-%H%M%S)}
mkdir -p "$OUT" || die "OUT $OUT: cannot create it"
[ -z "$(ls -A "$OUT")" ] || die "OUT $OUT is not empty: give a new directory"
OUT=$(cd "$OUT" && pwd)
PORT=$("$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
SETTLEMENTS=$("$PY" -c 'import sys, yaml; print(yaml.safe_load(open(sys.argv[1]))["outputs"]["settlements"])' "$TOPOLOGY") ||
  die "TOPOLOGY $TOPOLOGY: no outputs.settlements"

pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM

now_ms() { date +%s%3N; }
wait_for() {  # SECONDS WHAT COMMAND...: poll until COMMAND succeeds
  local until=$(($(now_ms) + $1 * 1000)) limit=$1 what=$2
  shift 2
  until "$@"; do
    (($(now_ms) < until)) || die "$what did not happen within $limit s; see $OUT/*.err"
    sleep 0.2
  done
}

echo "soak: $DURATION_S s at $RATE events/s, $USERS users (turnover ${TURNOVER_S} s), $TOPOLOGY, $PARTITIONS partition(s); report in $OUT"
"$ALLIANCE" broker --topology "$TOPOLOGY" --partitions "$PARTITIONS" --bootstrap-file "$OUT/boot" \
  > "$OUT/broker.out" 2> "$OUT/broker.err" < /dev/null &
BROKER=$!; pids+=("$BROKER")
wait_for 20 "the broker's address" test -s "$OUT/boot"
BOOT=$(cat "$OUT/boot")

"$ALLIANCE" run --topology "$TOPOLOGY" --bootstrap "$BOOT" --group soak --state "$OUT/state" \
  --metrics "127.0.0.1:$PORT" --session-timeout 6000 > "$OUT/run.out" 2> "$OUT/run.err" < /dev/null &
RUN=$!; pids+=("$RUN")
ready() { kill -0 "$RUN" 2>/dev/null || die "alliance run exited: $(tail -3 "$OUT/run.err")"; curl -sf -o /dev/null "127.0.0.1:$PORT/readyz"; }
wait_for 60 "alliance run ready (/readyz)" ready

# Every process counts its windows from T0, a moment after they have all started.
T0=$(($(now_ms) + 2000))
"$PROBE" --bootstrap "$BOOT" --topic "$SETTLEMENTS" --t0-ms "$T0" --duration-s "$DURATION_S" --drain-s "$DRAIN_S" \
  --out-dir "$OUT" > /dev/null 2> "$OUT/probe.err" < /dev/null &
PROBE_PID=$!; pids+=("$PROBE_PID")
"$PRODUCER" --bootstrap "$BOOT" --topology "$TOPOLOGY" --rate "$RATE" --duration-s "$DURATION_S" --users "$USERS" \
  --turnover-s "$TURNOVER_S" --t0-ms "$T0" --out "$OUT/producer.csv" > /dev/null 2> "$OUT/producer.err" < /dev/null &
PRODUCER_PID=$!; pids+=("$PRODUCER_PID")
"$PY" bench/soak_sampler.py --metrics "http://127.0.0.1:$PORT/metrics" --t0-ms "$T0" --duration-s "$DURATION_S" \
  --state "$OUT/state" --pid "run=$RUN" --pid "broker=$BROKER" --pid "producer=$PRODUCER_PID" --pid "probe=$PROBE_PID" \
  --out "$OUT/sampler.csv" 2> "$OUT/sampler.err" < /dev/null &
SAMPLER=$!; pids+=("$SAMPLER")

cat > "$OUT/meta.env" <<EOF
duration_s=$DURATION_S
rate=$RATE
users=$USERS
turnover_s=$TURNOVER_S
drain_s=$DRAIN_S
partitions=$PARTITIONS
topology=$TOPOLOGY
t0_ms=$T0
commit=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)$(git -C "$ROOT" diff --quiet HEAD 2>/dev/null || echo +changes)
host_cores=$(nproc)
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
EOF

status=0
wait "$PRODUCER_PID" || { echo "soak: the producer failed: $(tail -3 "$OUT/producer.err")" >&2; status=1; }
wait "$SAMPLER" || { echo "soak: the sampler failed: $(tail -3 "$OUT/sampler.err")" >&2; status=1; }
wait "$PROBE_PID" || { echo "soak: the latency probe failed: $(tail -3 "$OUT/probe.err")" >&2; status=1; }
echo "load_after=$(cut -d' ' -f1-3 /proc/loadavg)" >> "$OUT/meta.env"
kill -TERM "$RUN" 2>/dev/null || true
run_exit=0
wait "$RUN" || run_exit=$?
echo "run_exit=$run_exit" >> "$OUT/meta.env"
((run_exit == 0)) || echo "soak: alliance run exited with $run_exit: $(tail -3 "$OUT/run.err")" >&2
kill -TERM "$BROKER" 2>/dev/null || true
wait "$BROKER" || true
pids=()

"$PY" bench/soak_report.py "$OUT" || status=1
[ -n "${KEEP_STATE:-}" ] || rm -rf "$OUT/state"
echo "soak: report in $OUT (summary.txt, samples.csv, latency.csv, soak.png)"
exit $status
