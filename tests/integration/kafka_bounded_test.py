#!/usr/bin/python3
"""Runs after a bounded run (`alliance run --stop-when-idle`), through a
broker process: the state a bounded run leaves in `<name>.changelog` is
where its events left it, never "ended", so a later run — unbounded or
bounded, in a new group with an empty --state or in the same one — goes on
from it as if the bounded run had just stopped (docs/OPERATIONS.md "Bounded
runs"). With several partitions (split mode) the end of a bounded run is
committed, and an unbounded run that restores such a state refuses to start
(exit 2, one line) instead of stopping at once with "stopped cleanly".

What is compared, and why: a bounded run publishes the end-of-input flush
(every window and statement period closed at +infinity) without storing it;
a later run over more input publishes the real records of those windows and
periods again, later in the same partitions and under the same keys, so a
consumer keeping the latest record per identity (as at-least-once outputs
are read anyway) ends with the records of one bounded run over all the
input. The checks are therefore on `finals()` (settlement records, final
metric windows, each statement's latest numbers, balances, dead letters by
reason) against one replay of all the input; the flush records of the first
run are only ever superseded, never asserted away."""
import json
import os
import signal
import subprocess
import time
import unittest
import urllib.request
from confluent_kafka import Consumer, TopicPartition, OFFSET_BEGINNING

import kafka_e2e_test as h
from alliance_outputs import finals, latest
from testprocs import free_port, wait_for

IDLE_MS = "1500"


class Runs(h.KafkaHarness):
    def args(self, group, state, *extra):
        return [h.ALLIANCE, "run", "--topology", h.TOPOLOGY, "--bootstrap", self.bootstrap, "--group", group,
                "--state", os.path.join(self.work, state), "--session-timeout", "6000", *extra]

    def bounded(self, group, state):
        run = subprocess.run(self.args(group, state, "--metrics", "", "--stop-when-idle", IDLE_MS),
                             capture_output=True, text=True, timeout=120)
        self.assertEqual(run.returncode, 0, run.stderr)
        return run.stderr

    def read_outputs(self):
        """Every output record, from offset 0 to the high watermark of each
        partition (the runs have ended: nothing more is coming)."""
        c = Consumer({"bootstrap.servers": self.bootstrap, "group.id": f"reader-{time.time_ns()}",
                      "enable.auto.commit": False, "log_level": 3})
        by_topic = {v: k for k, v in h.OUTPUTS.items()}
        md = c.list_topics(timeout=30)
        want, assign = {}, []
        for topic in by_topic:
            for p in md.topics[topic].partitions:
                lo, hi = c.get_watermark_offsets(TopicPartition(topic, p), timeout=30)
                if hi > lo:
                    want[(topic, p)] = hi
                    assign.append(TopicPartition(topic, p, OFFSET_BEGINNING))
        out = {k: [] for k in h.OUTPUTS}
        if assign:
            c.assign(assign)
        deadline = time.time() + 60
        while want and time.time() < deadline:
            for m in c.consume(num_messages=10000, timeout=0.5):
                if m.error():
                    continue
                out[by_topic[m.topic()]].append(json.loads(m.value()))
                if m.offset() + 1 >= want.get((m.topic(), m.partition()), float("inf")):
                    del want[(m.topic(), m.partition())]
        c.close()
        self.assertEqual(want, {}, "output partitions not read to their end")
        return out

    def assert_finals(self, got_records, events):
        got, want = finals(got_records), finals(self.replay_records(events))
        for name in want:
            missing = [k for k in want[name] if k not in got[name]]
            extra = [k for k in got[name] if k not in want[name]]
            self.assertEqual((missing[:3], extra[:3]), ([], []), f"{name}: {len(missing)} missing, {len(extra)} extra")
            for k, v in want[name].items():
                self.assertEqual(got[name][k], v, f"{name} {k}")
        self.assertGreater(len(want["settlements"]), 100)
        self.assertGreater(len(want["metrics"]), 50)


