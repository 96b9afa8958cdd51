#!/usr/bin/python3
"""An independent verifier of alliance's outputs (issue 11).

Reads the input events (the JSONL that was produced) and the output records
(from the Kafka topics, or from a replay output directory) and checks the
SPEC invariants without the C++ core:

  duplicates   no record identity with two different bodies (emitted_at
               ignored): settlement record_id; final statement key+revision;
               final metric key; dead letter topic/partition/offset
  money        every accrual is caused by a `completed` event of its order in
               the input (same order, user, currency); an order's accruals
               sum to at most its amount; per order and partner the
               cumulative reversal never exceeds the accrual (amount and
               commission); an order reversed by a `cancelled` nets to zero
  statements   for the latest final revision of each partner/period/currency:
               `records`, `accrued_minor`, `reversed_minor`, `net_minor` and
               `digest` (SHA-256 hex of the sorted record ids, each followed
               by "\\n"; docs/SEMANTICS.md) match the settlement records of
               that period; every settlement record is in a final statement
  dead letters every input line that is not a JSON object in valid UTF-8 is
               dead-lettered (by its SHA-256), with `malformed_json`,
               `invalid_utf8` or `oversized`
  reference    against a clean `alliance replay` of the same input
               (--reference DIR, or made with --alliance BIN): the same
               settlement records, the same final statement numbers, the
               same dead letters (reason + payload hash) and, unless
               --no-metrics, the same final metric records

The reference is the only use of the C++ code, and it is used only for
"nothing missing / nothing extra": every invariant above is computed here.
Prints `verified: N records, lost L, differing duplicates D` and exits 1 on
any violation (2 when it cannot read its inputs).
"""
import argparse
import base64
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict

OUTPUT_FILES = {"settlements": "settlements", "metrics": "campaign-metrics",
                "statements": "settlement-statements", "dlq": "dlq"}
MAX_MESSAGE = 64 * 1024
STATEMENT_NUMBERS = ("accrued_minor", "reversed_minor", "net_minor", "commission_minor", "pool_share_minor",
                     "records", "digest", "period_start", "period_end", "contract_id", "rate_bp", "final")


class Report:
    def __init__(self, limit=20):
        self.counts = Counter()
        self.examples = defaultdict(list)
        self.limit = limit

    def bad(self, kind, msg):
        self.counts[kind] += 1
        if len(self.examples[kind]) < self.limit:
            self.examples[kind].append(msg)

    def total(self):
        return sum(self.counts.values())

    def print(self, out=sys.stderr):
        for kind, n in sorted(self.counts.items()):
            print(f"VIOLATION {kind}: {n}", file=out)
            for m in self.examples[kind]:
                print(f"  - {m}", file=out)


def strip(r, *keys):
    r = dict(r)
    r.pop("emitted_at", None)
    for k in keys:
        r.pop(k, None)
    return r


# ---------------------------------------------------------------- reading

def read_topology(path):
    import yaml
    with open(path) as f:
        t = yaml.safe_load(f)
    outs = t.get("outputs") or {}
    return {"settlements": outs.get("settlements"), "metrics": outs.get("metrics"),
            "statements": outs.get("statements"), "dlq": outs.get("dlq")}


def read_dir(out_dir, report):
    got = {}
    for name, fname in OUTPUT_FILES.items():
        path = os.path.join(out_dir, fname + ".jsonl")
        recs = []
        with open(path, "rb") as f:
            for i, line in enumerate(f):
                try:
                    recs.append(json.loads(line))
                except ValueError:
                    report.bad("torn_output", f"{path}:{i + 1} is not JSON: {line[:80]!r}")
        got[name] = recs
    return got


