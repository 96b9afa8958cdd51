#!/usr/bin/env bash
# Every chaos scenario in a row, then a table of their figures.
#   bash tests/chaos/run_all.sh           # the short versions (what CI runs)
#   bash tests/chaos/run_all.sh --long    # the long versions (docs/RELIABILITY.md)
# ALLIANCE_BIN defaults to build/src/app/alliance. Exit 1 if any scenario failed.
set -uo pipefail
cd "$(dirname "$0")/../.."
export ALLIANCE_BIN="${ALLIANCE_BIN:-$PWD/build/src/app/alliance}" ALLIANCE_SRC="$PWD"
MODE=()
[[ "${1:-}" == "--long" ]] && MODE=(--long)
export CHAOS_FIGURES="${CHAOS_FIGURES:-$(mktemp /tmp/alliance-chaos-figures-XXXX.jsonl)}"
: > "$CHAOS_FIGURES"
failed=()
start=$(date +%s)
/usr/bin/python3 tests/chaos/verify_selftest.py 2>&1 | tail -n 3 || failed+=(verifier)
for s in kill_single kill_group sigterm broker_faults disk_full; do
  t0=$(date +%s)
  /usr/bin/python3 "tests/chaos/$s.py" "${MODE[@]}" 2>&1 | grep -v '^%[0-9]|'
  rc=${PIPESTATUS[0]}
  echo "== $s: exit $rc after $(( $(date +%s) - t0 )) s"
  [[ $rc == 0 || $rc == 77 ]] || failed+=("$s")
done
echo
/usr/bin/python3 - "$CHAOS_FIGURES" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
cycles = {"kill_single": "kills", "kill_group": "kills", "sigterm": "stops", "broker_faults": "outages", "disk_full": "fill_ups"}
print(f"{'scenario':14} {'faults':>7} {'input lines':>11} {'records':>8} {'settlements':>11} {'lost':>5} {'diff.dup':>8} {'ident.dup':>9}")
tot = {"faults": 0, "records": 0, "settlements": 0, "lost": 0, "dd": 0}
for r in rows:
    f = r.get(cycles[r["scenario"]], 0)
    print(f"{r['scenario']:14} {f:>7} {r['input_lines']:>11} {r['records_read']:>8} {r['settlement_records']:>11} "
          f"{r['lost']:>5} {r['differing_duplicates']:>8} {r['duplicates']:>9}")
    tot["faults"] += f; tot["records"] += r["records_read"]; tot["settlements"] += r["settlement_records"]
    tot["lost"] += r["lost"]; tot["dd"] += r["differing_duplicates"]
print(f"{'total':14} {tot['faults']:>7} {'':>11} {tot['records']:>8} {tot['settlements']:>11} {tot['lost']:>5} {tot['dd']:>8}")
PY
echo "figures: $CHAOS_FIGURES; $(( $(date +%s) - start )) s in all"
if (( ${#failed[@]} )); then echo "FAILED: ${failed[*]}"; exit 1; fi
echo "all chaos scenarios passed"
