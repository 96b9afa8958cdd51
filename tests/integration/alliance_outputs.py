"""Shared by the integration tests: the identity of an output record (SPEC
§6: record_id, or the metric/statement key plus revision) and "keep the
latest record per identity", which is how a consumer reads at-least-once
outputs."""
from collections import Counter


def identity(name, r):
    if name == "settlements":
        return r["record_id"]
    if name == "campaign-metrics":
        return (r["dim"], r["key"], r["window_start"], r["window_size"], r["currency"], r["final"])
    if name == "settlement-statements":
        return (r["partner_id"], r["period"], r["currency"], r["revision"], r["final"])
    if name == "partner-balances":  # an upsert stream: its latest record per key
        return (r["partner_id"], r["currency"])
    if name == "partner-risk":  # an upsert stream: its latest record per key
        return (r["partner_id"], r["period"])
    return (r["topic"], r["offset"])


def latest(records_by_output, dlq_by_reason=False):
    """{output: {identity: record without emitted_at}}; with dlq_by_reason the
    dlq is compared as a count per reason (its positions differ between a
    file replay and Kafka)."""
    out = {}
    for name, recs in records_by_output.items():
        if name == "dlq" and dlq_by_reason:
            out[name] = Counter(r["reason"] for r in recs)
            continue
        d = {}
        for r in recs:
            r = dict(r)
            r.pop("emitted_at")
            d[identity(name, r)] = r
        out[name] = d
    return out


def finals(records_by_output):
    """What must not depend on how many partitions or instances ran: the
    settlement records, final metric records, the latest statement per
    partner/period/currency without its revision number (how often a period
    was revised depends on when watermarks arrive), dead letters by reason
    (file replay and Kafka name different positions). Running records are
    left out: they are published once per emit cycle (SPEC §5.2), and the
    cycles of a Kafka run follow processing time. So is the `watermark` of
    final metric records: with several partitions it is stage 2's.""" 
    out = {"settlements": {}, "metrics": {}, "statements": {}, "dlq": {}}
    for r in records_by_output["settlements"]:
        r = dict(r)
        r.pop("emitted_at")
        out["settlements"][r["record_id"]] = r
    for r in records_by_output["campaign-metrics"]:
        if r["final"]:
            r = dict(r)
            r.pop("emitted_at")
            r.pop("watermark", None)
            out["metrics"][(r["dim"], r["key"], r["window_start"], r["window_size"], r["currency"])] = r
    for r in sorted(records_by_output["settlement-statements"], key=lambda r: r["revision"]):
        r = dict(r)
        for k in ("emitted_at", "revision"):
            r.pop(k)
        out["statements"][(r["partner_id"], r["period"], r["currency"])] = r
    # Balances: the latest per partner and currency (an upsert stream, read
    # in order per key), without the watermark it was published at.
    if "partner-balances" in records_by_output:
        out["balances"] = {}
        for r in records_by_output["partner-balances"]:
            r = dict(r)
            for k in ("emitted_at", "watermark"):
                r.pop(k)
            out["balances"][(r["partner_id"], r["currency"])] = r
    # Partner risk: the latest record per partner and period (flags are a
    # function of the input, SPEC §3.9), without its revision and watermark
    # (they depend on when stage 2 hears the marks, like statements').
    if "partner-risk" in records_by_output:
        out["risk"] = {}
        for r in records_by_output["partner-risk"]:
            r = dict(r)
            for k in ("emitted_at", "revision", "watermark"):
                r.pop(k)
            out["risk"][(r["partner_id"], r["period"])] = r
    # At-least-once outputs: a resent dead letter has the same input position.
    seen = {(r["topic"], r["partition"], r["offset"]): r["reason"] for r in records_by_output["dlq"]}
    for reason in seen.values():
        out["dlq"][reason] = out["dlq"].get(reason, 0) + 1
    return out