def read_kafka(bootstrap, topics, report, timeout_s=120):
    """Every record of every partition of the output topics, from offset 0 to
    the high watermark at the time of the call."""
    from confluent_kafka import Consumer, TopicPartition, OFFSET_BEGINNING
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": f"alliance-verify-{os.getpid()}-{time.time_ns()}",
                  "enable.auto.commit": False, "enable.partition.eof": False, "log_level": 3,
                  "fetch.max.bytes": 52428800})
    md = c.list_topics(timeout=30)
    by_topic = {t: name for name, t in topics.items()}
    want, assign = {}, []
    for name, topic in topics.items():
        if topic not in md.topics or md.topics[topic].error is not None:
            report.bad("missing_topic", f"output topic {topic} does not exist")
            continue
        for p in md.topics[topic].partitions:
            lo, hi = c.get_watermark_offsets(TopicPartition(topic, p), timeout=30)
            if lo > 0:
                report.bad("retention", f"{topic}[{p}] starts at offset {lo}: the broker dropped records, "
                           "so nothing can be verified (use a smaller input or more partitions)")
            if hi > lo:
                want[(topic, p)] = hi
                assign.append(TopicPartition(topic, p, OFFSET_BEGINNING))
    got = {name: [] for name in topics}
    if assign:
        c.assign(assign)
    deadline = time.time() + timeout_s
    while want and time.time() < deadline:
        for m in c.consume(num_messages=10000, timeout=1.0):
            if m.error():
                continue
            key = (m.topic(), m.partition())
            try:
                got[by_topic[m.topic()]].append(json.loads(m.value()))
            except ValueError:
                report.bad("torn_output", f"{m.topic()}[{m.partition()}]@{m.offset()} is not JSON")
            if key in want and m.offset() + 1 >= want[key]:
                del want[key]
    c.close()
    for (topic, p), hi in want.items():
        report.bad("unreadable", f"{topic}[{p}]: could not read up to offset {hi} within {timeout_s} s")
    return got


def read_events(paths):
    """The input lines, and what the verifier needs of them: every event by
    event_id (first one), the lines that cannot be events at all."""
    events, hopeless, lines = {}, [], 0
    for path in paths:
        with open(path, "rb") as f:
            data = f.read()
        for raw in data.split(b"\n"):
            if raw.strip(b" \t\r") == b"":
                continue  # blank lines are not events (docs/SEMANTICS.md)
            lines += 1
            digest = hashlib.sha256(raw).hexdigest()
            if len(raw) > MAX_MESSAGE:
                hopeless.append((digest, {"oversized"}))
                continue
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError:
                hopeless.append((digest, {"invalid_utf8"}))
                continue
            try:
                e = json.loads(text)
            except ValueError:
                hopeless.append((digest, {"malformed_json"}))
                continue
            if not isinstance(e, dict):
                hopeless.append((digest, {"malformed_json", "wrong_type:event"}))
                continue
            eid = e.get("event_id")
            if isinstance(eid, str) and eid not in events:
                events[eid] = e
    return events, hopeless, lines


# ---------------------------------------------------------------- checks

def dedupe(name, recs, report):
    """The latest record per identity; two different bodies for one identity
    are a violation (at-least-once outputs resend identical records)."""
    out = {}
    dups = 0
    for r in recs:
        if name == "settlements":
            ident = r.get("record_id")
        elif name == "statements":
            if not r.get("final"):
                continue  # running statements: once per emit cycle, values move
            ident = (r["partner_id"], r["period"], r["currency"], r["revision"])
        elif name == "metrics":
            if not r.get("final"):
                continue
            ident = (r["dim"], r["key"], r["window_start"], r["window_size"], r["currency"])
        else:
            ident = (r["topic"], r["partition"], r["offset"])
        body = strip(r)
        if ident in out:
            dups += 1
            if out[ident] != body:
                diff = sorted(k for k in set(body) | set(out[ident]) if body.get(k) != out[ident].get(k))
                report.bad("differing_duplicate", f"{name} {ident}: fields {diff} differ")
        out[ident] = body
    return out, dups


def event_ms(ts):
    if isinstance(ts, int):
        return ts
    if isinstance(ts, str):
        from datetime import datetime
        try:
            d = datetime.fromisoformat(ts.replace("Z", "+00:00"))
        except ValueError:
            return None
        if d.tzinfo is None:
            return None
        return int(d.timestamp() * 1000) if d.microsecond % 1000 == 0 else int(d.timestamp()) * 1000 + d.microsecond // 1000
    return None


def causing_event(r, orders, kinds):
    """The input event that caused a settlement record: by `event_id` when the
    record carries one (SPEC §5.1), else the event of that order with the
    record's `event_ts` and a status of `kinds`. None when there is none."""
    cands = [e for e in orders.get(r["order_id"], ()) if e.get("status") in kinds and event_ms(e.get("ts")) == r.get("event_ts")]
    if r.get("event_id") is not None:
        cands = [e for e in cands if e.get("event_id") == r["event_id"]]
    return cands


