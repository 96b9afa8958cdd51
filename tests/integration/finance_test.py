"""The finance lifecycle through the `alliance` binary (issue 14, SPEC §3.8,
§5.5): partner-balances.jsonl from a replay, `alliance payouts --from DIR`,
and the round trip: the payout batch fed back as `payout` events takes every
payable balance to zero. Also checks the worked example of docs/FINANCE.md.
"""
import csv
import io
import json
import os
import re
import subprocess
import sys
import tempfile
import unittest

from jsonschema import Draft202012Validator

ALLIANCE = os.environ.get("ALLIANCE_BIN", "build/src/app/alliance")
SRC = os.environ.get("ALLIANCE_SRC", ".")
TOPOLOGY = os.path.join(SRC, "topologies/spring-alliance.yaml")
SAMPLE = os.path.join(SRC, "tests/data/sample-events.jsonl")
# One click of 2027-01-05: November is closed and every holding period passed.
JANUARY = os.path.join(SRC, "tests/data/january-heartbeat.jsonl")
FINANCE_MD = os.path.join(SRC, "docs/FINANCE.md")
PAYOUT_REASONS = {"payout_exceeds_payable", "duplicate_payout", "unknown_partner"}


def replay(*inputs, extra=(), topology=TOPOLOGY):
    out = tempfile.mkdtemp(prefix="alliance-finance-")
    args = [ALLIANCE, "replay", "--topology", topology, "--out", out, "--quiet", *extra]
    for i in inputs:
        args += ["--input", i]
    p = subprocess.run(args, capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    return out


def records(out, name):
    with open(os.path.join(out, name + ".jsonl")) as f:
        return [json.loads(line) for line in f]


def latest_balances(out):
    return {(r["partner_id"], r["currency"]): r for r in records(out, "partner-balances")}


def payouts_csv(out):
    p = subprocess.run([ALLIANCE, "payouts", "--from", out], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    return p.stdout


def write_lines(lines):
    path = os.path.join(tempfile.mkdtemp(prefix="alliance-input-"), "in.jsonl")
    with open(path, "w") as f:
        for line in lines:
            f.write(json.dumps(line) + "\n")
    return path


# Traffic in January: by then November's month is closed and every holding
# period (30 d after completion or after the month's end) has passed.
HEARTBEAT = {"type": "click", "event_id": "k-jan", "ts": "2027-01-05T09:00:00+08:00", "user_id": "u-jan",
             "campaign_id": "cmp-spring", "source": "organic"}
PAID_AT = "2027-01-05T10:00:00+08:00"


def payout_events(batch):
    return [{"type": "payout", "payout_id": row["reference"], "ts": PAID_AT, "partner_id": row["partner_id"],
             "amount_minor": int(row["amount_minor"]), "currency": row["currency"], "reference": row["reference"]}
            for row in csv.DictReader(io.StringIO(batch))]


def doc_block(name):
    """The fenced block after `<!-- name -->` in docs/FINANCE.md."""
    with open(FINANCE_MD) as f:
        text = f.read()
    m = re.search(r"<!-- " + re.escape(name) + r" -->\s*```[a-z]*\n(.*?)```", text, re.S)
    assert m, f"docs/FINANCE.md has no block {name}"
    return m.group(1)


def doc_table(name):
    """The rows of the markdown table after `<!-- name -->` in docs/FINANCE.md."""
    with open(FINANCE_MD) as f:
        text = f.read()
    m = re.search(r"<!-- " + re.escape(name) + r" -->\n((?:\|.*\n)+)", text)
    assert m, f"docs/FINANCE.md has no table {name}"
    return [[c.strip() for c in line.split("|")[1:-1]] for line in m.group(1).strip().splitlines()[2:]]


class Balances(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.out = replay(SAMPLE, JANUARY)

    def test_every_record_matches_the_schema_and_the_invariant(self):
        with open(os.path.join(SRC, "schemas/partner-balance-record.schema.json")) as f:
            v = Draft202012Validator(json.load(f))
        recs = records(self.out, "partner-balances")
        self.assertTrue(recs)
        for r in recs:
            self.assertFalse(list(v.iter_errors(r)), r)
            self.assertEqual(r["accrued_minor"] + r["reversed_minor"],
                             r["pending_minor"] + r["payable_minor"] + r["paid_minor"], r)

    def test_once_per_emit_cycle_per_changed_balance(self):
        # One emit cycle for the whole file, then the end of input: at most
        # two records per balance, never one per event.
        keys = [(r["partner_id"], r["currency"]) for r in records(self.out, "partner-balances")]
        for k in set(keys):
            self.assertLessEqual(keys.count(k), 2, k)

    def test_balances_reconcile_with_the_final_statements(self):
        st = {}
        for r in records(self.out, "settlement-statements"):
            if r["final"]:
                st[(r["partner_id"], r["period"], r["currency"])] = r
        commission = {}
        for (partner, _, currency), r in st.items():
            commission[(partner, currency)] = commission.get((partner, currency), 0) + (r["commission_minor"] or 0)
        for k, b in latest_balances(self.out).items():
            self.assertEqual(b["accrued_minor"] + b["reversed_minor"], commission[k], k)
            self.assertEqual(b["pending_minor"], 0, k)  # January: every holding period passed

    def test_worked_example_of_finance_md(self):
        # The statements, balances and batch docs/FINANCE.md shows are the ones this replay writes.
        batch = payouts_csv(self.out)
        self.assertEqual(batch, doc_block("payout-batch"))
        got = {k: (b["accrued_minor"], b["reversed_minor"], b["pending_minor"], b["payable_minor"], b["paid_minor"])
               for k, b in latest_balances(self.out).items()}
        expect = {(r[0], r[1]): tuple(int(x.replace(" ", "")) for x in r[2:7]) for r in doc_table("balances")}
        self.assertEqual(got, expect)


class MaturityFollowsTheEvents(unittest.TestCase):
    """Issue 20 item 1 (SPEC §3.8): the end-of-input flush closes periods
    but matures nothing, and a resumed replay goes on from the last event's
    watermark."""

    def test_the_end_of_input_matures_nothing(self):
        # The sample ends in November: nothing is 30 days old at its end.
        out = replay(SAMPLE)
        balances = latest_balances(out)
        self.assertTrue(balances)
        for k, b in balances.items():
            self.assertEqual(b["payable_minor"], 0, b)
            self.assertEqual(b["pending_minor"], b["accrued_minor"] + b["reversed_minor"], b)
            self.assertLess(b["watermark"], 9223372036854775807, b)
        self.assertTrue(any(r["final"] for r in records(out, "settlement-statements")), "the flush closes periods")
        self.assertEqual(payouts_csv(out), "partner_id,currency,amount_minor,reference\n")

    def test_a_resumed_replay_gives_the_balances_of_one_replay(self):
        # A, then the state resumed with A and B, against one replay of A and B:
        # the same balances, and a payout that one replay refuses is refused.
        payout = {"type": "payout", "payout_id": "po-big", "ts": "2026-12-01T10:00:00+08:00",
                  "partner_id": "p-books", "amount_minor": 300, "currency": "CNY"}
        b = write_lines([{"type": "click", "event_id": "k-dec", "ts": "2026-12-01T09:00:00+08:00",
                          "user_id": "u-dec", "campaign_id": "cmp-spring", "source": "organic"}, payout])
        state = tempfile.mkdtemp(prefix="alliance-state-")
        out = tempfile.mkdtemp(prefix="alliance-resumed-")
        common = [ALLIANCE, "replay", "--topology", TOPOLOGY, "--out", out, "--quiet", "--state", state, "--input", SAMPLE]
        p = subprocess.run(common, capture_output=True, text=True)
        self.assertEqual(p.returncode, 0, p.stderr)
        p = subprocess.run(common + ["--input", b], capture_output=True, text=True)
        self.assertEqual(p.returncode, 0, p.stderr)
        whole = replay(SAMPLE, b)
        # A record's watermark is the one of the cycle that emitted it (the
        # resumed run emitted these at A's end, nothing changed them in B).
        strip = lambda m: {k: {f: v for f, v in r.items() if f not in ("emitted_at", "watermark")} for k, r in m.items()}
        self.assertEqual(strip(latest_balances(out)), strip(latest_balances(whole)))
        for o in (out, whole):
            refused = [d for d in records(o, "dlq") if d["reason"] == "payout_exceeds_payable"]
            self.assertEqual(len(refused), 1, o)
        self.assertEqual(latest_balances(out)[("p-books", "CNY")]["paid_minor"], 0)


class PayoutRoundTrip(unittest.TestCase):
    def test_paying_the_batch_takes_payable_to_zero(self):
        first = replay(SAMPLE, write_lines([HEARTBEAT]))
        batch = payouts_csv(first)
        self.assertEqual(batch, payouts_csv(first))  # deterministic
        rows = list(csv.DictReader(io.StringIO(batch)))
        self.assertEqual(set(rows[0].keys()), {"partner_id", "currency", "amount_minor", "reference"})
        before = latest_balances(first)
        self.assertEqual({(r["partner_id"], r["currency"]): int(r["amount_minor"]) for r in rows},
                         {k: b["payable_minor"] for k, b in before.items() if b["payable_minor"] > 0})
        # Finance pays the batch: the same events, the heartbeat, then the payouts.
        second = replay(SAMPLE, write_lines([HEARTBEAT] + payout_events(batch)))
        dead = [d for d in records(second, "dlq") if d["reason"] in PAYOUT_REASONS]
        self.assertEqual(dead, [])
        after = latest_balances(second)
        for r in rows:
            b = after[(r["partner_id"], r["currency"])]
            self.assertEqual(b["payable_minor"], 0, b)
            self.assertEqual(b["paid_minor"], int(r["amount_minor"]), b)
            self.assertEqual(b["last_payout_id"], r["reference"], b)
        self.assertEqual(payouts_csv(second), "partner_id,currency,amount_minor,reference\n")
        # Paying the same batch again: every line is a duplicate payout.
        third = replay(SAMPLE, write_lines([HEARTBEAT] + payout_events(batch) + payout_events(batch)))
        self.assertEqual(sorted(d["reason"] for d in records(third, "dlq") if d["reason"] in PAYOUT_REASONS),
                         ["duplicate_payout"] * len(rows))

    def test_refused_payouts_are_dead_lettered_with_their_bytes(self):
        lines = [HEARTBEAT,
                 {"type": "payout", "payout_id": "po-1", "ts": PAID_AT, "partner_id": "p-books",
                  "amount_minor": 301, "currency": "CNY"},
                 {"type": "payout", "payout_id": "po-2", "ts": PAID_AT, "partner_id": "p-nobody",
                  "amount_minor": 1, "currency": "CNY"},
                 {"type": "payout", "payout_id": "po-3", "ts": PAID_AT, "partner_id": "p-books",
                  "amount_minor": 300, "currency": "CNY"},
                 {"type": "payout", "payout_id": "po-3", "ts": PAID_AT, "partner_id": "p-books",
                  "amount_minor": 1, "currency": "CNY"},
                 {"type": "payout", "payout_id": "po-4", "ts": PAID_AT, "partner_id": "p-books",
                  "currency": "CNY"}]
        out = replay(SAMPLE, write_lines(lines))
        dlq = [d for d in records(out, "dlq") if d["offset"] >= 1 and d["topic"].endswith("in.jsonl")]
        self.assertEqual([d["reason"] for d in dlq],
                         ["payout_exceeds_payable", "unknown_partner", "duplicate_payout", "missing_field:amount_minor"])
        b = latest_balances(out)[("p-books", "CNY")]
        self.assertEqual((b["payable_minor"], b["paid_minor"], b["last_payout_id"]), (0, 300, "po-3"))

    def test_a_clawback_after_payment(self):
        # p-books is paid its 300, then the A5 order (3000, 300 of commission) is refunded in full.
        lines = [HEARTBEAT,
                 {"type": "payout", "payout_id": "po-1", "ts": PAID_AT, "partner_id": "p-books",
                  "amount_minor": 300, "currency": "CNY"},
                 {"type": "order", "event_id": "o-late", "ts": "2027-01-06T10:00:00+08:00", "user_id": "u5",
                  "order_id": "A5", "status": "refunded", "amount_minor": 3000, "currency": "CNY",
                  "refund_minor": 3000}]
        b = latest_balances(replay(SAMPLE, write_lines(lines)))[("p-books", "CNY")]
        self.assertEqual((b["payable_minor"], b["paid_minor"], b["reversed_minor"]), (-300, 300, -1290))
        self.assertEqual(b["accrued_minor"] + b["reversed_minor"], b["pending_minor"] + b["payable_minor"] + b["paid_minor"])

    def test_two_stage_replay_carries_payouts_to_the_ledger(self):
        # With --partitions the payout travels through stage 2, like on Kafka.
        lines = [HEARTBEAT] + [dict(HEARTBEAT, event_id=f"k-jan-{u}", user_id=u) for u in ("u1", "u2", "u3", "u4", "u5")]
        lines.append({"type": "payout", "payout_id": "po-1", "ts": PAID_AT, "partner_id": "p-travel",
                      "amount_minor": 1414, "currency": "CNY"})
        one = latest_balances(replay(SAMPLE, write_lines(lines)))
        three = latest_balances(replay(SAMPLE, write_lines(lines), extra=["--partitions", "3", "--batch", "1"]))
        self.assertEqual(one[("p-travel", "CNY")]["paid_minor"], 1414)
        strip = lambda m: {k: {f: v for f, v in r.items() if f != "emitted_at"} for k, r in m.items()}
        self.assertEqual(strip(one), strip(three))


def hold_topology():
    """The sample topology with risk.action hold and small minimum counts."""
    with open(TOPOLOGY) as f:
        text = f.read()
    old = "risk: {action: flag,"
    assert old in text and "min_orders: 20" in text
    path = os.path.join(tempfile.mkdtemp(prefix="alliance-topology-"), "hold.yaml")
    with open(path, "w") as f:
        f.write(text.replace(old, "risk: {action: hold,").replace("min_orders: 20", "min_orders: 4"))
    return path


# Click injection by p-books (SPEC §3.9): three buyers whose p-books click
# came one second before their order, on top of the sample's two honest
# p-books orders: 3 fast of 5 credited > 0.3, with min_orders 4.
INJECTED = []
for i in range(3):
    INJECTED.append({"type": "click", "event_id": f"inj-k{i}", "ts": f"2026-11-22T10:00:0{i}+08:00",
                     "user_id": f"inj{i}", "campaign_id": "cmp-spring", "source": "affiliate", "partner_id": "p-books"})
    INJECTED.append({"type": "order", "event_id": f"inj-o{i}", "ts": f"2026-11-22T10:00:0{i + 1}+08:00",
                     "user_id": f"inj{i}", "order_id": f"INJ{i}", "status": "completed", "amount_minor": 10000,
                     "currency": "CNY"})
RELEASE = {"type": "risk_release", "release_id": "rel-2026-11-p-books", "ts": PAID_AT, "partner_id": "p-books",
           "period": "2026-11", "reference": "review-42"}


class PartnerRiskHolds(unittest.TestCase):
    """risk.action hold through the binary: a flagged partner-period's
    commission stays pending (held_minor) past its holding period, `alliance
    payouts` never proposes it, a risk_release frees it, and three
    partitions give the records of one (issue 23)."""

    @classmethod
    def setUpClass(cls):
        cls.topology = hold_topology()
        cls.held = replay(SAMPLE, write_lines(INJECTED + [HEARTBEAT]), topology=cls.topology)
        cls.released = replay(SAMPLE, write_lines(INJECTED + [HEARTBEAT, RELEASE, RELEASE]), topology=cls.topology)

    def risk(self, out):
        return {(r["partner_id"], r["period"]): r for r in records(out, "partner-risk")}

    def commission(self, out):
        final = [r for r in records(out, "settlement-statements")
                 if r["final"] and (r["partner_id"], r["period"], r["currency"]) == ("p-books", "2026-11", "CNY")]
        return final[-1]["commission_minor"]

    def test_a_flagged_period_is_held_and_never_proposed_for_payment(self):
        r = self.risk(self.held)[("p-books", "2026-11")]
        self.assertEqual((r["credited_orders"], r["fast_orders"], r["fast_share"]), (5, 3, "0.600000"))
        self.assertEqual((r["flags"], r["held"], r["released"], r["final"]), (["click_injection"], True, False, True))
        b = latest_balances(self.held)[("p-books", "CNY")]
        # 300 of the sample (docs/FINANCE.md) + 3 x 1000 + now a pool share (p-books' cmp-spring net
        # is positive): the period's whole commission, past its holding period, held.
        owed = self.commission(self.held)
        self.assertGreater(owed, 3300)
        self.assertEqual((b["pending_minor"], b["held_minor"], b["payable_minor"]), (owed, owed, 0))
        self.assertNotIn("p-books", payouts_csv(self.held))
        p = subprocess.run([ALLIANCE, "payouts", "--from", self.held], capture_output=True, text=True)
        self.assertIn(f"held by partner risk, not in this batch until a risk_release: p-books CNY {owed}", p.stderr)
        self.assertIn("p-travel,CNY,", payouts_csv(self.held))  # unflagged partners are paid as before
        for rec in records(self.held, "partner-balances") + records(self.released, "partner-balances"):
            self.assertEqual(rec["accrued_minor"] + rec["reversed_minor"],
                             rec["pending_minor"] + rec["payable_minor"] + rec["paid_minor"], rec)
            self.assertLessEqual(rec["held_minor"], max(rec["pending_minor"], 0), rec)

    def test_a_release_frees_the_period_once(self):
        r = self.risk(self.released)[("p-books", "2026-11")]
        self.assertEqual((r["flags"], r["held"], r["released"], r["final"]), (["click_injection"], False, True, True))
        self.assertEqual(r["revision"], 2)
        b = latest_balances(self.released)[("p-books", "CNY")]
        owed = self.commission(self.released)
        self.assertEqual((b["pending_minor"], b["held_minor"], b["payable_minor"]), (0, 0, owed))
        self.assertIn(f"p-books,CNY,{owed},p-books:CNY:paid-to:{owed}", payouts_csv(self.released))
        self.assertEqual([d["reason"] for d in records(self.released, "dlq")][-1], "duplicate_release")
        with open(os.path.join(SRC, "schemas/partner-risk-record.schema.json")) as f:
            v = Draft202012Validator(json.load(f))
        for rec in records(self.released, "partner-risk"):
            self.assertFalse(list(v.iter_errors(rec)), rec)
        with open(os.path.join(SRC, "schemas/risk-release-event.schema.json")) as f:
            self.assertFalse(list(Draft202012Validator(json.load(f)).iter_errors(RELEASE)))

    def test_three_partitions_give_the_risk_and_balances_of_one(self):
        lines = write_lines(INJECTED + [HEARTBEAT] + [dict(HEARTBEAT, event_id=f"k-jan-{u}", user_id=u)
                                                      for u in ("u1", "u2", "u3", "u4", "u5")] + [RELEASE])
        one = replay(SAMPLE, lines, topology=self.topology)
        three = replay(SAMPLE, lines, topology=self.topology, extra=["--partitions", "3", "--batch", "1"])

        def latest(out, name, key, drop):
            return {key(r): {f: v for f, v in r.items() if f not in drop} for r in records(out, name)}
        risk_key = lambda r: (r["partner_id"], r["period"])
        bal_key = lambda r: (r["partner_id"], r["currency"])
        # The revision count and watermark depend on when stage 2 hears the marks (like statements).
        drop = {"emitted_at", "revision", "watermark"}
        self.assertEqual(latest(one, "partner-risk", risk_key, drop), latest(three, "partner-risk", risk_key, drop))
        self.assertTrue(latest(one, "partner-risk", risk_key, drop)[("p-books", "2026-11")]["released"])
        self.assertEqual(latest(one, "partner-balances", bal_key, {"emitted_at"}),
                         latest(three, "partner-balances", bal_key, {"emitted_at"}))


if __name__ == "__main__":
    unittest.main(verbosity=2)
