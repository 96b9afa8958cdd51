#!/usr/bin/python3
"""Exactly-once state across kill -9: `alliance replay --state DIR` is killed
(SIGKILL) at 10 seeded random points and restarted with the same arguments;
its final outputs (latest record per id) must equal an uninterrupted run, and
every output line must be complete JSON."""
import json
import os
import random
import signal
import subprocess
import tempfile
import time
import unittest

from alliance_outputs import latest as latest_records

ALLIANCE = os.environ.get("ALLIANCE_BIN", "build/src/app/alliance")
SRC = os.environ.get("ALLIANCE_SRC", ".")
TOPOLOGY = os.path.join(SRC, "topologies/spring-alliance.yaml")
KILLS = int(os.environ.get("ALLIANCE_KILLS", "10"))


def latest(out):
    records = {}
    for name in ("settlements", "campaign-metrics", "settlement-statements", "partner-balances", "partner-risk", "dlq"):
        with open(os.path.join(out, name + ".jsonl")) as f:
            records[name] = [json.loads(line) for line in f]  # a torn line would fail here
    return latest_records(records)


def hold_topology(work):
    """The sample topology with risk.action hold: held buckets and partner
    risk state must survive the kills too (issue 23)."""
    with open(TOPOLOGY) as f:
        text = f.read()
    assert "risk: {action: flag," in text
    path = os.path.join(work, "hold.yaml")
    with open(path, "w") as f:
        f.write(text.replace("risk: {action: flag,", "risk: {action: hold,"))
    return path


class KillResume(unittest.TestCase):
    def test_kill_nine_at_random_points(self):
        work = tempfile.mkdtemp(prefix="alliance-kill-")
        events = os.path.join(work, "events.jsonl")
        TOPOLOGY = hold_topology(work)
        with open(events, "wb") as f:
            # With fraud (a click injector and a click farm): flags and holds.
            subprocess.run([ALLIANCE, "generate", "--topology", TOPOLOGY, "--events", "120000", "--seed", "11", "--fraud"],
                           stdout=f, check=True)
        ref = os.path.join(work, "ref")
        # The same emit cycle as the killed run: running records are a function
        # of the input and the cycle (SPEC §5.2).
        subprocess.run([ALLIANCE, "replay", "--topology", TOPOLOGY, "--input", events, "--out", ref, "--quiet",
                        "--batch", "500"], check=True)

        out, state = os.path.join(work, "out"), os.path.join(work, "state")
        args = [ALLIANCE, "replay", "--topology", TOPOLOGY, "--input", events, "--out", out, "--state", state,
                "--quiet", "--batch", "500"]
        rng = random.Random(301)
        kills = 0
        attempts = 0
        while kills < KILLS and attempts < 4 * KILLS:
            attempts += 1
            p = subprocess.Popen(args)
            time.sleep(rng.uniform(0.05, 0.6))
            if p.poll() is None:
                p.send_signal(signal.SIGKILL)
                p.wait()
                kills += 1
            else:
                self.assertEqual(p.returncode, 0)
                break  # finished before the kill: start over from an empty state
        self.assertEqual(kills, KILLS, "the run finished before all kills landed: make the input larger")
        subprocess.run(args, check=True)

        got, want = latest(out), latest(ref)
        for name in want:
            self.assertEqual(len(got[name]), len(want[name]), name)
            self.assertEqual(got[name], want[name], name)
        self.assertGreater(len(want["settlements"]), 1000)
        self.assertTrue(any(r["flags"] and r["held"] for r in want["partner-risk"].values()), "a held flagged period")
        self.assertTrue(any(r["held_minor"] > 0 for r in want["partner-balances"].values()), "held money")


class DiskFull(unittest.TestCase):
    """A state directory on a 4 MiB tmpfs fills up: the run stops with a clear
    error and exit 2, never a crash; the state it leaves is a whole batch, so
    a resume from a copy on a bigger disk ends with the same outputs."""

    def test_full_disk_is_an_error_and_the_state_stays_whole(self):
        work = tempfile.mkdtemp(prefix="alliance-full-")
        tiny = os.path.join(work, "tiny")
        os.makedirs(tiny)
        if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", tiny], capture_output=True).returncode:
            self.skipTest("cannot mount a tmpfs here (needs root)")
        try:
            events = os.path.join(work, "events.jsonl")
            with open(events, "wb") as f:
                subprocess.run([ALLIANCE, "generate", "--topology", TOPOLOGY, "--events", "80000", "--seed", "4"],
                               stdout=f, check=True)
            out = os.path.join(work, "out")
            args = [ALLIANCE, "replay", "--topology", TOPOLOGY, "--input", events, "--out", out, "--quiet", "--batch", "2000"]
            p = subprocess.run(args + ["--state", os.path.join(tiny, "state")], capture_output=True, text=True)
            self.assertEqual(p.returncode, 2, p.stderr)
            self.assertIn("No space left on device", p.stderr)
            self.assertIn("Free disk space and restart", p.stderr)
            moved = os.path.join(work, "state")
            subprocess.run(["cp", "-r", os.path.join(tiny, "state"), moved], check=True)
        finally:
            subprocess.run(["umount", tiny], check=True)
        subprocess.run(args + ["--state", moved], check=True)
        ref = os.path.join(work, "ref")
        subprocess.run([ALLIANCE, "replay", "--topology", TOPOLOGY, "--input", events, "--out", ref, "--quiet",
                        "--batch", "2000"], check=True)
        got, want = latest(out), latest(ref)
        for name in want:
            self.assertEqual(got[name], want[name], name)


if __name__ == "__main__":
    unittest.main(verbosity=2)
