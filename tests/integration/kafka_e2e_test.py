#!/usr/bin/python3
"""The Kafka runtime end to end over TCP with real external clients: the
embedded broker runs as its own process (`alliance broker`), kcat produces
the input, `alliance run` processes it as a bounded run, and Debian's python3
confluent_kafka reads every output topic. The outputs (latest record per id)
must equal `alliance replay` on the same events."""
import json
import os
import signal
import subprocess
import tempfile
import time
import unittest
from collections import Counter

from confluent_kafka import Consumer

ALLIANCE = os.environ.get("ALLIANCE_BIN", "build/src/app/alliance")
SRC = os.environ.get("ALLIANCE_SRC", ".")
TOPOLOGY = os.path.join(SRC, "topologies/spring-alliance.yaml")
INPUTS = {"click": "alliance.clicks", "referral": "alliance.referrals", "order": "alliance.orders"}
OUTPUTS = {"settlements": "alliance.settlements", "campaign-metrics": "alliance.campaign-metrics",
           "settlement-statements": "alliance.settlement-statements", "dlq": "alliance.dlq"}


def identity(name, r):
    if name == "settlements":
        return r["record_id"]
    if name == "campaign-metrics":
        return (r["dim"], r["key"], r["window_start"], r["window_size"], r["currency"], r["final"])
    if name == "settlement-statements":
        return (r["partner_id"], r["period"], r["currency"], r["revision"], r["final"])
    return None


def latest(records_by_output):
    out = {}
    for name, recs in records_by_output.items():
        if name == "dlq":
            out[name] = Counter(r["reason"] for r in recs)
            continue
        d = {}
        for r in recs:
            r = dict(r)
            r.pop("emitted_at")
            d[identity(name, r)] = r
        out[name] = d
    return out


class KafkaEndToEnd(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.work = tempfile.mkdtemp(prefix="alliance-kafka-")
        boot_file = os.path.join(cls.work, "bootstrap")
        cls.broker = subprocess.Popen([ALLIANCE, "broker", "--topology", TOPOLOGY, "--partitions", "1",
                                       "--bootstrap-file", boot_file], stdout=subprocess.DEVNULL)
        for _ in range(200):
            if os.path.exists(boot_file):
                break
            time.sleep(0.05)
        with open(boot_file) as f:
            cls.bootstrap = f.read().strip()

    @classmethod
    def tearDownClass(cls):
        cls.broker.send_signal(signal.SIGTERM)
        cls.broker.wait(timeout=10)

    def consume_all(self, group):
        c = Consumer({"bootstrap.servers": self.bootstrap, "group.id": group, "auto.offset.reset": "earliest",
                      "enable.auto.commit": False, "session.timeout.ms": 6000})
        c.subscribe(list(OUTPUTS.values()))
        by_topic = {v: k for k, v in OUTPUTS.items()}
        out = {k: [] for k in OUTPUTS}
        # The group join takes a few seconds on the mock: wait for the first
        # record (30 s at most), then read until 3 s of silence.
        deadline, idle_since, seen = time.time() + 30, None, 0
        while (idle_since is None and time.time() < deadline) or (idle_since and time.time() - idle_since < 3):
            m = c.poll(0.2)
            if m is None or m.error():
                continue
            idle_since, seen = time.time(), seen + 1
            out[by_topic[m.topic()]].append(json.loads(m.value()))
        c.close()
        return out

    def test_single_instance_equals_replay(self):
        events = os.path.join(self.work, "events.jsonl")
        with open(events, "wb") as f:
            subprocess.run([ALLIANCE, "generate", "--topology", TOPOLOGY, "--events", "20000", "--seed", "3"],
                           stdout=f, check=True)
        # kcat: one "key<TAB>value" line per message, per input topic.
        split = {k: [] for k in INPUTS}
        with open(events) as f:
            for line in f:
                line = line.rstrip("\n")
                try:
                    e = json.loads(line)
                    kind, key = e.get("type", "order"), e.get("user_id", "u")
                except ValueError:
                    kind, key = "order", "u-bad"  # malformed: still goes to the orders topic
                split[kind if kind in split else "order"].append(f"{key}\t{line}")
        for kind, lines in split.items():
            subprocess.run(["kcat", "-P", "-b", self.bootstrap, "-t", INPUTS[kind], "-K", "\t"],
                           input="\n".join(lines) + "\n", text=True, check=True)

        run = subprocess.run([ALLIANCE, "run", "--topology", TOPOLOGY, "--bootstrap", self.bootstrap,
                              "--group", "e2e", "--state", os.path.join(self.work, "state"), "--metrics", "",
                              "--stop-when-idle", "4000", "--session-timeout", "6000"],
                             capture_output=True, text=True, timeout=300)
        self.assertEqual(run.returncode, 0, run.stderr)

        ref = os.path.join(self.work, "ref")
        subprocess.run([ALLIANCE, "replay", "--topology", TOPOLOGY, "--input", events, "--out", ref, "--quiet"],
                       check=True)
        want = {}
        for name in OUTPUTS:
            with open(os.path.join(ref, name + ".jsonl")) as f:
                want[name] = [json.loads(line) for line in f]
        got = latest(self.consume_all("reader-1"))
        want = latest(want)
        for name in OUTPUTS:
            self.assertEqual(len(got[name]), len(want[name]), name)
            self.assertEqual(got[name], want[name], name)
        self.assertGreater(len(want["settlements"]), 500)

    def test_bad_configuration_is_explained(self):
        bad = os.path.join(self.work, "bad.yaml")
        with open(TOPOLOGY) as f:
            text = f.read().replace("orders: alliance.orders", "orders: alliance.nope")
        with open(bad, "w") as f:
            f.write(text)
        p = subprocess.run([ALLIANCE, "run", "--topology", bad, "--bootstrap", self.bootstrap, "--metrics", "",
                            "--state", os.path.join(self.work, "state-bad")], capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 2)
        self.assertIn("alliance.nope does not exist", p.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
