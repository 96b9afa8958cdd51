#!/usr/bin/python3
"""Observability: alert rules and their unit tests (promtool), the deploy
config, `promtool check metrics` on a live scrape of `alliance demo`, and
Debian's real Prometheus server scraping the demo on loopback with the
alert rules loaded (checked through its HTTP API)."""
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
import unittest
import urllib.error
import urllib.request

from testprocs import free_port, wait_for  # noqa: E402

ALLIANCE = os.environ.get("ALLIANCE_BIN", "build/src/app/alliance")
SRC = os.environ.get("ALLIANCE_SRC", ".")
PROM_DIR = os.path.join(SRC, "deploy/prometheus")


def get(url, timeout=2):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.read().decode()


class PromtoolChecks(unittest.TestCase):
    def test_rules_and_their_unit_tests(self):
        subprocess.run(["promtool", "check", "rules", "alerts.yml"], cwd=PROM_DIR, check=True, capture_output=True)
        r = subprocess.run(["promtool", "test", "rules", "alerts_test.yml"], cwd=PROM_DIR, capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("SUCCESS", r.stdout)

    def test_deploy_config(self):
        # promtool checks that the token and CA files exist: the deploy file
        # names where Prometheus mounts them, here they are made up.
        work = tempfile.mkdtemp(prefix="alliance-promtool-")
        try:
            with open(os.path.join(PROM_DIR, "prometheus.yml")) as f:
                text = f.read()
            self.assertIn("/etc/prometheus/secrets/", text)
            subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout",
                            os.path.join(work, "tls.key"), "-out", os.path.join(work, "tls.crt"), "-days", "1",
                            "-subj", "/CN=alliance"], check=True, capture_output=True)
            with open(os.path.join(work, "http-token"), "w") as f:
                f.write("0123456789abcdef0123\n")
            with open(os.path.join(work, "prometheus.yml"), "w") as f:
                f.write(text.replace("/etc/prometheus/secrets/", work + "/"))
            shutil.copy(os.path.join(PROM_DIR, "alerts.yml"), work)
            r = subprocess.run(["promtool", "check", "config", "prometheus.yml"], cwd=work, capture_output=True, text=True)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        finally:
            shutil.rmtree(work, ignore_errors=True)


