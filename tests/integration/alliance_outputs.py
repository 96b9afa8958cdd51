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