class AfterABoundedRun(Runs):
    PARTITIONS = 1

    def events_file(self, lines, name):
        path = os.path.join(self.work, name)
        with open(path, "w") as f:
            f.write("\n".join(lines) + "\n")
        return path

    def unbounded_until_caught_up(self, group, state):
        """An unbounded run, stopped with SIGTERM once it has processed all
        the input there is; returns its stderr."""
        port = free_port()
        run = subprocess.Popen(self.args(group, state, "--metrics", f"127.0.0.1:{port}"),
                               stderr=subprocess.PIPE, text=True)
        try:
            def caught_up():
                if run.poll() is not None:
                    return "exited"
                text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2).read().decode()
                values = lambda prefix: [float(l.split()[-1]) for l in text.splitlines() if l.startswith(prefix)]
                lag, seen = values("alliance_consumer_lag_records{"), values("alliance_events_total{")
                return lag and sum(seen) > 0 and sum(lag) == 0 and "caught up"

            state = wait_for(caught_up, 60, every=0.3)
            if state != "caught up":
                _, err = run.communicate(timeout=30)
                self.fail(f"the unbounded run did not process the new input ({state}, exit {run.returncode}):\n"
                          f"{err[-3000:]}")
            time.sleep(0.5)  # what it read is processed (SIGTERM commits and publishes it)
            self.assertIsNone(run.poll(), "the unbounded run stopped by itself")
            run.send_signal(signal.SIGTERM)
            _, err = run.communicate(timeout=60)
        finally:
            if run.poll() is None:
                run.kill()
                run.wait()
        self.assertEqual(run.returncode, 0, err)
        self.assertIn("stopped cleanly", err)
        return err

    def test_bounded_then_bounded_then_unbounded_each_goes_on_from_the_last(self):
        """(b) a bounded run after a bounded run (another group, the same
        --state); (a) then an unbounded run in a new group with an empty
        --state (restored from the changelog), stopped with SIGTERM, and a
        bounded run of that group and --state to end it. Each step is a
        subtest, so on an alliance whose bounded runs commit their end every
        step reports its failure."""
        _, lines = self.generate(6000, 17, gap_ms=5000)  # ~8 h of event time: windows and periods close
        a, b = len(lines) // 3, 2 * len(lines) // 3
        self.produce(lines[:a])
        self.bounded("batch", "state-1")
        self.produce(lines[a:b])
        with self.subTest("(b) a bounded run after a bounded run"):
            err = self.bounded("batch-2", "state-1")
            self.assertIn("consumed", err, "it stopped at once")  # it read the new input
            self.assert_finals(self.read_outputs(), self.events_file(lines[:b], "a+b.jsonl"))
        self.produce(lines[b:])
        everything = self.events_file(lines, "a+b+c.jsonl")
        with self.subTest("(a) an unbounded run in a new group after a bounded run"):
            err = self.unbounded_until_caught_up("live", "state-2")
            self.assertIn("restored", err)  # from the changelog the bounded runs wrote
            # Every settlement record of all the input, as one replay makes
            # them: the new orders attributed with the earlier touchpoints.
            got = latest(self.read_outputs())["settlements"]
            want = latest(self.replay_records(everything))["settlements"]
            self.assertEqual(sorted(set(want) - set(got))[:5], [])
            self.assertEqual(got, want)
        with self.subTest("a bounded run ends it: the records of one bounded run over all the input"):
            self.bounded("live", "state-2")
            self.assert_finals(self.read_outputs(), everything)


class AfterABoundedSplitRun(Runs):
    PARTITIONS = 3

    def test_an_unbounded_run_refuses_a_state_ended_by_a_bounded_run(self):
        _, lines = self.generate(600, 23)
        self.produce(lines)
        self.bounded("first", "state-1")
        run = subprocess.run(self.args("second", "state-2", "--metrics", ""), capture_output=True, text=True,
                             timeout=120)
        self.assertEqual(run.returncode, 2, run.stderr)
        self.assertNotIn("stopped cleanly", run.stderr)
        lines = [l for l in run.stderr.splitlines() if "ended by a bounded run" in l]
        self.assertEqual(len(lines), 1, run.stderr)
        self.assertRegex(lines[0], r"partition [0-2]\b.*--stop-when-idle.*(new topology name|`name`)")


if __name__ == "__main__":
    unittest.main(verbosity=2)
