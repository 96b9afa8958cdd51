#!/usr/bin/python3
"""`alliance replay` end to end: hand-checked totals of the sample stream,
every bad-input class, schema validation of every record, determinism and
exit codes. Run by ctest with the binary and source dir as arguments."""
import base64
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
DATA = os.path.join(SRC, "tests/data")
OUTPUTS = ["settlements", "campaign-metrics", "settlement-statements", "partner-balances", "partner-risk", "dlq"]
SCHEMA_OF = {"settlements": "settlement-record", "campaign-metrics": "campaign-metric-record",
             "settlement-statements": "settlement-statement-record", "partner-balances": "partner-balance-record",
             "partner-risk": "partner-risk-record", "dlq": "dlq-record"}


def schema(name):
    with open(os.path.join(SRC, "schemas", name + ".schema.json")) as f:
        return Draft202012Validator(json.load(f))


def daily_topology():
    """The sample topology with daily settlement periods (it settles monthly)."""
    with open(TOPOLOGY) as f:
        text = f.read()
    assert "settlement_period: month" in text
    path = os.path.join(tempfile.mkdtemp(prefix="alliance-topology-"), "daily.yaml")
    with open(path, "w") as f:
        f.write(text.replace("settlement_period: month", "settlement_period: day"))
    return path


def replay(*inputs, extra=(), check=True, topology=TOPOLOGY):
    out = tempfile.mkdtemp(prefix="alliance-replay-")
    args = [ALLIANCE, "replay", "--topology", topology, "--out", out, *extra]
    for i in inputs:
        args += ["--input", i]
    p = subprocess.run(args, capture_output=True, text=True)
    if check:
        assert p.returncode == 0, p.stderr
    return out, p


def records(out, name):
    with open(os.path.join(out, name + ".jsonl")) as f:
        return [json.loads(line) for line in f]


def latest(recs, key):
    return {key(r): r for r in recs}


