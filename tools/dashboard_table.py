#!/usr/bin/python3
"""Prints a dashboard-style markdown table from campaign-metrics.jsonl: one row
per source, one column per final window of the given size (first N windows),
cells "conversions / revenue". Usage: dashboard_table.py FILE [SIZE] [N]"""
import json
import sys
from datetime import datetime, timezone
from decimal import Decimal


def main(path, size="1d", n=7):
    finals = {}
    with open(path) as f:
        for line in f:
            r = json.loads(line)
            if r["final"] and r["dim"] == "source" and r["window_size"] == size and r["currency"] == "USD":
                finals[(r["key"], r["window_start"])] = r
    starts = sorted({s for _, s in finals})[: int(n)]
    sources = sorted({k for k, _ in finals})
    day = lambda ms: datetime.fromtimestamp(ms / 1000, timezone.utc).strftime("%m-%d %H:%M")
    print("| source | " + " | ".join(day(s) for s in starts) + " | total conv. | total revenue |")
    print("|---" * (len(starts) + 3) + "|")
    for src in sources:
        cells, conv, rev = [], Decimal(0), 0
        for s in starts:
            r = finals.get((src, s))
            if r is None:
                cells.append("–")
                continue
            cells.append(f"{r['conversions']} / {r['revenue_minor'] / 100:.2f}")
        for (k, _), r in finals.items():
            if k == src:
                conv += Decimal(r["conversions"])
                rev += r["revenue_minor"]
        print(f"| {src} | " + " | ".join(cells) + f" | {conv} | {rev / 100:.2f} |")


if __name__ == "__main__":
    main(*sys.argv[1:])