def check_money(settlements, events, report):
    orders = defaultdict(list)
    for e in events.values():
        if isinstance(e.get("order_id"), str):
            orders[e["order_id"]].append(e)
    by_order = defaultdict(list)
    for r in settlements.values():
        by_order[r["order_id"]].append(r)
    for order_id, recs in by_order.items():
        accruals = {}
        reversed_amt = Counter()
        reversed_com = Counter()
        cancelled = False
        amount = None
        for r in recs:
            rid, kind, partner = r["record_id"], r["kind"], r["partner_id"]
            cands = causing_event(r, orders, ("completed",) if kind == "accrual" else ("cancelled", "refunded"))
            if not cands:
                report.bad("phantom_record", f"{rid}: no {kind}-causing event of order {order_id} at "
                           f"event_ts {r.get('event_ts')} in the input")
                continue
            ev = cands[0]
            if ev.get("user_id") != r.get("user_id"):
                report.bad("phantom_record", f"{rid}: user {r.get('user_id')}, its event {ev.get('event_id')} is of "
                           f"user {ev.get('user_id')}")
            expect_id = f"{order_id}:{kind}:"
            if not rid.startswith(expect_id) or not rid.endswith(":" + partner):
                report.bad("bad_record_id", f"{rid}: not <order_id>:<kind>:<n>:<partner_id>")
            if kind == "accrual":
                if ev.get("currency") != r["currency"]:
                    report.bad("currency", f"{rid}: currency {r['currency']} but the order is in {ev.get('currency')}")
                amount = ev.get("amount_minor")
                if r["attributed_minor"] <= 0:
                    report.bad("accrual_not_positive", f"{rid}: attributed_minor {r['attributed_minor']}")
                if partner in accruals:
                    report.bad("two_accruals", f"order {order_id} partner {partner}: two accruals")
                accruals[partner] = r
            elif kind == "reversal":
                if all(e.get("status") == "cancelled" for e in cands):
                    cancelled = True
                if r["attributed_minor"] >= 0:
                    report.bad("reversal_not_negative", f"{rid}: attributed_minor {r['attributed_minor']}")
                reversed_amt[partner] += -r["attributed_minor"]
                if r.get("commission_minor") is not None:
                    reversed_com[partner] += -r["commission_minor"]
            else:
                report.bad("bad_kind", f"{rid}: kind {kind!r}")
        if accruals and isinstance(amount, int):
            total = sum(a["attributed_minor"] for a in accruals.values())
            if total > amount:
                report.bad("accruals_exceed_amount", f"order {order_id}: accruals {total} > amount {amount}")
        for partner, n in reversed_amt.items():
            a = accruals.get(partner)
            if a is None:
                report.bad("reversal_without_accrual", f"order {order_id} partner {partner}: reversed {n}, no accrual")
                continue
            if n > a["attributed_minor"]:
                report.bad("reversal_exceeds_accrual",
                           f"order {order_id} partner {partner}: reversed {n} > accrued {a['attributed_minor']}")
            c = a.get("commission_minor")
            if c is not None and reversed_com[partner] > c:
                report.bad("reversal_exceeds_accrual",
                           f"order {order_id} partner {partner}: commission reversed {reversed_com[partner]} > {c}")
        if cancelled:
            for partner, a in accruals.items():
                if reversed_amt[partner] != a["attributed_minor"]:
                    report.bad("cancel_not_zero", f"order {order_id} partner {partner}: cancelled but nets to "
                               f"{a['attributed_minor'] - reversed_amt[partner]}")
                c = a.get("commission_minor")
                if c is not None and reversed_com[partner] != c:
                    report.bad("cancel_not_zero", f"order {order_id} partner {partner}: cancelled but commission "
                               f"nets to {c - reversed_com[partner]}")


def latest_final_statements(statements):
    latest = {}
    for (partner, period, cur, rev), r in statements.items():
        k = (partner, period, cur)
        if k not in latest or rev > latest[k]["revision"]:
            latest[k] = r
    return latest


