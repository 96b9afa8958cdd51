#!/usr/bin/python3
"""Maps the public multi-touch attribution log (tests/data/mta-july-2018) to
alliance input events, one JSON line each, sorted by time (ties: input line).
Usage: tools/mta_to_events.py attribution_data.csv > events.jsonl"""
import csv
import json
import sys
from decimal import Decimal


def minor(value: str) -> int:
    d = Decimal(value) * 100
    if d != d.to_integral_value():
        raise ValueError(f"{value} has more than 2 decimals")
    return int(d)


def main(path: str) -> None:
    with open(path, newline="") as f:
        rows = [(r["time"], i, r) for i, r in enumerate(csv.DictReader(f))]
    rows.sort(key=lambda t: (t[0], t[1]))
    out = sys.stdout
    for n, (ts, _, r) in enumerate(rows, start=1):
        base = {"event_id": f"mta-{n}", "ts": ts, "user_id": r["customer_id"]}
        if r["interaction"] == "impression":
            e = {"type": "click", **base, "campaign_id": "cmp-mta-2018-07", "source": r["channel"],
                 "partner_id": "p-" + r["channel"].lower().replace(" ", "-")}
        else:
            e = {"type": "order", **base, "order_id": f"mta-order-{n}", "status": "completed",
                 "amount_minor": minor(r["conversion_value"]), "currency": "USD"}
        out.write(json.dumps(e, separators=(",", ":")) + "\n")


if __name__ == "__main__":
    main(sys.argv[1])
