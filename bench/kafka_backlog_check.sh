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
w="$(mktemp -d /tmp/alliance-backlog-XXXX)"
$B broker --topology $T --partitions "$P" --bootstrap-file "$w/boot" > /dev/null 2>&1 < /dev/null &
broker=$!
trap 'kill $broker 2>/dev/null || true; rm -rf "$w"' EXIT
while [ ! -s "$w/boot" ]; do sleep 0.1; done
BOOT=$(cat "$w/boot")
$B generate --topology $T --events "$N" --seed 1 --users 40000 --gap-ms 4 > "$w/ev.jsonl"
/usr/bin/python3 - "$w" <<'PY'
import json, sys
w = sys.argv[1]
out = {k: open(f"{w}/{k}.txt", "w") for k in ("click", "referral", "order")}
for line in open(f"{w}/ev.jsonl"):
    try:
        e = json.loads(line); k = e.get("type") if e.get("type") in out else "order"; key = e.get("user_id", "u")
    except ValueError:
        k, key = "order", "u-bad"
    out[k].write(key + "\t" + line)
PY
for k in click:alliance.clicks referral:alliance.referrals order:alliance.orders; do
  kcat -P -b "$BOOT" -t "${k#*:}" -K '\t' -l "$w/${k%%:*}.txt"
done
$B run --topology $T --bootstrap "$BOOT" --group backlog --state "$w/state" --metrics "" --stop-when-idle 1000 2> "$w/run.err"
grep -E "consumed|where the time" "$w/run.err"
$B replay --topology $T --input "$w/ev.jsonl" --out "$w/ref" --quiet
kcat -C -b "$BOOT" -t alliance.settlements -e -q -f '%s\n' > "$w/got.jsonl"
/usr/bin/python3 - "$w" <<'PY'
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
