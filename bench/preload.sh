# Sourced by the Kafka benchmarks: starts `alliance broker` (its own
# process) with P partitions per topic in $work and pre-loads N peak-hour
# events (40 000 users, 4 ms apart) into the three input topics with kcat,
# topic by topic. Needs B, T, N, P and work; sets broker (pid), BOOT and
# leaves the input in $work/events.jsonl.
$B broker --topology $T --partitions "$P" --bootstrap-file "$work/boot" > /dev/null 2>&1 < /dev/null &
broker=$!
while [ ! -s "$work/boot" ]; do sleep 0.1; done
BOOT=$(cat "$work/boot")
$B generate --topology $T --events "$N" --seed 1 --users 40000 --gap-ms 4 > "$work/events.jsonl"
/usr/bin/python3 - "$work" <<'PY'
import json, sys
w = sys.argv[1]
out = {k: open(f"{w}/{k}.txt", "w") for k in ("click", "referral", "order")}
for line in open(f"{w}/events.jsonl"):
    try:
        e = json.loads(line); k = e.get("type") if e.get("type") in out else "order"; key = e.get("user_id", "u")
    except ValueError:
        k, key = "order", "u-bad"
    out[k].write(key + "\t" + line)
PY
for k in click:alliance.clicks referral:alliance.referrals order:alliance.orders; do
  kcat -P -b "$BOOT" -t "${k#*:}" -K '\t' -l "$work/${k%%:*}.txt"
done
