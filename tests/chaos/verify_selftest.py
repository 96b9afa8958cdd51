#!/usr/bin/python3
"""The verifier must be able to fail: a clean replay verifies, and each
planted defect in a copy of its outputs is reported with the right
violation and exit 1. No broker needed (label: chaos, seconds)."""
import base64
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import chaoslib as c  # noqa: E402
import verify  # noqa: E402


def load(path):
    with open(path) as f:
        return [json.loads(l) for l in f]


def save(path, recs):
    with open(path, "w") as f:
        for r in recs:
            f.write(json.dumps(r, separators=(",", ":")) + "\n")


class VerifierSelfTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.work = tempfile.mkdtemp(prefix="alliance-verify-self-")
        cls.events = os.path.join(cls.work, "events.jsonl")
        with open(cls.events, "wb") as f:
            subprocess.run([c.ALLIANCE, "generate", "--topology", c.TOPOLOGY, "--events", "12000", "--seed", "77",
                            "--gap-ms", "3000"], stdout=f, check=True)
            # Hostile lines the verifier classifies itself: must be dead-lettered.
            f.write(b'{"type":"click","event_id":\n')
            f.write(b'\xff\xfe not utf-8\n')
            f.write(b'[1,2,3]\n')
        cls.ref = os.path.join(cls.work, "ref")
        subprocess.run([c.ALLIANCE, "replay", "--topology", c.TOPOLOGY, "--input", cls.events, "--out", cls.ref,
                        "--quiet"], check=True)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.work, ignore_errors=True)

    def run_verifier(self, out):
        summary = os.path.join(self.work, "summary.json")
        p = subprocess.run([sys.executable, os.path.join(HERE, "verify.py"), "--events", self.events, "--topology",
                            c.TOPOLOGY, "--out", out, "--reference", self.ref, "--summary-json", summary],
                           capture_output=True, text=True)
        with open(summary) as f:
            return p.returncode, p.stdout + p.stderr, json.load(f)

    def mutated(self, name, fn):
        out = os.path.join(self.work, "mut-" + self.id().split(".")[-1])
        shutil.rmtree(out, ignore_errors=True)
        shutil.copytree(self.ref, out)
        path = os.path.join(out, name + ".jsonl")
        save(path, fn(load(path)))
        return out

    def assert_caught(self, out, violation):
        rc, text, fig = self.run_verifier(out)
        self.assertEqual(rc, 1, text)
        self.assertIn(f"VIOLATION {violation}", text)
        return fig

    def test_clean_replay_verifies(self):
        rc, text, fig = self.run_verifier(self.ref)
        self.assertEqual(rc, 0, text)
        self.assertIn("lost 0, differing duplicates 0", text)
        self.assertGreater(fig["settlement_records"], 300)
        self.assertGreaterEqual(fig["dlq_by_reason"].get("malformed_json", 0), 2)
        self.assertGreaterEqual(fig["dlq_by_reason"].get("invalid_utf8", 0), 1)

    def test_lost_settlement(self):
        fig = self.assert_caught(self.mutated("settlements", lambda rs: rs[:10] + rs[11:]), "lost_settlement")
        self.assertEqual(fig["lost"], 1)

    def test_differing_duplicate(self):
        def dup(rs):
            r = dict(rs[5])
            r["attributed_minor"] += 1
            return rs + [r]
        fig = self.assert_caught(self.mutated("settlements", dup), "differing_duplicate")
        self.assertEqual(fig["differing_duplicates"], 1)

    def test_identical_duplicate_is_fine(self):
        def dup(rs):
            r = dict(rs[5])
            r["emitted_at"] += 1000
            return rs + [r]
        rc, text, fig = self.run_verifier(self.mutated("settlements", dup))
        self.assertEqual(rc, 0, text)
        self.assertEqual(fig["duplicates"], 1)

    def test_accruals_above_the_order_amount(self):
        def inflate(rs):
            for r in rs:
                if r["kind"] == "accrual":
                    r["attributed_minor"] = 10 ** 12
                    break
            return rs
        self.assert_caught(self.mutated("settlements", inflate), "accruals_exceed_amount")

    def test_reversal_above_its_accrual(self):
        def inflate(rs):
            for r in rs:
                if r["kind"] == "reversal":
                    r["attributed_minor"] = -(10 ** 12)
                    break
            return rs
        self.assert_caught(self.mutated("settlements", inflate), "reversal_exceeds_accrual")

    def test_phantom_accrual(self):
        def phantom(rs):
            r = dict(rs[0])
            r["record_id"] = "ord-none:accrual:0:" + r["partner_id"]
            r["order_id"] = "ord-none"
            return rs + [r]
        self.assert_caught(self.mutated("settlements", phantom), "phantom_record")

    def test_statement_digest_and_count(self):
        def bad_digest(rs):
            for r in rs:
                if r["final"]:
                    r["digest"] = hashlib.sha256(b"x").hexdigest()
                    r["records"] += 1
            return rs
        self.assert_caught(self.mutated("settlement-statements", bad_digest), "statement_mismatch")

    def test_lost_final_statement(self):
        first = [r for r in load(os.path.join(self.ref, "settlement-statements.jsonl")) if r["final"]][0]
        key = (first["partner_id"], first["period"], first["currency"])
        self.assert_caught(self.mutated("settlement-statements", lambda rs: [
            r for r in rs if not (r["final"] and (r["partner_id"], r["period"], r["currency"]) == key)]),
            "statement_missing")

    def test_lost_dead_letter(self):
        def drop_utf8(rs):
            return [r for r in rs if r["reason"] != "invalid_utf8"]
        self.assert_caught(self.mutated("dlq", drop_utf8), "bad_input_not_dead_lettered")
        self.assert_caught(self.mutated("dlq", lambda rs: rs[1:]), "lost_dead_letter")

    def test_changed_final_metric(self):
        def change(rs):
            for r in rs:
                if r["final"]:
                    r["clicks"] += 1
                    break
            return rs
        self.assert_caught(self.mutated("campaign-metrics", change), "metric_differs")


if __name__ == "__main__":
    unittest.main(verbosity=2)
