#!/usr/bin/python3
"""The soak harness works (issue 22, docs/SOAK.md): `bench/soak.sh 60s 2000`
with its broker, producer, run, latency probe and sampler in their own
processes produces a complete report — samples.csv and latency.csv with
every cell filled and enough rows, a whole PNG, a summary with the targets,
and a producer that held at least 80 % of its rate (harness sanity, not a
speed target). Then the report's checker is shown to reject a report with an
empty cell, a broken PNG or a producer that fell short."""
import csv
import os
import shutil
import subprocess
import tempfile
import unittest

SRC = os.path.abspath(os.environ.get("ALLIANCE_SRC", "."))
BUILD = os.path.abspath(os.environ.get("ALLIANCE_BUILD", "build"))
REPORT = os.path.join(SRC, "bench/soak_report.py")
DURATION_S, RATE = 60, 2000


def check(d, min_rows=DURATION_S // 10):
    r = subprocess.run(["/usr/bin/python3", REPORT, "--check", d, "--min-rows", str(min_rows)],
                       capture_output=True, text=True)
    return r.returncode, r.stderr


class SoakSmoke(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.work = tempfile.mkdtemp(prefix="alliance-soak-")
        cls.out = os.path.join(cls.work, "report")
        env = dict(os.environ, OUT=cls.out, BUILD=BUILD)
        cls.soak = subprocess.run(["bash", os.path.join(SRC, "bench/soak.sh"), f"{DURATION_S}s", str(RATE), "20000"],
                                 cwd=SRC, env=env, capture_output=True, text=True, timeout=240)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.work, ignore_errors=True)

    def test_the_report_is_complete(self):
        self.assertEqual(self.soak.returncode, 0, self.soak.stdout + self.soak.stderr)
        rc, why = check(self.out)
        self.assertEqual(rc, 0, why)
        with open(os.path.join(self.out, "samples.csv")) as f:
            rows = list(csv.DictReader(f))
        self.assertEqual(len(rows), DURATION_S // 10)
        self.assertGreater(float(rows[-1]["lat_count"]), 0)
        self.assertGreater(float(rows[-1]["state_disk_mb"]), 0)
        self.assertGreater(float(rows[-1]["rss_mb"]), 10)
        summary = open(os.path.join(self.out, "summary.txt")).read()
        for target in ("p99 < 250 ms", "p50 < 100 ms", "consumer lag < 1 s", "RSS growth", "state on disk",
                       "no error lines"):
            self.assertIn(target, summary)
        self.assertFalse(os.path.exists(os.path.join(self.out, "state")), "the state directory is left behind")

    def broken_copy(self, name):
        d = os.path.join(self.work, name)
        shutil.copytree(self.out, d)
        return d

    def test_the_checker_rejects_an_empty_cell(self):
        d = self.broken_copy("empty-cell")
        path = os.path.join(d, "samples.csv")
        with open(path) as f:
            rows = list(csv.reader(f))
        col = rows[0].index("pending_compaction_mb")
        rows[3][col] = ""
        with open(path, "w", newline="") as f:
            csv.writer(f).writerows(rows)
        rc, why = check(d)
        self.assertEqual(rc, 1)
        self.assertIn("row 3 has empty cells: pending_compaction_mb", why)

    def test_the_checker_rejects_a_broken_png_and_too_few_rows(self):
        d = self.broken_copy("bad-png")
        path = os.path.join(d, "soak.png")
        data = open(path, "rb").read()
        with open(path, "wb") as f:
            f.write(data[: len(data) // 2])
        rc, why = check(d, min_rows=DURATION_S // 10 + 1)
        self.assertEqual(rc, 1)
        self.assertIn("soak.png: truncated", why)
        self.assertIn(f"samples.csv: {DURATION_S // 10} rows, expected at least", why)

    def test_the_checker_rejects_a_producer_short_of_its_rate(self):
        d = self.broken_copy("slow-producer")
        path = os.path.join(d, "producer.csv")
        with open(path) as f:
            rows = list(csv.DictReader(f))
        for r in rows:
            r["sent"] = str(int(r["sent"]) * 3 // 4)
        with open(path, "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=list(rows[0]))
            w.writeheader()
            w.writerows(rows)
        rc, why = check(d)
        self.assertEqual(rc, 1)
        self.assertIn("below 80 %", why)


if __name__ == "__main__":
    unittest.main()