def check_statements(settlements, latest, report):
    groups = defaultdict(list)
    for r in settlements.values():
        groups[(r["partner_id"], r["period"], r["currency"])].append(r)
    for key, recs in groups.items():
        s = latest.get(key)
        if s is None:
            report.bad("statement_missing", f"{key}: {len(recs)} settlement records, no final statement")
            continue
        ids = sorted(r["record_id"] for r in recs)
        ids.sort(key=lambda i: i.encode("utf-8"))  # bytewise
        digest = hashlib.sha256("".join(i + "\n" for i in ids).encode("utf-8")).hexdigest()
        accrued = sum(r["attributed_minor"] for r in recs if r["kind"] == "accrual")
        reversed_ = sum(r["attributed_minor"] for r in recs if r["kind"] == "reversal")
        checks = {"records": len(ids), "digest": digest, "accrued_minor": accrued, "reversed_minor": reversed_,
                  "net_minor": accrued + reversed_}
        for field, want in checks.items():
            if s.get(field) != want:
                report.bad("statement_mismatch", f"{key} revision {s['revision']}: {field} {s.get(field)!r}, "
                           f"the settlement records give {want!r}")
    for key, s in latest.items():
        if key not in groups and s.get("records", 0) != 0:
            report.bad("statement_mismatch", f"{key}: records {s['records']} but no settlement record")


def check_hopeless_lines(hopeless, dlq, report):
    by_hash = defaultdict(set)
    for r in dlq.values():
        h = r.get("payload_sha256")
        if h is None:
            h = hashlib.sha256(base64.b64decode(r.get("payload", ""))).hexdigest()
        by_hash[h].add(r.get("reason"))
    for digest, reasons in hopeless:
        got = by_hash.get(digest)
        if not got:
            report.bad("bad_input_not_dead_lettered", f"input line sha256 {digest[:16]}… ({'/'.join(reasons)}) "
                       "is not in the dead letters")
        elif not (got & reasons):
            report.bad("dead_letter_reason", f"input line sha256 {digest[:16]}…: reason {sorted(got)}, "
                       f"expected one of {sorted(reasons)}")


def compare_reference(got, want, report, metrics):
    lost = 0
    gs, ws = got["settlements"], want["settlements"]
    missing = sorted(set(ws) - set(gs))
    extra = sorted(set(gs) - set(ws))
    lost += len(missing)
    for rid in missing:
        report.bad("lost_settlement", f"{rid} is in the clean replay, not in the outputs")
    for rid in extra:
        report.bad("extra_settlement", f"{rid} is in the outputs, not in the clean replay")
    for rid in set(gs) & set(ws):
        if gs[rid] != ws[rid]:
            diff = sorted(k for k in set(gs[rid]) | set(ws[rid]) if gs[rid].get(k) != ws[rid].get(k))
            report.bad("settlement_differs", f"{rid}: fields {diff} differ from the clean replay")
    gl, wl = latest_final_statements(got["statements"]), latest_final_statements(want["statements"])
    for k in sorted(set(wl) - set(gl)):
        lost += 1
        report.bad("lost_statement", f"{k}: final statement in the clean replay, not in the outputs")
    for k in sorted(set(gl) - set(wl)):
        report.bad("extra_statement", f"{k}: final statement not in the clean replay")
    for k in set(gl) & set(wl):
        a, b = strip(gl[k], "revision"), strip(wl[k], "revision")
        diff = sorted(f for f in STATEMENT_NUMBERS if a.get(f) != b.get(f))
        if diff:
            report.bad("statement_differs", f"{k}: {', '.join(f'{f} {a.get(f)!r} vs {b.get(f)!r}' for f in diff)}")
    gd = Counter((r["reason"], r.get("payload_sha256")) for r in got["dlq"].values())
    wd = Counter((r["reason"], r.get("payload_sha256")) for r in want["dlq"].values())
    for k, n in (wd - gd).items():
        lost += n
        report.bad("lost_dead_letter", f"{n}× {k[0]} (payload sha256 {str(k[1])[:16]}…) missing")
    for k, n in (gd - wd).items():
        where = [(r["topic"], r["partition"], r["offset"], base64.b64decode(r.get("payload", ""))[:160], r.get("detail"))
                 for r in got["dlq"].values() if (r["reason"], r.get("payload_sha256")) == k]
        report.bad("extra_dead_letter", f"{n}× {k[0]} (payload sha256 {str(k[1])[:16]}…) not in the clean replay: {where[:3]}")
    if metrics:
        gm = {k: strip(v, "watermark") for k, v in got["metrics"].items()}
        wm = {k: strip(v, "watermark") for k, v in want["metrics"].items()}
        for k in sorted(set(wm) - set(gm)):
            lost += 1
            report.bad("lost_metric", f"final metric {k} missing")
        for k in sorted(set(gm) - set(wm)):
            report.bad("extra_metric", f"final metric {k} not in the clean replay")
        for k in set(gm) & set(wm):
            if gm[k] != wm[k]:
                diff = sorted(f for f in set(gm[k]) | set(wm[k]) if gm[k].get(f) != wm[k].get(f))
                report.bad("metric_differs", f"{k}: {diff} differ from the clean replay")
    return lost


