#!/usr/bin/python3
"""Secure connections (issue 24, SPEC §9), through the real binary, a real
broker process (`alliance broker`, librdkafka's mock cluster) over TCP and
real HTTP requests with curl.

Kafka client properties:
- `-X` / `--kafka-config` reach every client a command makes: with
  `client.id` and `debug=conf`, each client's configuration dump
  (librdkafka's own) shows the id — the run's consumer, result producer,
  changelog producer and changelog restore reader, the dashboard's consumer,
  the payouts reader.
- An unknown property and an invalid value stop `run`, `dashboard` and
  `payouts` with exit 2 and one line naming the property.
- A SASL configuration against the mock (which has no SASL) fails: `run`
  and `payouts` exit 2 naming the authentication failure, the dashboard
  shows it; the password (from `${ENV}`) and the user name appear in no
  output, even with `debug=all`, nor in `--help`.

HTTP servers: with `--http-token-file`, 401 without the token (or with a
wrong one), 200 with it, `/healthz` open; with `--tls-cert/--tls-key`,
HTTPS that curl verifies against the self-signed certificate (`--cacert`)
and plain HTTP refused — for `dashboard`, `run`'s `/metrics` and `demo`'s
both servers.

Not tested here: TLS or SASL to a real broker. The mock speaks neither, and
a TLS-terminating proxy (stunnel) in front of it does not suffice: the mock
advertises its own plaintext listeners in Metadata and FindCoordinator
responses, so the client's connections to the partition leaders bypass the
proxy (docs/OPERATIONS.md "Connecting to a secured cluster")."""
import json
import os
import re
import shutil
import subprocess
import tempfile
import unittest
from testprocs import free_port, wait_for, stop  # noqa: E402

ALLIANCE = os.environ.get("ALLIANCE_BIN", "build/src/app/alliance")
SRC = os.environ.get("ALLIANCE_SRC", ".")
TOPOLOGY = os.path.join(SRC, "topologies/spring-alliance.yaml")
PASSWORD = "pw-Zq81-never-printed"
USERNAME = "user-Kx42-never-printed"


def conf_dumps(text):
    """librdkafka's `Client configuration:` dumps (debug=conf) in `text`, one dict per client."""
    dumps = []
    for line in text.splitlines():
        if "CONF" not in line:
            continue
        if line.endswith("Client configuration:"):
            dumps.append({})
        elif dumps and (m := re.search(r"\]:   (\S+) = (.*)$", line)):
            dumps[-1][m.group(1)] = m.group(2)
    return dumps


def curl(url, *args):
    """(HTTP status, body) of GET url; status 0 when no HTTP answer came."""
    p = subprocess.run(["curl", "-s", "-m", "10", "-w", "\n%{http_code}", *args, url], capture_output=True, text=True)
    body, _, code = p.stdout.rpartition("\n")
    return int(code or 0), body.strip()


