#!/usr/bin/python3
"""`alliance payouts` with hostile partner ids (issue 20 item 9, SPEC §5.5):
partner ids are free text, the payout batch CSV neutralises them. A text
cell that begins with `=`, `+`, `-`, `@`, tab, carriage return (or `'`) gets
a `'` in front, cells keep RFC 4180 quoting, amounts stay bare integers, and
dropping one leading `'` gives the ids back (the round trip of
docs/FINANCE.md "How to pay")."""
import csv
import io
import json
import os
import subprocess
import tempfile
import unittest

ALLIANCE = os.environ.get("ALLIANCE_BIN", "build/src/app/alliance")

# Each id gets one flat commission of 500 + 10 * its index, so every line
# is told apart by its amount too.
# (Tab and carriage return are neutralised too, but the topology refuses
# control characters in ids, so no partner id can begin with them.)
HOSTILE = [
    '=HYPERLINK("http://evil.example/?x=1","click me")',
    "+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(1,2)",
    "'already-quoted",
    "p-plain",
    "a=b+c",
]
PAID_AT = "2026-12-01T10:00:00+08:00"


def neutralised(s):
    return "'" + s if s[:1] in ("=", "+", "-", "@", "\t", "\r", "'") else s


def write(path, lines):
    with open(path, "w") as f:
        for line in lines:
            f.write(json.dumps(line) + "\n")


class HostilePartnerIds(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.work = tempfile.mkdtemp(prefix="alliance-payouts-csv-")
        # JSON is YAML: the ids go into the topology exactly as written.
        cls.topology = os.path.join(cls.work, "hostile.yaml")
        with open(cls.topology, "w") as f:
            json.dump({"name": "hostile-ids", "default_currency": "CNY", "holding_period": "0s",
                       "settlement_tz": "+08:00", "settlement_period": "month",
                       "campaigns": [{"id": "cmp", "cost_minor": 0}],
                       "partners": [{"id": pid, "contract": {"id": f"c{i}", "type": "flat",
                                                             "per_conversion_minor": 500 + 10 * i}}
                                    for i, pid in enumerate(HOSTILE)]}, f)
        events = []
        for i, pid in enumerate(HOSTILE):
            events.append({"type": "click", "event_id": f"k{i}", "ts": f"2026-11-20T10:{i:02d}:00+08:00",
                           "user_id": f"u{i}", "campaign_id": "cmp", "source": "affiliate", "partner_id": pid})
            events.append({"type": "order", "event_id": f"o{i}", "ts": f"2026-11-20T10:{i:02d}:30+08:00",
                           "user_id": f"u{i}", "order_id": f"A{i}", "status": "completed",
                           "amount_minor": 10000, "currency": "CNY", "campaign_id": "cmp"})
        cls.events = os.path.join(cls.work, "events.jsonl")
        write(cls.events, events)
        cls.out = cls.replay(cls.events)
        cls.batch = cls.payouts(cls.out)

    @classmethod
    def replay(cls, *inputs):
        out = tempfile.mkdtemp(prefix="out-", dir=cls.work)
        args = [ALLIANCE, "replay", "--topology", cls.topology, "--out", out, "--quiet"]
        for i in inputs:
            args += ["--input", i]
        p = subprocess.run(args, capture_output=True, text=True)
        assert p.returncode == 0, p.stderr
        return out

    @staticmethod
    def payouts(out):
        p = subprocess.run([ALLIANCE, "payouts", "--from", out], capture_output=True)
        assert p.returncode == 0, p.stderr
        return p.stdout.decode()

    def rows(self, batch):
        # newline="" semantics: csv must see the raw CR inside a quoted cell.
        return list(csv.reader(io.StringIO(batch, newline="")))

    def test_the_balances_keep_the_ids_as_they_are(self):
        with open(os.path.join(self.out, "partner-balances.jsonl")) as f:
            ids = {json.loads(line)["partner_id"] for line in f}
        self.assertEqual(ids, set(HOSTILE))

    def test_every_cell_is_neutralised_and_exact(self):
        rows = self.rows(self.batch)
        self.assertEqual(rows[0], ["partner_id", "currency", "amount_minor", "reference"])
        want = sorted(HOSTILE)  # the batch is ordered by partner id (bytes)
        self.assertEqual(len(rows) - 1, len(want), self.batch)
        for row, pid in zip(rows[1:], want):
            amount = 500 + 10 * HOSTILE.index(pid)
            with self.subTest(partner=pid):
                self.assertEqual(row, [neutralised(pid), "CNY", str(amount),
                                       neutralised(f"{pid}:CNY:paid-to:{amount}")])

    def test_no_line_starts_a_formula(self):
        # Whatever a spreadsheet reads first in a cell: never = + - @ tab CR.
        for row in self.rows(self.batch)[1:]:
            for cell in (row[0], row[3]):
                self.assertNotIn(cell[:1], ("=", "+", "-", "@", "\t", "\r"), row)
        # The raw text: the + and - ids need no quotes, but carry the '.
        self.assertIn("\n'+cmd|' /C calc'!A0,CNY,510,'+cmd|' /C calc'!A0:CNY:paid-to:510\n", self.batch)
        self.assertIn("\n'-2+3,CNY,520,'-2+3:CNY:paid-to:520\n", self.batch)
        self.assertIn('\n"\'=HYPERLINK(""http://evil.example/?x=1"",""click me"")",CNY,500,', self.batch)
        self.assertIn("\n\"'@SUM(1,2)\",CNY,530,\"'@SUM(1,2):CNY:paid-to:530\"\n", self.batch)
        self.assertIn("\np-plain,CNY,550,p-plain:CNY:paid-to:550\n", self.batch)
        self.assertIn("\na=b+c,CNY,560,a=b+c:CNY:paid-to:560\n", self.batch)

    def test_dropping_one_quote_pays_the_batch(self):
        # docs/FINANCE.md: a program reading the batch drops one leading '
        # from a text cell; the payouts then take every balance to 0.
        unquote = lambda s: s[1:] if s.startswith("'") else s
        payouts = [{"type": "payout", "payout_id": unquote(r["reference"]), "ts": PAID_AT,
                    "partner_id": unquote(r["partner_id"]), "amount_minor": int(r["amount_minor"]),
                    "currency": r["currency"], "reference": unquote(r["reference"])}
                   for r in csv.DictReader(io.StringIO(self.batch, newline=""))]
        self.assertEqual(len(payouts), len(HOSTILE))
        paid = os.path.join(self.work, "payouts.jsonl")
        write(paid, payouts)
        out = self.replay(self.events, paid)
        with open(os.path.join(out, "dlq.jsonl")) as f:
            self.assertEqual(f.read(), "")
        self.assertEqual(self.payouts(out), "partner_id,currency,amount_minor,reference\n")


if __name__ == "__main__":
    unittest.main(verbosity=2)
