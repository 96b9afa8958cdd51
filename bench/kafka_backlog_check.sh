#!/usr/bin/env bash
# Correctness under a backlog: N peak-hour events (default 400 000) pre-loaded
# topic by topic over P partitions (default 16), one bounded `alliance run`,
# then its settlement records compared with a replay of the same events:
# missing, extra and differing record ids must all be 0.
# Usage: bench/kafka_backlog_check.sh [EVENTS] [PARTITIONS]
set -euo pipefail
cd "$(dirname "$0")/.."
B=$PWD/build/src/app/alliance
T=topologies/spring-alliance.yaml
N=${1:-400000}
P=${2:-16}
work="$(mktemp -d /tmp/alliance-backlog-XXXX)"
trap 'kill "$broker" 2>/dev/null || true; rm -rf "$work"' EXIT
source bench/preload.sh
$B run --topology $T --bootstrap "$BOOT" --group backlog --state "$work/state" --metrics "" --stop-when-idle 1000 2> "$work/run.err"
grep -E "consumed|where the time" "$work/run.err"
$B replay --topology $T --input "$work/events.jsonl" --out "$work/ref" --quiet
kcat -C -b "$BOOT" -t alliance.settlements -e -q -f '%s\n' > "$work/got.jsonl"
/usr/bin/python3 - "$work" <<'PY'
import json, sys
w = sys.argv[1]
def load(p):
    d = {}
    for line in open(p):
        r = json.loads(line); r.pop("emitted_at", None); d[r["record_id"]] = r
    return d
got, want = load(f"{w}/got.jsonl"), load(f"{w}/ref/settlements.jsonl")
missing, extra = set(want) - set(got), set(got) - set(want)
diff = [k for k in want if k in got and got[k] != want[k]]
print(f"settlements: replay {len(want)}, run {len(got)}, missing {len(missing)}, extra {len(extra)}, differing {len(diff)}")
sys.exit(1 if missing or extra or diff else 0)
PY