class SecureConnections(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.work = tempfile.mkdtemp(prefix="alliance-secure-")
        boot_file = os.path.join(cls.work, "boot")
        cls.broker = subprocess.Popen([ALLIANCE, "broker", "--topology", TOPOLOGY, "--bootstrap-file", boot_file],
                                      stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        cls.boot = wait_for(lambda: open(boot_file).read().strip(), 20)
        assert cls.boot, "the broker never wrote its address"
        # A self-signed certificate for 127.0.0.1 and a token.
        cls.cert, cls.key = os.path.join(cls.work, "cert.pem"), os.path.join(cls.work, "key.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", cls.key, "-out",
                        cls.cert, "-days", "2", "-subj", "/CN=127.0.0.1", "-addext",
                        "subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:alliance"], check=True, capture_output=True)
        cls.token = "t0k3n-" + os.urandom(12).hex()
        cls.token_file = os.path.join(cls.work, "token")
        with open(cls.token_file, "w") as f:
            f.write(cls.token + "\n")
        cls.env = dict(os.environ, ALLIANCE_TEST_KAFKA_PASSWORD=PASSWORD)

    @classmethod
    def tearDownClass(cls):
        stop(cls.broker)
        cls.broker.stdin.close()
        shutil.rmtree(cls.work, ignore_errors=True)

    def alliance(self, *args, timeout=60):
        return subprocess.run([ALLIANCE, *args], capture_output=True, text=True, timeout=timeout, env=self.env)

    # --- Kafka client properties ------------------------------------------

    def test_properties_reach_every_client_of_run(self):
        props = os.path.join(self.work, "client.properties")
        with open(props, "w") as f:
            f.write("# as Kafka's client.properties\nclient.id = from-the-file\ndebug=conf\n")
        p = self.alliance("run", "--topology", TOPOLOGY, "--bootstrap", self.boot, "--group", "secure-run",
                          "--state", os.path.join(self.work, "state-run"), "--metrics", "", "--session-timeout", "6000",
                          "--stop-when-idle", "1500", "--kafka-config", props, "-X", "client.id=probe-run")
        self.assertEqual(p.returncode, 0, p.stderr[-3000:])
        dumps = [d for d in conf_dumps(p.stderr) if "metadata.broker.list" in d]  # the clients that connect
        ids = sorted({d.get("client.id") for d in dumps})
        self.assertEqual(ids, ["probe-run"], "-X wins over the file, on every client")
        kinds = sorted("source" if d.get("group.id") == "secure-run" else
                       "restore" if d.get("group.id") == "alliance-changelog-restore" else
                       "changelog" if d.get("queue.buffering.max.ms") == "0" else
                       "sink" if d.get("queue.buffering.max.ms") == "5" else repr(d) for d in dumps)
        self.assertEqual(sorted(set(kinds)), ["changelog", "restore", "sink", "source"], kinds)

    def test_properties_reach_the_dashboard_and_payouts(self):
        port = free_port()
        dash = subprocess.Popen([ALLIANCE, "dashboard", "--topology", TOPOLOGY, "--bootstrap", self.boot,
                                 "--listen", f"127.0.0.1:{port}", "-X", "client.id=probe-dash", "-X", "debug=conf"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            self.assertTrue(wait_for(lambda: curl(f"http://127.0.0.1:{port}/api/status")[0] == 200, 20))
        finally:
            stop(dash)
        err = dash.stderr.read()
        dash.stdout.close()
        dash.stderr.close()
        dumps = [d for d in conf_dumps(err) if d.get("group.id") == "alliance-dashboard"]
        self.assertTrue(dumps, err[-2000:])
        self.assertEqual({d.get("client.id") for d in dumps}, {"probe-dash"}, "the user's client.id wins over the default")

        p = self.alliance("payouts", "--topology", TOPOLOGY, "--bootstrap", self.boot, "--timeout", "20000",
                          "-X", "client.id=probe-pay", "-X", "debug=conf")
        self.assertEqual(p.returncode, 0, p.stderr[-2000:])
        self.assertTrue(p.stdout.startswith("partner_id,currency,amount_minor,reference"))
        dumps = [d for d in conf_dumps(p.stderr) if d.get("group.id") == "alliance-payouts"]
        self.assertEqual([d.get("client.id") for d in dumps], ["probe-pay"], p.stderr[-2000:])

    def test_unknown_and_invalid_properties_are_refused_by_name(self):
        props = os.path.join(self.work, "bad.properties")
        with open(props, "w") as f:
            f.write("security.protocol=SASL_SSL\nsasl.mechanisms=PLAN\n")
        cases = [(["-X", "no.such.property=1"], "no.such.property", "No such configuration property"),
                 (["-X", "compression.type=zstdx"], "compression.type", 'Invalid value "zstdx"'),
                 (["--kafka-config", props], f"{props} line 2: sasl.mechanisms", "Unsupported SASL mechanism: PLAN"),
                 (["-X", "enable.auto.commit=true"], "enable.auto.commit", "cannot be set"),
                 (["-X", "sasl.password=${ALLIANCE_TEST_UNSET_VARIABLE}"], "ALLIANCE_TEST_UNSET_VARIABLE", "not set")]
        commands = {"run": ["--bootstrap", self.boot, "--metrics", ""], "dashboard": ["--bootstrap", self.boot],
                    "payouts": ["--bootstrap", self.boot]}
        for cmd, extra in commands.items():
            for flags, named, why in cases:
                with self.subTest(cmd=cmd, flags=flags):
                    p = self.alliance(cmd, "--topology", TOPOLOGY, *extra, *flags, timeout=20)
                    self.assertEqual(p.returncode, 2, p.stderr)
                    self.assertEqual(p.stderr.count("\n"), 1, p.stderr)
                    self.assertIn(named, p.stderr)
                    self.assertIn(why, p.stderr)

    def sasl_flags(self):
        return ["-X", "security.protocol=SASL_PLAINTEXT", "-X", "sasl.mechanisms=PLAIN", "-X",
                f"sasl.username={USERNAME}", "-X", "sasl.password=${ALLIANCE_TEST_KAFKA_PASSWORD}", "-X", "debug=all"]

    def assert_no_secret(self, *texts):
        for t in texts:
            self.assertNotIn(PASSWORD, t)
            self.assertNotIn(USERNAME, t)

    def test_sasl_against_the_mock_fails_clearly_and_prints_no_secret(self):
        p = self.alliance("run", "--topology", TOPOLOGY, "--bootstrap", self.boot, "--metrics", "",
                          "--state", os.path.join(self.work, "state-sasl"), *self.sasl_flags())
        self.assertEqual(p.returncode, 2, p.stderr[-2000:])
        last = [line for line in p.stderr.splitlines() if line.startswith("alliance run: cannot connect")]
        self.assertEqual(len(last), 1, p.stderr[-2000:])
        last = last[0]
        self.assertIn("Authentication failure", last)
        self.assertIn("SASL", last)
        self.assert_no_secret(p.stdout, p.stderr)
        self.assertIn("sasl.password = [redacted]", p.stderr, "debug=all did dump the configuration")

        p = self.alliance("payouts", "--topology", TOPOLOGY, "--bootstrap", self.boot, "--timeout", "3000",
                          *self.sasl_flags())
        self.assertEqual(p.returncode, 2, p.stderr[-2000:])
        said = [line for line in p.stderr.splitlines() if line.startswith("alliance payouts:")]
        self.assertEqual(len(said), 1, p.stderr[-2000:])
        self.assertIn("cannot connect to the brokers", said[0])
        self.assertIn("Authentication failure", said[0])
        self.assert_no_secret(p.stdout, p.stderr)

        port = free_port()
        # Files, not pipes: debug=all writes more than a pipe holds.
        out_f, err_f = (open(os.path.join(self.work, n), "w+") for n in ("dash-sasl.out", "dash-sasl.err"))
        dash = subprocess.Popen([ALLIANCE, "dashboard", "--topology", TOPOLOGY, "--bootstrap", self.boot,
                                 "--listen", f"127.0.0.1:{port}", *self.sasl_flags()], env=self.env,
                                stdout=out_f, stderr=err_f, text=True)
        try:
            status = wait_for(lambda: "Authentication failure" in
                              json.loads(curl(f"http://127.0.0.1:{port}/api/status")[1]).get("source_error", ""), 30)
            self.assertIsNotNone(status, "the dashboard never showed the authentication failure")
            pages = [curl(f"http://127.0.0.1:{port}{path}")[1] for path in ("/api/status", "/api/view", "/")]
        finally:
            stop(dash)
        out_f.seek(0)
        err_f.seek(0)
        out, err = out_f.read(), err_f.read()
        out_f.close()
        err_f.close()
        self.assertIn("Authentication failure", err)
        self.assert_no_secret(out, err, *pages)

        p = self.alliance("run", "--help", "-X", f"sasl.password={PASSWORD}", "-X", f"sasl.username={USERNAME}")
        self.assertEqual(p.returncode, 0)
        self.assert_no_secret(p.stdout, p.stderr)

    # --- HTTP servers ---------------------------------------------------------

    def check_secured(self, base, paths):
        """Every path needs the token (over HTTPS verified with the certificate); /healthz does not."""
        tls = ["--cacert", self.cert]
        for path in paths:
            with self.subTest(path=path):
                self.assertEqual(curl(base + path, *tls)[0], 401, "no token")
                self.assertEqual(curl(base + path, *tls, "-H", f"Authorization: Bearer x{self.token}")[0], 401)
                self.assertEqual(curl(base + path, *tls, "-H", f"Authorization: Bearer {self.token[:-1]}")[0], 401)
                self.assertEqual(curl(base + path, *tls, "-H", f"Authorization: Bearer {self.token}")[0], 200)
        self.assertEqual(curl(base + "/healthz", *tls), (200, "ok"))
        self.assertEqual(curl(base + "/healthz")[0], 0, "curl without the CA does not trust the self-signed certificate")
        self.assertEqual(curl(base.replace("https://", "http://") + "/healthz")[0], 0, "no plain HTTP on the port")

    def test_dashboard_token_and_https(self):
        port = free_port()
        dash = subprocess.Popen([ALLIANCE, "dashboard", "--topology", TOPOLOGY, "--bootstrap", self.boot,
                                 "--listen", f"127.0.0.1:{port}", "--http-token-file", self.token_file,
                                 "--tls-cert", self.cert, "--tls-key", self.key],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            self.assertEqual(dash.stdout.readline().strip(), f"dashboard: https://127.0.0.1:{port}/")
            self.check_secured(f"https://127.0.0.1:{port}", ["/", "/api/status", "/api/view", "/api/balances"])
        finally:
            stop(dash)
        err = dash.stderr.read()
        dash.stdout.close()
        dash.stderr.close()
        self.assertNotIn(self.token, err)

    def test_run_metrics_token_and_https(self):
        # A broker of its own: after a bounded run (--stop-when-idle, the first
        # test) has written the changelog, a run restoring from it stops at once
        # (found here, left as it is; see the report of issue 24).
        boot_file = os.path.join(self.work, "boot-http")
        broker = subprocess.Popen([ALLIANCE, "broker", "--topology", TOPOLOGY, "--bootstrap-file", boot_file],
                                  stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.addCleanup(lambda: (stop(broker), broker.stdin.close()))
        boot = wait_for(lambda: open(boot_file).read().strip(), 20)
        port = free_port()
        run = subprocess.Popen([ALLIANCE, "run", "--topology", TOPOLOGY, "--bootstrap", boot, "--group", "secure-http",
                                "--state", os.path.join(self.work, "state-http"), "--session-timeout", "6000",
                                "--metrics", f"127.0.0.1:{port}", "--http-token-file", self.token_file,
                                "--tls-cert", self.cert, "--tls-key", self.key],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        try:
            self.assertTrue(wait_for(lambda: curl(f"https://127.0.0.1:{port}/healthz", "--cacert", self.cert)[0] == 200,
                                     20))
            self.check_secured(f"https://127.0.0.1:{port}", ["/metrics"])
            code, body = curl(f"https://127.0.0.1:{port}/readyz", "--cacert", self.cert, "-H",
                              f"Authorization: Bearer {self.token}")
            self.assertIn(code, (200, 503), body)
            self.assertEqual(curl(f"https://127.0.0.1:{port}/readyz", "--cacert", self.cert)[0], 401)
            try:
                self.prometheus_scrapes(port)
            except AssertionError as e:
                stop(run)
                raise AssertionError(f"{e}; run exited {run.returncode}: {run.stderr.read()[-3000:]}") from None
        finally:
            stop(run)
        err = run.stderr.read()
        run.stderr.close()
        self.assertIn(f"serving https://127.0.0.1:{port}/metrics", err)
        self.assertNotIn(self.token, err)

    def prometheus_scrapes(self, port):
        """A real Prometheus with the deploy file's scrape job (token file and CA
        under the test's directory, target 127.0.0.1) scrapes /metrics; with
        another token the target is down with 401."""
        with open(os.path.join(SRC, "deploy/prometheus/prometheus.yml")) as f:
            deploy = f.read()
        shutil.copy(self.cert, os.path.join(self.work, "tls.crt"))
        for name, token in (("good", self.token), ("bad", "0" * 32)):
            secrets = os.path.join(self.work, f"prom-{name}")
            os.makedirs(secrets, exist_ok=True)
            shutil.copy(self.cert, os.path.join(secrets, "tls.crt"))
            with open(os.path.join(secrets, "http-token"), "w") as f:
                f.write(token + "\n")
            cfg = os.path.join(secrets, "prometheus.yml")
            with open(cfg, "w") as f:
                f.write(deploy.replace("/etc/prometheus/secrets/", secrets + "/").replace("alliance:9464", f"127.0.0.1:{port}")
                        .replace("rule_files: [alerts.yml]", "").replace("scrape_interval: 5s", "scrape_interval: 1s"))
            web = free_port()
            prom = subprocess.Popen(["prometheus", f"--config.file={cfg}", f"--storage.tsdb.path={secrets}/tsdb",
                                     f"--web.listen-address=127.0.0.1:{web}"],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            try:
                def target():
                    t = json.loads(curl(f"http://127.0.0.1:{web}/api/v1/targets")[1])["data"]["activeTargets"]
                    return t and t[0]["health"] != "unknown" and t[0]
                t = wait_for(target, 60)
                self.assertTrue(t, "Prometheus never scraped the target")
                if name == "good":
                    self.assertEqual(t["health"], "up", t)
                    self.assertTrue(t["scrapeUrl"].startswith("https://"), t)
                else:
                    self.assertEqual(t["health"], "down", t)
                    self.assertIn("401", t["lastError"], t)
            finally:
                stop(prom)

    def test_demo_token_on_both_servers(self):
        mport, dport = free_port(), free_port()
        demo = subprocess.Popen([ALLIANCE, "demo", "--topology", TOPOLOGY, "--rate", "50", "--duration", "60s",
                                 "--metrics", f"127.0.0.1:{mport}", "--dashboard", f"127.0.0.1:{dport}",
                                 "--state", os.path.join(self.work, "state-demo"), "--http-token-file", self.token_file,
                                 "--tls-cert", self.cert, "--tls-key", self.key],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            self.assertTrue(wait_for(lambda: curl(f"https://127.0.0.1:{mport}/healthz", "--cacert", self.cert)[0] == 200,
                                     20))
            self.check_secured(f"https://127.0.0.1:{mport}", ["/metrics"])
            self.check_secured(f"https://127.0.0.1:{dport}", ["/", "/api/status"])
        finally:
            stop(demo)

    def test_bad_http_security_flags_are_2(self):
        short = os.path.join(self.work, "short-token")
        with open(short, "w") as f:
            f.write("short\n")
        cases = [(["--http-token-file", short], "at least 16"),
                 (["--http-token-file", os.path.join(self.work, "missing")], "cannot read it"),
                 (["--tls-cert", self.cert], "--tls-cert needs --tls-key"),
                 (["--tls-cert", self.cert, "--tls-key", self.cert], "--tls-key " + self.cert)]
        for flags, why in cases:
            with self.subTest(flags=flags):
                p = self.alliance("dashboard", "--topology", TOPOLOGY, "--bootstrap", self.boot,
                                  "--listen", f"127.0.0.1:{free_port()}", *flags, timeout=20)
                self.assertEqual(p.returncode, 2, p.stderr)
                self.assertIn(why, p.stderr)
                self.assertNotIn("short\n", p.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