class LiveScrape(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.work = tempfile.mkdtemp(prefix="alliance-obs-")
        cls.port = free_port()
        cls.demo = subprocess.Popen([ALLIANCE, "demo", "--topology", os.path.join(SRC, "topologies/spring-alliance.yaml"),
                                     "--duration", "90s", "--rate", "300", "--metrics", f"127.0.0.1:{cls.port}",
                                     "--state", os.path.join(cls.work, "state")],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        cls.metrics_url = f"http://127.0.0.1:{cls.port}/metrics"
        # Wait until outputs were acknowledged: the idempotent producer needs a moment to start.
        cls.scrape = wait_for(lambda: "alliance_records_produced_total{" in (t := get(cls.metrics_url))
                              and "alliance_consumer_lag_records{" in t and t, 60)

    @classmethod
    def tearDownClass(cls):
        cls.demo.send_signal(signal.SIGINT)
        try:
            cls.demo.wait(timeout=30)
        except subprocess.TimeoutExpired:
            cls.demo.kill()
        shutil.rmtree(cls.work, ignore_errors=True)

    def test_promtool_accepts_the_scrape(self):
        self.assertIsNotNone(self.scrape, "demo never served events on /metrics")
        r = subprocess.run(["promtool", "check", "metrics"], input=self.scrape, capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        for family in ("alliance_events_total", "alliance_dead_letters_total", "alliance_consumer_lag_records",
                       "alliance_batch_seconds_bucket", "alliance_commit_seconds_bucket", "alliance_outbox_depth",
                       "alliance_records_produced_total", "alliance_partner_settled_minor_total", "alliance_ready",
                       "alliance_records_consumed_total", "alliance_consumer_lag_seconds", "alliance_batch_events_bucket",
                       "alliance_state_cache_bytes", "alliance_changelog_bytes_total",
                       "alliance_rocksdb_expired_values_dropped", "alliance_partner_payable_minor"):
            self.assertIn(family, self.scrape)
        # Both cycle histograms are observed once a cycle committed (the
        # outbox-stuck alert reads alliance_commit_seconds_count).
        for histogram in ("alliance_batch_seconds_count", "alliance_commit_seconds_count"):
            counts = re.findall(r"^" + histogram + r"(?:\{[^}]*\})? (\S+)$", self.scrape, re.M)
            self.assertTrue(counts and float(counts[0]) > 0, histogram + " never observed")
        # Payable per partner: the topology's partners only (bounded labels).
        for line in self.scrape.splitlines():
            if line.startswith("alliance_partner_payable_minor{"):
                self.assertRegex(line, r'partner="p-(books|travel|bank)"')

    def test_every_grafana_panel_queries_a_family_the_processor_exports(self):
        self.assertIsNotNone(self.scrape)
        with open(os.path.join(SRC, "deploy/grafana/alliance-dashboard.json")) as f:
            dashboard = json.load(f)
        scraped = {line.split("{")[0].split(" ")[0] for line in self.scrape.splitlines() if line.startswith("alliance_")}
        # Some families appear only once a window closed (the scrape is taken
        # early): those must at least be in docs/OPERATIONS.md's family table.
        with open(os.path.join(SRC, "docs/OPERATIONS.md")) as f:
            documented = set(re.findall(r"^\| `(alliance_[a-z_]+)", f.read(), re.M))
        for panel in dashboard["panels"]:
            for target in panel.get("targets", []):
                for name in re.findall(r"alliance_[a-z_]+", target["expr"]):
                    base = re.sub(r"_(bucket|sum|count)$", "", name)
                    self.assertTrue(name in scraped or base in documented,
                                    f"panel {panel['title']!r} queries {name}: neither scraped nor in docs/OPERATIONS.md")
        self.assertIn("alliance_partner_payable_minor",
                      " ".join(t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])))
        self.assertNotIn('user_id', self.scrape)
        self.assertEqual(get(f"http://127.0.0.1:{self.port}/healthz"), "ok\n")
        self.assertEqual(get(f"http://127.0.0.1:{self.port}/readyz"), "ready\n")
        self.assertIn("alliance_ready 1", self.scrape)

    def test_real_prometheus_scrapes_it_and_loads_the_rules(self):
        self.assertIsNotNone(self.scrape)
        cfg = os.path.join(self.work, "prometheus.yml")
        with open(cfg, "w") as f:
            f.write("global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
                    f"rule_files: [{os.path.abspath(os.path.join(PROM_DIR, 'alerts.yml'))}]\n"
                    "scrape_configs:\n  - job_name: alliance\n"
                    f"    static_configs: [{{targets: ['127.0.0.1:{self.port}']}}]\n")
        web = free_port()
        prom = subprocess.Popen(["prometheus", f"--config.file={cfg}", f"--storage.tsdb.path={self.work}/tsdb",
                                 f"--web.listen-address=127.0.0.1:{web}"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            api = f"http://127.0.0.1:{web}/api/v1"

            def target_up():
                t = json.loads(get(api + "/targets"))["data"]["activeTargets"]
                return t and t[0]["health"] == "up"
            self.assertTrue(wait_for(target_up, 60), "target never up")
            rules = json.loads(get(api + "/rules"))["data"]["groups"]
            names = {r["name"] for g in rules for r in g["rules"]}
            self.assertEqual(len(names), 9)
            self.assertIn("AllianceCommitStalled", names)
            self.assertIn("AllianceOutputUndeliverable", names)
            q = wait_for(lambda: json.loads(get(api + "/query?query=sum(alliance_events_total)"))["data"]["result"], 30)
            self.assertTrue(q and float(q[0]["value"][1]) > 0)
        finally:
            prom.terminate()
            prom.wait(timeout=30)


def status(url):
    """(HTTP status, body) without raising on 503."""
    try:
        with urllib.request.urlopen(url, timeout=2) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


class Readiness(unittest.TestCase):
    """/readyz answers 503 with the reason until partitions are assigned and
    restored, 200 while running, 503 for as long as the broker is unreachable, and
    200 again once it is back; /healthz stays 200 throughout."""

    def test_readyz_follows_assignment_and_the_broker(self):
        work = tempfile.mkdtemp(prefix="alliance-ready-")
        boot = os.path.join(work, "bootstrap")
        log = os.path.join(work, "run.log")
        topology = os.path.join(SRC, "topologies/spring-alliance.yaml")
        broker = subprocess.Popen([ALLIANCE, "broker", "--topology", topology, "--bootstrap-file", boot],
                                  stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
        port = free_port()
        run = None
        logf = open(log, "w")
        try:
            self.assertTrue(wait_for(lambda: os.path.exists(boot) and open(boot).read().strip(), 20))
            run = subprocess.Popen([ALLIANCE, "run", "--topology", topology, "--bootstrap", open(boot).read().strip(),
                                    "--state", os.path.join(work, "state"), "--metrics", f"127.0.0.1:{port}",
                                    "--session-timeout", "6000"], stderr=logf)

            def said():
                """What the run said: for a failure's message (a timeout of
                every request looks like "not 503" to wait_for)."""
                with open(log) as f:
                    return f"alliance run exit code {run.poll()}, its log ends:\n" + "".join(f.readlines()[-15:])

            base = f"http://127.0.0.1:{port}"
            first = wait_for(lambda: status(base + "/readyz"), 20)
            self.assertIsNotNone(first, "the endpoint never answered; " + said())
            if first[0] == 503:  # the group join takes a few seconds on the mock
                self.assertIn("no partitions assigned", first[1])
            self.assertTrue(wait_for(lambda: status(base + "/readyz")[0] == 200, 60), "never ready; " + said())
            broker.stdin.write("down\n")
            broker.stdin.flush()
            down = wait_for(lambda: (s := status(base + "/readyz"))[0] == 503 and s, 60)
            self.assertTrue(down, "no 503 with the broker down; " + said())
            self.assertIn("broker trouble", down[1])
            # Still not ready after librdkafka's one error event has aged out
            # (the event window is 10 s; identical errors are suppressed for
            # 30 s): the brokers' state comes from the statistics.
            time.sleep(12)
            still = status(base + "/readyz")
            self.assertEqual(still[0], 503, f"ready again with the broker still down: {still}; " + said())
            self.assertIn("broker trouble", still[1])
            self.assertEqual(status(base + "/healthz"), (200, "ok\n"))
            broker.stdin.write("up\n")
            broker.stdin.flush()
            self.assertTrue(wait_for(lambda: status(base + "/readyz")[0] == 200, 90), "not ready again after the broker came back; " + said())
        finally:
            if run:
                run.send_signal(signal.SIGINT)
                try:
                    run.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    run.kill()
            broker.send_signal(signal.SIGTERM)
            broker.wait(timeout=10)
            logf.close()
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    unittest.main(verbosity=2)