def make_reference(alliance, topology, events, partitions):
    ref = tempfile.mkdtemp(prefix="alliance-verify-ref-")
    cmd = [alliance, "replay", "--topology", topology, "--out", ref, "--quiet"]
    for e in events:
        cmd += ["--input", e]
    if partitions > 1:
        cmd += ["--partitions", str(partitions)]
    subprocess.run(cmd, check=True)
    return ref


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--events", action="append", required=True, help="input JSONL (repeatable, in order)")
    ap.add_argument("--topology", required=True)
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--kafka", metavar="BOOTSTRAP", help="read the output topics from this broker")
    src.add_argument("--out", metavar="DIR", help="read a replay output directory")
    ap.add_argument("--reference", metavar="DIR", help="a clean replay output directory of the same input")
    ap.add_argument("--alliance", metavar="BIN", help="make the clean replay with this binary")
    ap.add_argument("--reference-partitions", type=int, default=1,
                    help="make the clean replay with --partitions N (lateness is per partition)")
    ap.add_argument("--no-metrics", action="store_true", help="do not compare final metric records")
    ap.add_argument("--summary-json", metavar="FILE", help="also write the figures as JSON")
    ap.add_argument("--label", default="", help="a name for the summary line")
    a = ap.parse_args(argv)

    report = Report()
    try:
        events, hopeless, lines = read_events(a.events)
        if a.kafka:
            raw = read_kafka(a.kafka, read_topology(a.topology), report)
        else:
            raw = read_dir(a.out, report)
    except OSError as e:
        print(f"verify: cannot read: {e}", file=sys.stderr)
        return 2

    got, dup_counts = {}, {}
    for name in OUTPUT_FILES:
        got[name], dup_counts[name] = dedupe(name, raw.get(name, []), report)
    check_money(got["settlements"], events, report)
    latest = latest_final_statements(got["statements"])
    check_statements(got["settlements"], latest, report)
    check_hopeless_lines(hopeless, got["dlq"], report)

    lost = 0
    ref_dir = a.reference
    made_ref = None
    if ref_dir is None and a.alliance:
        ref_dir = made_ref = make_reference(a.alliance, a.topology, a.events, a.reference_partitions)
    if ref_dir:
        ref_report = Report()
        want = {}
        ref_raw = read_dir(ref_dir, ref_report)
        for name in OUTPUT_FILES:
            want[name], _ = dedupe(name, ref_raw[name], ref_report)
        if ref_report.total():
            ref_report.print()
            print("verify: the clean replay itself is inconsistent", file=sys.stderr)
            report.bad("reference_inconsistent", "see above")
        lost = compare_reference(got, want, report, not a.no_metrics)
        if made_ref:
            import shutil
            shutil.rmtree(made_ref, ignore_errors=True)

    differing = report.counts["differing_duplicate"]
    n_read = sum(len(v) for v in raw.values())
    figures = {"label": a.label, "input_lines": lines, "records_read": n_read,
               "settlement_records": len(got["settlements"]), "final_statements": len(latest),
               "final_metrics": len(got["metrics"]), "dead_letters": len(got["dlq"]),
               "duplicates": sum(dup_counts.values()), "lost": lost, "differing_duplicates": differing,
               "violations": report.total(), "dlq_by_reason": dict(Counter(r["reason"] for r in got["dlq"].values()))}
    report.print()
    print(f"verified{' ' + a.label if a.label else ''}: {n_read} records ({figures['settlement_records']} settlement "
          f"records, {figures['final_statements']} final statements, {figures['final_metrics']} final metrics, "
          f"{figures['dead_letters']} dead letters, {figures['duplicates']} identical duplicates), "
          f"lost {lost}, differing duplicates {differing}, violations {report.total()}")
    if a.summary_json:
        with open(a.summary_json, "w") as f:
            json.dump(figures, f, indent=1)
    return 1 if report.total() else 0


if __name__ == "__main__":
    sys.exit(main())
