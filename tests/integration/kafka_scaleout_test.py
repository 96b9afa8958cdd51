#!/usr/bin/python3
"""Scale-out over TCP: inputs with 3 partitions, two `alliance run` instances
in one consumer group splitting them, campaign/partner aggregation in the
second stage behind the repartition topic, and one instance stopped mid-run
(SIGKILL: no goodbye) so its partitions and state move to the other. The
final records must equal a single-process `alliance replay` of the same
events: every settlement record, every final metric window and "all" record,
every statement's totals, digest and commission, and the dead letters."""
import os
import signal
import subprocess
import time
import unittest

import kafka_e2e_test as h
from alliance_outputs import finals


class ScaleOut(h.KafkaHarness):
    PARTITIONS = 3

    def assert_same_finals(self, got, want):
        for name in want:
            missing = [k for k in want[name] if k not in got[name]]
            extra = [k for k in got[name] if k not in want[name]]
            self.assertEqual((missing[:5], extra[:5]), ([], []), f"{name}: {len(missing)} missing, {len(extra)} extra")
            for k, v in want[name].items():
                self.assertEqual(got[name].get(k), v, f"{name} {k}")
        self.assertGreater(len(want["settlements"]), 300)
        self.assertGreater(len(want["metrics"]), 300)

    def test_two_instances_one_killed_equal_one_replay(self):
        events, lines = self.generate(16000, 5, gap_ms=2000)  # ~9 h of event time: many windows close
        half = len(lines) // 2
        self.produce(lines[:half])
        # kcat produces the second half topic by topic (all clicks, then the
        # orders) while B is live-tailing: --idle-wait lets the event-time
        # merge wait for the lagging input (Kafka Streams' max.task.idle.ms)
        # instead of counting its events late.
        common = ["--topology", h.TOPOLOGY, "--bootstrap", self.bootstrap, "--group", "scale", "--metrics", "",
                  "--session-timeout", "6000", "--stop-when-idle", "6000", "--idle-wait", "3000"]
        a = subprocess.Popen([h.ALLIANCE, "run", *common, "--state", os.path.join(self.work, "state-a")],
                             stderr=subprocess.PIPE, text=True)
        b = subprocess.Popen([h.ALLIANCE, "run", *common, "--state", os.path.join(self.work, "state-b")],
                             stderr=subprocess.PIPE, text=True)
        # Both must own partitions before one dies: wait for the split.
        deadline = time.time() + 60
        a_dirs = b_dirs = []
        while time.time() < deadline:
            a_dirs = os.listdir(os.path.join(self.work, "state-a")) if os.path.isdir(os.path.join(self.work, "state-a")) else []
            b_dirs = os.listdir(os.path.join(self.work, "state-b")) if os.path.isdir(os.path.join(self.work, "state-b")) else []
            if a_dirs and b_dirs and len(set(a_dirs) | set(b_dirs)) == 3:
                break
            time.sleep(0.2)
        self.assertTrue(a_dirs and b_dirs, f"the group never split the partitions: {a_dirs} / {b_dirs}")
        time.sleep(2)
        a.send_signal(signal.SIGKILL)
        a.wait()
        self.produce(lines[half:])
        _, err = b.communicate(timeout=240)
        self.assertEqual(b.returncode, 0, err)
        self.assertIn("restored", err)  # B rebuilt A's partitions from the changelog
        self.assertIn("3 partitions: two stages", err)
        raw = self.consume_all("reader-scale")
        if os.environ.get("SCALE_DUMP"):
            import json
            json.dump({"got": raw, "events": events, "work": self.work, "err": err}, open(os.environ["SCALE_DUMP"], "w"))
        got = finals(raw)
        want = finals(self.replay_records(events))
        self.assert_same_finals(got, want)

    def test_preloaded_backlog_gives_the_records_of_one_replay(self):
        """The whole input is on the broker before the run starts (a backlog),
        written topic by topic, and read by one instance with the default
        --idle-wait: the event-time merge must wait for inputs the broker still
        holds instead of running ahead (KIP-695), so every settlement record,
        final window and statement equals one replay of the same events."""
        events, lines = self.generate(40000, 9, gap_ms=20)
        self.produce(lines)
        run = subprocess.run([h.ALLIANCE, "run", "--topology", h.TOPOLOGY, "--bootstrap", self.bootstrap, "--group", "backlog",
                              "--state", os.path.join(self.work, "state"), "--metrics", "", "--session-timeout", "6000",
                              "--stop-when-idle", "2000"], capture_output=True, text=True, timeout=300)
        self.assertEqual(run.returncode, 0, run.stderr)
        self.assert_same_finals(finals(self.consume_all("reader-backlog")), finals(self.replay_records(events)))

    def test_roundrobin_is_refused_for_several_partitions(self):
        p = subprocess.run([h.ALLIANCE, "run", "--topology", h.TOPOLOGY, "--bootstrap", self.bootstrap, "--metrics", "",
                            "--assignor", "roundrobin", "--state", os.path.join(self.work, "state-rr")],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 2)
        self.assertIn("use --assignor range", p.stderr)


if __name__ == "__main__":
    import unittest
    unittest.main(verbosity=2)