class SampleStream(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.out, cls.proc = replay(os.path.join(DATA, "sample-events.jsonl"))
        cls.out_day, _ = replay(os.path.join(DATA, "sample-events.jsonl"), topology=daily_topology())

    def test_every_record_matches_its_schema(self):
        for name in OUTPUTS:
            v = schema(SCHEMA_OF[name])
            recs = records(self.out, name)
            self.assertTrue(recs, name)
            for r in recs:
                errors = list(v.iter_errors(r))
                self.assertFalse(errors, f"{name}: {r}: {errors[:1]}")

    def test_settlement_records_by_hand(self):
        s = {r["record_id"]: r for r in records(self.out, "settlements")}
        self.assertEqual(s["A1:accrual:0:p-books"]["attributed_minor"], 9900)
        self.assertEqual(s["A1:accrual:0:p-books"]["commission_minor"], 990)
        # Refunds 3301 then 3300 then cancel: floor(9900·r/9900) increments.
        self.assertEqual([s[f"A1:reversal:{k}:p-books"]["attributed_minor"] for k in (1, 2, 3)], [-3301, -3300, -3299])
        self.assertEqual([s[f"A1:reversal:{k}:p-books"]["commission_minor"] for k in (1, 2, 3)], [-330, -330, -330])
        self.assertEqual(s["A5:accrual:0:p-books"]["model"], "referral_code")
        self.assertIsNone(s["A3:accrual:0:p-bank"]["commission_minor"])  # tiered: on the statement
        self.assertEqual(s["A6:accrual:0:p-travel"]["currency"], "USD")
        # The sample topology settles monthly in +08:00 (SPEC §5.3).
        self.assertEqual(s["A7:accrual:0:p-bank"]["period"], "2026-11")
        self.assertEqual(s["A8:accrual:0:p-travel"]["period"], "2026-11")  # late, still settled
        self.assertNotIn("A4:accrual:0:p-books", s)  # unpartnered touchpoint: no settlement
        self.assertEqual(len(s), 10)
        # With daily periods the same records fall on two days.
        d = {r["record_id"]: r for r in records(self.out_day, "settlements")}
        self.assertEqual(d["A7:accrual:0:p-bank"]["period"], "2026-11-21")
        self.assertEqual(d["A8:accrual:0:p-travel"]["period"], "2026-11-20")

    def test_final_statements_by_hand(self):
        st = latest([r for r in records(self.out, "settlement-statements") if r["final"]],
                    lambda r: (r["partner_id"], r["period"], r["currency"]))
        # Pool: 2% of cmp-spring's partnered revenue in 2026-11 CNY
        # (0 + 20000 + 1200000 + 100 + 700) = 24416, split
        # 40·0 : 30·20700 : 30·1200100 = 0 : 414 : 24002. p-bank's
        # 1 200 100 reaches the 800 bp tier: 96008.
        expect = {
            ("p-books", "2026-11", "CNY"): (12900, -9900, 3000, 300, 0, 5),
            ("p-travel", "2026-11", "CNY"): (20700, 0, 20700, 1000 + 414, 414, 2),
            ("p-bank", "2026-11", "CNY"): (1200100, 0, 1200100, 96008 + 24002, 24002, 2),
            ("p-travel", "2026-11", "USD"): (1000, 0, 1000, 500 + 20, 20, 1),
        }
        got = {k: (r["accrued_minor"], r["reversed_minor"], r["net_minor"], r["commission_minor"],
                   r["pool_share_minor"], r["records"]) for k, r in st.items()}
        self.assertEqual(got, expect)
        bank = st[("p-bank", "2026-11", "CNY")]
        # 2026-11 in +08:00: 2026-10-31T16:00Z .. 2026-11-30T16:00Z.
        self.assertEqual((bank["period_start"], bank["period_end"]), (1793462400000, 1796054400000))
        self.assertEqual((bank["contract_id"], bank["rate_bp"]), ("c-bank", 800))
        self.assertIsNone(st[("p-books", "2026-11", "CNY")]["rate_bp"])
        # The month closes at the end of input: no revision.
        self.assertEqual(st[("p-travel", "2026-11", "CNY")]["revision"], 1)

    def test_final_daily_statements_by_hand(self):
        st = latest([r for r in records(self.out_day, "settlement-statements") if r["final"]],
                    lambda r: (r["partner_id"], r["period"], r["currency"]))
        # Pool: 2% of cmp-spring's partnered revenue on 2026-11-20 CNY
        # (0 + 20000 + 1200000 + 700) = 24414, split 40·0 : 30·20700 : 30·1200000.
        expect = {
            ("p-books", "2026-11-20", "CNY"): (12900, -9900, 3000, 300, 0, 5),
            ("p-travel", "2026-11-20", "CNY"): (20700, 0, 20700, 1000 + 414, 414, 2),
            ("p-bank", "2026-11-20", "CNY"): (1200000, 0, 1200000, 96000 + 24000, 24000, 1),
            ("p-travel", "2026-11-20", "USD"): (1000, 0, 1000, 500 + 20, 20, 1),
            ("p-bank", "2026-11-21", "CNY"): (100, 0, 100, 5 + 2, 2, 1),
        }
        got = {k: (r["accrued_minor"], r["reversed_minor"], r["net_minor"], r["commission_minor"],
                   r["pool_share_minor"], r["records"]) for k, r in st.items()}
        self.assertEqual(got, expect)
        # The late A8 arrived after 2026-11-20 closed: revision 2.
        self.assertEqual(st[("p-travel", "2026-11-20", "CNY")]["revision"], 2)
        self.assertEqual(st[("p-bank", "2026-11-21", "CNY")]["revision"], 1)

    def test_statements_reconcile_with_settlement_records(self):
        s = records(self.out, "settlements")
        st = latest([r for r in records(self.out, "settlement-statements") if r["final"]],
                    lambda r: (r["partner_id"], r["period"], r["currency"]))
        import hashlib
        for (p, period, cur), r in st.items():
            mine = [x for x in s if (x["partner_id"], x["period"], x["currency"]) == (p, period, cur)]
            self.assertEqual(r["net_minor"], sum(x["attributed_minor"] for x in mine))
            ids = sorted(x["record_id"] for x in mine)
            self.assertEqual(r["digest"], hashlib.sha256("".join(i + "\n" for i in ids).encode()).hexdigest())

    def test_dead_letters_and_summary(self):
        self.assertEqual([r["reason"] for r in records(self.out, "dlq")], ["refund_exceeds_amount", "order_already_closed"])
        self.assertIn("duplicates:  1 event ids", self.proc.stdout)

    def test_every_window_has_one_final_record(self):
        finals, keys = {}, set()
        for r in records(self.out, "campaign-metrics"):
            k = (r["dim"], r["key"], r["window_start"], r["window_size"], r["currency"])
            keys.add(k)
            if r["final"]:
                self.assertNotIn(k, finals, f"two finals for {k}")
                finals[k] = r
        self.assertEqual(keys - set(finals), set())
        spring_all = finals[("campaign", "cmp-spring", 0, "all", "CNY")]
        self.assertEqual(spring_all["cost_minor"], 10000000)
        self.assertEqual(spring_all["net_benefit_minor"], spring_all["revenue_minor"] - 10000000)


class BadInput(unittest.TestCase):
    def test_one_event_of_every_class(self):
        path = os.path.join(DATA, "bad-events.jsonl")
        out, _ = replay(path)
        with open(os.path.join(DATA, "bad-events.expected-reasons")) as f:
            expected = f.read().split()
        dlq = records(out, "dlq")
        self.assertEqual([r["reason"] for r in dlq], expected)
        with open(path, "rb") as f:
            lines = f.read().split(b"\n")
        import hashlib
        for r in dlq:  # the payload is the original bytes of that line (its first 64 KiB)
            line = lines[r["offset"]]
            self.assertEqual(base64.b64decode(r["payload"]), line[:65536])
            self.assertEqual(r["payload_bytes"], len(line))
            self.assertEqual(r["payload_sha256"], hashlib.sha256(line).hexdigest())
            self.assertEqual(r["topic"], path)
            self.assertTrue(r["detail"])

    def test_input_schemas_reject_what_a_schema_can_express(self):
        v = {k: schema(k + "-event") for k in ("click", "referral", "order")}
        with open(os.path.join(DATA, "sample-events.jsonl")) as f:
            for line in f:
                e = json.loads(line)
                self.assertFalse(list(v[e["type"]].iter_errors(e)), line)
        inexpressible = {"malformed_json", "oversized", "invalid_utf8", "self_referral", "refund_exceeds_amount",
                         "order_already_closed", "missing_field:type"}
        with open(os.path.join(DATA, "bad-events.jsonl"), "rb") as f, \
                open(os.path.join(DATA, "bad-events.expected-reasons")) as g:
            reasons = iter(g.read().split())
            checked = 0
            for raw in f.read().split(b"\n")[:-1]:
                try:
                    e = json.loads(raw)
                except (ValueError, UnicodeDecodeError):
                    next(reasons)
                    continue
                if e.get("event_id", "").startswith("g"):
                    continue  # a valid event that sets up the next bad one
                reason = next(reasons)
                if reason in inexpressible:
                    continue
                kind = e.get("type") if e.get("type") in v else "click"
                self.assertTrue(list(v[kind].iter_errors(e)), f"{reason}: schema accepted {raw[:80]}")
                checked += 1
            self.assertGreaterEqual(checked, 9)


def write_lines(lines, sep=b"\n"):
    path = os.path.join(tempfile.mkdtemp(prefix="alliance-input-"), "in.jsonl")
    with open(path, "wb") as f:
        f.write(b"".join(line + sep for line in lines))
    return path


def event(**fields):
    return json.dumps(fields, separators=(",", ":")).encode()


class InputEdges(unittest.TestCase):
    """Issue 16 items 3, 6, 7 and 13 through the binary (one partition)."""

    def check_schema(self, out):
        v = schema("dlq-record")
        for r in records(out, "dlq"):
            self.assertFalse(list(v.iter_errors(r)), r)

    def test_crlf_lines_keep_their_carriage_return_in_dead_letters(self):
        good = event(type="click", event_id="c1", ts=1795140000000, user_id="u", campaign_id="cmp-spring",
                     source="social", partner_id="p-books")
        order = event(type="order", event_id="o1", ts=1795140060000, user_id="u", order_id="O1", status="completed",
                      amount_minor=9900, currency="CNY")
        bad = event(type="order", event_id="o2", ts=1795140060000, user_id="u", order_id="O2", status="completed",
                    amount_minor=-5, currency="CNY")
        path = write_lines([good, order, bad], sep=b"\r\n")
        out, _ = replay(path)
        self.assertEqual([r["record_id"] for r in records(out, "settlements")], ["O1:accrual:0:p-books"])
        dlq = records(out, "dlq")
        self.assertEqual([r["reason"] for r in dlq], ["bad_amount"])
        self.assertEqual(base64.b64decode(dlq[0]["payload"]), bad + b"\r")
        self.assertEqual(dlq[0]["payload_bytes"], len(bad) + 1)
        self.check_schema(out)

    def test_an_800kb_line_gives_a_small_dead_letter(self):
        import hashlib
        big = event(type="click", event_id="big", ts=1795140000000, user_id="u", campaign_id="c", source="s",
                    pad="x" * 800_000)
        path = write_lines([big, event(type="click", event_id="c1", ts=1795140000001, user_id="u", campaign_id="c",
                                       source="s")])
        out, _ = replay(path)
        with open(os.path.join(out, "dlq.jsonl"), "rb") as f:
            raw = f.read()
        self.assertLess(len(raw), 100 * 1024)  # was ~1.07 MB: more than a Kafka message may hold
        (r,) = records(out, "dlq")
        self.assertEqual(r["reason"], "oversized")
        self.assertEqual(base64.b64decode(r["payload"]), big[:65536])
        self.assertEqual(r["payload_bytes"], len(big))
        self.assertEqual(r["payload_sha256"], hashlib.sha256(big).hexdigest())
        self.check_schema(out)

    def test_bom_exponent_and_control_characters(self):
        base = dict(type="order", event_id="e", ts=1795140000000, user_id="u", order_id="o", status="completed",
                    currency="CNY")
        lines = [
            b"\xef\xbb\xbf" + event(type="click", event_id="b", ts=1, user_id="u", campaign_id="c", source="s"),
            event(**base).replace(b'"currency"', b'"amount_minor":1e400,"currency"'),
            event(type="click", event_id="n", ts=1, user_id="u", campaign_id="c", source="s", partner_id="pA\u0000EVIL"),
            event(type="click", event_id="d", ts=1, user_id="u", campaign_id="c", source="s\u007f"),
        ]
        out, _ = replay(write_lines(lines))
        dlq = records(out, "dlq")
        self.assertEqual([r["reason"] for r in dlq],
                         ["malformed_json", "bad_amount", "bad_value:partner_id", "bad_value:source"])
        self.assertIn("byte order mark (EF BB BF)", dlq[0]["detail"])
        for r in dlq:
            self.assertEqual(base64.b64decode(r["payload"]), lines[r["offset"]])
        self.assertEqual(records(out, "settlements"), [])
        self.assertFalse([r for r in records(out, "settlement-statements") if "pA" in r["partner_id"]])
        self.check_schema(out)

    def test_an_order_event_under_another_user_is_dead_lettered(self):
        ts = 1795140000000
        lines = [
            event(type="click", event_id="c1", ts=ts, user_id="u4", campaign_id="cmp-spring", source="social",
                  partner_id="p-books"),
            event(type="order", event_id="o1", ts=ts + 60000, user_id="u4", order_id="O1", status="completed",
                  amount_minor=9900, currency="CNY"),
            event(type="order", event_id="r1", ts=ts + 120000, user_id="u99", order_id="O1", status="refunded",
                  amount_minor=9900, refund_minor=9900, currency="CNY"),
        ]
        for extra in ([], ["--partitions", "1"]):
            out, _ = replay(write_lines(lines), extra=extra)
            self.assertEqual([r["reason"] for r in records(out, "dlq")], ["order_user_mismatch"], extra)
            self.assertEqual([r["record_id"] for r in records(out, "settlements")], ["O1:accrual:0:p-books"], extra)
            self.check_schema(out)


class Determinism(unittest.TestCase):
    def test_same_input_same_records(self):
        def stripped(out):
            res = {}
            for name in OUTPUTS:
                res[name] = [{k: v for k, v in r.items() if k != "emitted_at"} for r in records(out, name)]
            return res
        gen = subprocess.run([ALLIANCE, "generate", "--topology", TOPOLOGY, "--events", "20000", "--seed", "7"],
                             capture_output=True, check=True).stdout
        path = os.path.join(tempfile.mkdtemp(), "gen.jsonl")
        with open(path, "wb") as f:
            f.write(gen)
        a, _ = replay(path, extra=["--quiet"])
        a2, _ = replay(path, extra=["--quiet"])
        b, _ = replay(path, extra=["--quiet", "--batch", "7"])
        sa, sa2, sb = stripped(a), stripped(a2), stripped(b)
        self.assertGreater(len(sa["settlements"]), 100)
        self.assertEqual(sa, sa2)  # same input, same cycles: the same records
        # Another emit cycle (SPEC §5.2) changes only the running records and
        # how many revisions a statement goes through: settlements, dead
        # letters, final windows and each statement's latest totals are equal.
        self.assertEqual(sa["settlements"], sb["settlements"])
        self.assertEqual(sa["dlq"], sb["dlq"])

        def finals(rs):
            return sorted((json.dumps({k: v for k, v in r.items() if k != "watermark"}, sort_keys=True)
                           for r in rs if r["final"] and r["window_size"] != "all"))

        self.assertEqual(finals(sa["campaign-metrics"]), finals(sb["campaign-metrics"]))

        def latest(rs):
            out = {}
            for r in rs:
                if r["final"]:
                    out[(r["partner_id"], r["period"], r["currency"])] = {k: v for k, v in r.items() if k != "revision"}
            return out

        self.assertEqual(latest(sa["settlement-statements"]), latest(sb["settlement-statements"]))
        # Running records at most once per changed key per cycle: far fewer
        # with the default cycle than with one of 7 records.
        running = lambda rs: sum(1 for r in rs if not r["final"])
        self.assertLess(running(sa["campaign-metrics"]) * 20, running(sb["campaign-metrics"]))


class MtaDataset(unittest.TestCase):
    """The public July 2018 attribution log: 1838 conversions worth 11423.50."""

    def test_totals_reconcile_to_the_source_data(self):
        work = tempfile.mkdtemp()
        events = os.path.join(work, "mta.jsonl")
        with open(events, "w") as f:
            subprocess.run(["/usr/bin/python3", os.path.join(SRC, "tools/mta_to_events.py"),
                            os.path.join(DATA, "mta-july-2018/attribution_data.csv")], stdout=f, check=True)
        out = tempfile.mkdtemp()
        subprocess.run([ALLIANCE, "replay", "--topology", os.path.join(SRC, "topologies/mta-july-2018.yaml"),
                        "--input", events, "--out", out, "--quiet"], check=True)
        from decimal import Decimal
        revenue, conversions, orders = 0, Decimal(0), 0
        for r in records(out, "campaign-metrics"):
            if r["final"] and r["dim"] == "source" and r["window_size"] == "1d":
                revenue += r["revenue_minor"]
                conversions += Decimal(r["conversions"])
        for r in records(out, "campaign-metrics"):
            if r["final"] and r["dim"] == "campaign" and r["window_size"] == "all":
                orders = r["orders"]
        self.assertEqual(revenue, 1142350)
        self.assertEqual(conversions, Decimal("1838"))
        settled = sum(r["attributed_minor"] for r in records(out, "settlements"))
        direct = sum(r["revenue_minor"] for r in records(out, "campaign-metrics")
                     if r["final"] and r["dim"] == "source" and r["key"] == "direct" and r["window_size"] == "1d")
        self.assertEqual(settled + direct, 1142350)  # every channel is a partner: all but direct is settled
        self.assertGreater(orders, 1000)


class ExitCodes(unittest.TestCase):
    def test_unreadable_input(self):
        _, p = replay("/nonexistent/events.jsonl", check=False)
        self.assertEqual(p.returncode, 2)
        self.assertIn("/nonexistent/events.jsonl", p.stderr)

    def test_invalid_topology(self):
        bad = os.path.join(tempfile.mkdtemp(), "bad.yaml")
        with open(bad, "w") as f:
            f.write("name: x\nattribution: {model: nope}\n")
        p = subprocess.run([ALLIANCE, "replay", "--topology", bad, "--input", os.path.join(DATA, "sample-events.jsonl"),
                            "--out", tempfile.mkdtemp()], capture_output=True, text=True)
        self.assertEqual(p.returncode, 2)
        self.assertIn(bad, p.stderr)
        self.assertIn("attribution.model", p.stderr)
        self.assertEqual(p.stderr.count("\n"), 1)  # one line

    def test_bad_events_are_data_not_failure(self):
        _, p = replay(os.path.join(DATA, "bad-events.jsonl"))
        self.assertEqual(p.returncode, 0)

    def test_topology_that_would_double_counts_is_refused(self):
        # Issue 16 item 9, end to end: the loader's refusal reaches the user as exit 2 + one line.
        bad = os.path.join(tempfile.mkdtemp(), "doubled.yaml")
        with open(bad, "w") as f:
            f.write("name: x\nwindows: [1m, 60s]\n")
        p = subprocess.run([ALLIANCE, "replay", "--topology", bad, "--input", os.path.join(DATA, "sample-events.jsonl"),
                            "--out", tempfile.mkdtemp()], capture_output=True, text=True)
        self.assertEqual(p.returncode, 2)
        self.assertIn(bad, p.stderr)
        self.assertIn("windows[1]", p.stderr)

    def refused(self, yaml):
        bad = os.path.join(tempfile.mkdtemp(), "topology.yaml")
        with open(bad, "w") as f:
            f.write(yaml)
        p = subprocess.run([ALLIANCE, "replay", "--topology", bad, "--input", os.path.join(DATA, "sample-events.jsonl"),
                            "--out", tempfile.mkdtemp()], capture_output=True, text=True)
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertIn(bad, p.stderr)
        self.assertEqual(p.stderr.count("\n"), 1, p.stderr)  # one line
        return p.stderr

    def test_duplicate_key_is_refused_naming_key_and_both_lines(self):
        # Issue 20 item 6: YAML keeps one of two equal keys silently; a finance config must not.
        err = self.refused("name: x\npartners:\n  - id: p\n    contract:\n      id: c\n      type: percent\n"
                           "      rate_bp: 1000\n      rate_bp: 5000\n")
        self.assertIn("partners[0].contract.rate_bp", err)
        self.assertIn("lines 7 and 8", err)
        err = self.refused("name: x\nholding_period: 30d\nholding_period: 0s\n")
        self.assertIn("holding_period", err)
        self.assertIn("lines 2 and 3", err)

    def test_name_that_cannot_name_kafka_topics_is_refused(self):
        # Issue 20 item 13: the name prefixes Kafka topics.
        err = self.refused("name: spring alliance\n")
        self.assertIn("name:", err)
        self.assertIn("name: spring-alliance", err)


def run_cli(*args):
    return subprocess.run([ALLIANCE, *args], capture_output=True, text=True)


COMMANDS = ["replay", "generate", "run", "broker", "demo"]


class CliUsage(unittest.TestCase):
    """Issue 16 item 11: every usage error exits 2 (README) with a message that helps."""

    def test_unknown_command_is_named_and_commands_listed(self):
        p = run_cli("frobnicate", "--topology", TOPOLOGY)
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertIn('"frobnicate"', p.stderr)
        for c in COMMANDS:
            self.assertIn(c, p.stderr)
        self.assertNotIn("A subcommand is required", p.stderr)

    def test_missing_command_lists_commands(self):
        p = run_cli()
        self.assertEqual(p.returncode, 2, p.stderr)
        for c in COMMANDS:
            self.assertIn(c, p.stderr)

    def test_usage_errors_exit_2(self):
        cases = [
            ("replay",),                                                    # required options missing
            ("replay", "--topology", TOPOLOGY, "--input", "x", "--out", "y", "--bogus"),  # unknown option
            ("replay", "--topology", TOPOLOGY, "--input", "x", "--out", "y", "--partitions", "0"),  # out of range
            ("generate", "--topology", TOPOLOGY, "--events", "many"),     # not a number
            ("--bogus",),
        ]
        for args in cases:
            with self.subTest(args=args):
                p = run_cli(*args)
                self.assertEqual(p.returncode, 2, p.stderr)
                self.assertTrue(p.stderr.strip())

    def test_zero_events_is_refused_readably(self):
        p = run_cli("generate", "--topology", TOPOLOGY, "--events", "0")
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertIn("--events", p.stderr)
        self.assertIn("greater than 0", p.stderr)
        self.assertIsNone(re.search(r"\d{20}", p.stderr), p.stderr)  # no DBL_MAX written out
        self.assertEqual(p.stdout, "")

    def test_rates_must_be_shares(self):
        for flag in ("--bad-rate", "--duplicate-rate"):
            for value in ("5", "-1", "1.0001", "x"):
                with self.subTest(flag=flag, value=value):
                    p = run_cli("generate", "--topology", TOPOLOGY, "--events", "3", flag, value)
                    self.assertEqual(p.returncode, 2, p.stderr)
                    self.assertIn(flag, p.stderr)
                    self.assertEqual(p.stdout, "")
        p = run_cli("generate", "--topology", TOPOLOGY, "--events", "3", "--bad-rate", "1", "--duplicate-rate", "0")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(len(p.stdout.splitlines()), 3)

    def test_help_shows_defaults(self):
        p = run_cli("generate", "--help")
        self.assertEqual(p.returncode, 0, p.stderr)
        lines = {line.split()[0]: line for line in p.stdout.splitlines() if line.strip().startswith("--")}
        self.assertRegex(lines["--events"], r"=10000\b")
        self.assertRegex(lines["--bad-rate"], r"=0\.002\b")
        self.assertRegex(lines["--seed"], r"=42\b")
        p = run_cli("replay", "--help")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertRegex(p.stdout, r"--batch \S*=replay_batch\b")

    def test_version_is_the_cmake_project_version(self):
        with open(os.path.join(SRC, "CMakeLists.txt")) as f:
            version = re.search(r"project\(alliance VERSION ([0-9.]+)", f.read()).group(1)
        p = run_cli("--version")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stdout.strip(), "alliance " + version)


