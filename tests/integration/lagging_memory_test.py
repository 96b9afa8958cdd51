#!/usr/bin/python3
"""Issue 20 item 4: a run that cannot keep up with its input keeps its
write-back cache within its budget and its RSS within a stated bound.

`alliance broker` (own process) holds a backlog written topic by topic, so
the consumer finds far more clicks than orders ahead of it: the event-time
merge must wait for the orders while clicks keep arriving, which is what a
live run that lags looks like. `alliance run --state` consumes it with a
small `state.cache_mb`; /metrics is sampled every 100 ms and the process's
RSS read from /proc. Before the fix the merge's queues and the cache
entries prefetched for them grew with the lag (the cache gauge reached
several times its budget)."""
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
import unittest
import urllib.request
from testprocs import free_port  # noqa: E402

ALLIANCE = os.environ.get("ALLIANCE_BIN", "build/src/app/alliance")
SRC = os.environ.get("ALLIANCE_SRC", ".")
EVENTS = int(os.environ.get("LAG_EVENTS", "100000"))
PARTITIONS = 8  # the mock broker keeps ~5 MB per partition (TOOLCHAIN.md)
CACHE_MB = 4
# The stated bound (docs/OPERATIONS.md "Memory"): cache budget + librdkafka's
# prefetch queue (64 MiB) + the merge's queues (20 000 events per stream) +
# RocksDB's block cache and write buffers of this topology + the process.
RSS_BOUND_MB = 400


def scrape(port):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as r:
        return r.read().decode()


def rss_mb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


class LaggingRunMemory(unittest.TestCase):
    def setUp(self):
        self.work = tempfile.mkdtemp(prefix="alliance-lag-")
        self.procs = []

    def tearDown(self):
        for p in self.procs:
            if p.poll() is None:
                p.kill()
                p.wait()
        shutil.rmtree(self.work, ignore_errors=True)

    def test_cache_and_rss_stay_bounded_while_the_run_lags(self):
        with open(os.path.join(SRC, "topologies/spring-alliance.yaml")) as f:
            yaml = f.read()
        yaml = re.sub(r"(?m)^state:.*\n", "", yaml)
        yaml += f"\nstate: {{cache_mb: {CACHE_MB}, block_cache_mb: 16, write_buffer_mb: 16}}\n"
        topo = os.path.join(self.work, "topology.yaml")
        with open(topo, "w") as f:
            f.write(yaml)
        boot = os.path.join(self.work, "boot")
        broker = subprocess.Popen([ALLIANCE, "broker", "--topology", topo, "--partitions", str(PARTITIONS), "--bootstrap-file", boot],
                                  stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.procs.append(broker)
        deadline = time.time() + 30
        while not (os.path.exists(boot) and os.path.getsize(boot) > 0):
            self.assertLess(time.time(), deadline, "broker did not start")
            time.sleep(0.1)
        bootstrap = open(boot).read().strip()
        gen = subprocess.run([ALLIANCE, "generate", "--topology", topo, "--events", str(EVENTS), "--seed", "7",
                              "--users", "30000", "--gap-ms", "4"], capture_output=True, text=True, check=True)
        from confluent_kafka import Producer
        names = {"click": "alliance.clicks", "referral": "alliance.referrals", "order": "alliance.orders"}
        by_topic = {t: [] for t in names.values()}
        for line in gen.stdout.splitlines():
            try:  # the generator writes some bad lines on purpose (they go to the DLQ)
                e = json.loads(line)
                topic, key = names.get(e.get("type"), "alliance.orders"), str(e.get("user_id", "u"))
            except ValueError:
                topic, key = "alliance.orders", "u-bad"
            by_topic[topic].append((key, line))
        producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 20, "batch.num.messages": 10000})
        # Topic by topic: every click is on the broker before the first order.
        for topic in ("alliance.clicks", "alliance.referrals", "alliance.orders"):
            for key, line in by_topic[topic]:
                while True:
                    try:
                        producer.produce(topic, key=key.encode(), value=line.encode())
                        break
                    except BufferError:
                        producer.poll(0.05)
            producer.flush(60)

        port = free_port()
        run = subprocess.Popen([ALLIANCE, "run", "--topology", topo, "--bootstrap", bootstrap, "--group", "lag",
                                "--state", os.path.join(self.work, "state"), "--metrics", f"127.0.0.1:{port}",
                                "--stop-when-idle", "3000"],
                               stdout=subprocess.DEVNULL, stderr=open(os.path.join(self.work, "run.err"), "w"))
        self.procs.append(run)
        max_cache, max_rss, samples = 0.0, 0.0, 0
        budget = CACHE_MB << 20
        deadline = time.time() + 300
        while run.poll() is None:
            self.assertLess(time.time(), deadline, "run did not finish the backlog in 300 s")
            try:
                text = scrape(port)
            except OSError:
                time.sleep(0.1)
                continue
            cache = sum(float(v) for v in re.findall(r"(?m)^alliance_state_cache_bytes(?:\{[^}]*\})? (\S+)$", text))
            max_cache = max(max_cache, cache)
            max_rss = max(max_rss, rss_mb(run.pid))
            samples += 1
            time.sleep(0.1)
        err = open(os.path.join(self.work, "run.err")).read()
        self.assertEqual(run.returncode, 0, err[-2000:])
        consumed = re.search(r"consumed (\d+)", err)
        self.assertIsNotNone(consumed, err[-2000:])
        # every input message (and the repartition topic's: two stages)
        self.assertGreaterEqual(int(consumed.group(1)), EVENTS, err[-2000:])
        self.assertGreater(samples, 10, "too few /metrics samples to say anything")
        print(f"lagging run: {samples} samples, cache max {max_cache / 2**20:.1f} MiB of {CACHE_MB}, "
              f"RSS max {max_rss:.0f} MB")
        self.assertGreater(max_cache, 0, "the cache gauge never moved: the test measured nothing")
        self.assertLessEqual(max_cache, budget, f"cache {max_cache / 2**20:.1f} MiB over its {CACHE_MB} MiB budget")
        self.assertLessEqual(max_rss, RSS_BOUND_MB, f"RSS {max_rss:.0f} MB over the stated {RSS_BOUND_MB} MB")


if __name__ == "__main__":
    unittest.main(verbosity=2)