class StateResume(unittest.TestCase):
    """`replay --state` resumes only where that is sound (SPEC §8, issue 20
    items 2 and 3): the same inputs, the last grown at its end, or new inputs
    after the last, into the same --out; anything else is refused with exit 2
    and one line, and no output file ever holds a byte that is not a record."""

    @classmethod
    def setUpClass(cls):
        gen = subprocess.run([ALLIANCE, "generate", "--topology", TOPOLOGY, "--events", "3000", "--seed", "21"],
                             capture_output=True, check=True).stdout
        cls.lines = gen.splitlines(keepends=True)
        assert len(cls.lines) == 3000 and cls.lines[-1].endswith(b"\n")
        with open(os.path.join(DATA, "sample-events.jsonl"), "rb") as f:
            cls.sample = f.read()

    def setUp(self):
        self.work = tempfile.mkdtemp(prefix="alliance-resume-")

    def path(self, name):
        return os.path.join(self.work, name)

    def write(self, name, data):
        with open(self.path(name), "wb") as f:
            f.write(data if isinstance(data, bytes) else b"".join(data))
        return self.path(name)

    def replay(self, out, *inputs, state="st", cwd=None):
        """--batch 400: the first run below ends inside an emit cycle."""
        args = [os.path.abspath(ALLIANCE), "replay", "--topology", os.path.abspath(TOPOLOGY), "--out", out, "--quiet",
                "--batch", "400"]
        if state:
            args += ["--state", self.path(state)]
        for i in inputs:
            args += ["--input", i]
        return subprocess.run(args, capture_output=True, text=True, cwd=cwd)

    def outputs(self, out, whole=True):
        """Every output file's records without emitted_at; fails on a NUL byte or a line that is not JSON."""
        res = {}
        for name in sorted(os.listdir(out)):
            with open(os.path.join(out, name), "rb") as f:
                data = f.read()
            self.assertNotIn(b"\0", data, name)
            self.assertTrue(data == b"" or data.endswith(b"\n"), name)
            res[name] = [{k: v for k, v in json.loads(line).items() if k != "emitted_at"} for line in data.splitlines()]
        if whole:
            self.assertIn("settlements.jsonl", res)
        return res

    def one_replay(self, *inputs):
        p = self.replay(self.path("ref"), *inputs, state=None)
        self.assertEqual(p.returncode, 0, p.stderr)
        return self.outputs(self.path("ref"))

    def assert_refused(self, p, *names):
        self.assertEqual(p.returncode, 2, p.stdout + p.stderr)
        self.assertEqual(p.stderr.count("\n"), 1, p.stderr)  # one line
        for n in names:
            self.assertIn(n, p.stderr)
        self.assertIn("--state", p.stderr)  # the fix

    def ok(self, p):
        self.assertEqual(p.returncode, 0, p.stderr)

    def test_another_out_is_refused_naming_both_and_writes_nothing(self):
        events = self.write("in.jsonl", self.sample)
        oa, ob = self.path("oa"), self.path("ob")
        self.ok(self.replay(oa, events))
        before = self.outputs(oa)
        p = self.replay(ob, events)
        self.assert_refused(p, os.path.realpath(oa), os.path.realpath(ob))
        if os.path.exists(ob):
            self.outputs(ob)
        self.assertEqual(self.outputs(oa), before)
        # The same directory by another path, and the input too, is the same:
        # resumed, nothing new to read, the same records again. (Apart from
        # the watermark of partner balances re-emitted before any event: the
        # balances do not restore theirs, reported, left to the finance work.)
        os.makedirs(self.path("x"))
        self.ok(self.replay(os.path.join(self.work, "x", "..", "oa") + "/", "./in.jsonl", cwd=self.work))
        self.ok(self.replay("oa", "x/../in.jsonl", cwd=self.work))
        after = self.outputs(oa)
        for recs in (before, after):
            for r in recs["partner-balances.jsonl"]:
                r.pop("watermark")
        self.assertEqual(after, before)

    def test_outputs_changed_behind_the_state_are_refused_not_padded(self):
        events = self.write("in.jsonl", self.sample)
        out = self.path("out")
        self.ok(self.replay(out, events))
        os.remove(os.path.join(out, "settlements.jsonl"))
        p = self.replay(out, events)
        self.assert_refused(p, os.path.join(out, "settlements.jsonl"))
        self.outputs(out, whole=False)

    def test_a_changed_input_is_refused(self):
        # Issue 20 item 3: the state read 2 906 bytes of in.jsonl, which then
        # held another stream: not resumed at byte 2 906.
        events = self.write("in.jsonl", self.sample)
        out = self.path("out")
        self.ok(self.replay(out, events))
        before = self.outputs(out)
        self.write("in.jsonl", self.lines[:81])
        self.assert_refused(self.replay(out, events), os.path.realpath(events), "changed")
        self.assertEqual(self.outputs(out), before)

    def test_a_shorter_input_is_refused(self):
        events = self.write("in.jsonl", self.lines[:1300])
        out = self.path("out")
        self.ok(self.replay(out, events))
        self.write("in.jsonl", self.lines[:1000])
        self.assert_refused(self.replay(out, events), os.path.realpath(events), "fewer")

    def test_a_reordered_or_shortened_list_is_refused(self):
        a, b = self.write("a.jsonl", self.lines[:1300]), self.write("b.jsonl", self.lines[1300:])
        out = self.path("out")
        self.ok(self.replay(out, a, b))
        self.assert_refused(self.replay(out, b, a), os.path.realpath(a), os.path.realpath(b))
        self.assert_refused(self.replay(out, a), os.path.realpath(b))

    def test_a_grown_input_resumes_like_one_replay_of_it_all(self):
        events = self.write("in.jsonl", self.lines[:1300])
        out = self.path("out")
        self.ok(self.replay(out, events))
        self.write("in.jsonl", self.lines)
        self.ok(self.replay(out, events))
        got, want = self.outputs(out), self.one_replay(events)
        self.assertGreater(len(want["settlements.jsonl"]), 100)
        self.assertEqual(got.keys(), want.keys())
        for name in want:
            self.assertEqual(got[name], want[name], name)

    def test_an_input_grown_after_an_unterminated_last_line_is_refused(self):
        events = self.write("in.jsonl", self.lines[:1299] + [self.lines[1299].rstrip(b"\n")])
        out = self.path("out")
        self.ok(self.replay(out, events))
        self.write("in.jsonl", self.lines)
        self.assert_refused(self.replay(out, events), os.path.realpath(events), "newline")

    def test_a_new_input_after_the_last_resumes_like_one_replay_of_them_all(self):
        a, b = self.write("a.jsonl", self.lines[:1300]), self.write("b.jsonl", self.lines[1300:])
        out = self.path("out")
        self.ok(self.replay(out, a))
        self.ok(self.replay(out, a, b))
        got, want = self.outputs(out), self.one_replay(a, b)
        for name in want:
            self.assertEqual(got[name], want[name], name)


if __name__ == "__main__":
    unittest.main(verbosity=2)
