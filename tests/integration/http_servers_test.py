#!/usr/bin/python3
"""The HTTP servers of a process (issue 20 items 5, 11, 12): the /metrics
endpoint of `run`/`demo` and the dashboard.

- Idle TCP connections (a client that connects and never sends a byte) do
  not starve them: with 100 idle sockets open to each server, /healthz,
  /readyz, /metrics, the dashboard's page and its API answer in < 1 s, and
  the servers close an idle socket after their request timeout.
- The address printed is the one bound: `--listen PORT` and `0.0.0.0:PORT`
  print http://0.0.0.0:PORT/, not 127.0.0.1; `[::]:PORT` is served or
  refused with an error naming IPv6 and the flag.
- The dashboard API's filters are never dropped: an over-long value matches
  nothing (or is a 400); a parameter the endpoint does not filter on, or one
  given twice, is a 400.

One `alliance demo` serves the first and last parts; `alliance dashboard`
against a closed port and `alliance run` serve the addresses."""
import http.client
import json
import os
import select
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import unittest
import urllib.parse
from testprocs import free_port, wait_for, stop  # noqa: E402

ALLIANCE = os.environ.get("ALLIANCE_BIN", "build/src/app/alliance")
SRC = os.environ.get("ALLIANCE_SRC", ".")
TOPOLOGY = os.path.join(SRC, "topologies/spring-alliance.yaml")
IDLE_SOCKETS = 100
ANSWER_WITHIN_S = 1.0
REQUEST_TIMEOUT_S = 5  # docs/OPERATIONS.md "HTTP servers"


def request(port, path, timeout=15):
    """(status, body, seconds) of GET path on 127.0.0.1:port."""
    t0 = time.monotonic()
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        c.request("GET", path)
        r = c.getresponse()
        body = r.read()
        return r.status, body, time.monotonic() - t0
    finally:
        c.close()


class Output:
    """Collects a process's stdout lines on a thread (the demo redraws its table)."""

    def __init__(self, proc):
        self.lines, self.lock = [], threading.Lock()
        self.thread = threading.Thread(target=self._read, args=(proc,), daemon=True)
        self.thread.start()

    def _read(self, proc):
        for line in proc.stdout:
            with self.lock:
                self.lines.append(line)

    def text(self):
        with self.lock:
            return "".join(self.lines)


class Demo(unittest.TestCase):
    """One demo with its /metrics on `PORT` (every interface) and its dashboard on 0.0.0.0:PORT."""

    @classmethod
    def setUpClass(cls):
        cls.work = tempfile.mkdtemp(prefix="alliance-http-")
        cls.mport, cls.dport = free_port(), free_port()
        cls.demo = subprocess.Popen([ALLIANCE, "demo", "--topology", TOPOLOGY, "--rate", "300", "--duration", "120s",
                                     "--metrics", str(cls.mport), "--dashboard", f"0.0.0.0:{cls.dport}",
                                     "--state", os.path.join(cls.work, "state")],
                                    stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        cls.out = Output(cls.demo)
        cls.statements = wait_for(lambda: json.loads(request(cls.dport, "/api/statements")[1]), 60)

    @classmethod
    def tearDownClass(cls):
        stop(cls.demo)
        cls.out.thread.join(timeout=5)
        cls.demo.stdout.close()
        shutil.rmtree(cls.work, ignore_errors=True)

    def test_printed_addresses_are_the_bound_ones(self):
        printed = lambda: sorted({w for w in self.out.text().split() if "http://" in w})  # noqa: E731
        self.assertTrue(wait_for(lambda: f"http://0.0.0.0:{self.mport}/metrics" in self.out.text(), 15),
                        f"--metrics {self.mport} binds every interface; the demo printed {printed()}")
        self.assertIn(f"dashboard: http://0.0.0.0:{self.dport}/", self.out.text())

    def test_idle_sockets_do_not_starve_the_servers(self):
        self.assertEqual(request(self.mport, "/healthz")[0], 200)
        idle = []
        try:
            for port in (self.mport, self.dport):
                for _ in range(IDLE_SOCKETS):
                    idle.append(socket.create_connection(("127.0.0.1", port)))
            time.sleep(0.5)  # let the servers accept them all
            for port, path in [(self.mport, "/healthz"), (self.mport, "/readyz"), (self.mport, "/metrics"),
                               (self.dport, "/"), (self.dport, "/api/view"), (self.dport, "/api/status"),
                               (self.dport, "/api/statements"), (self.mport, "/healthz")]:
                try:
                    status, _, seconds = request(port, path, timeout=10)
                except (TimeoutError, ConnectionError) as e:
                    self.fail(f"GET {path} not answered with {IDLE_SOCKETS} idle sockets open: {e!r}")
                print(f"with {IDLE_SOCKETS} idle sockets per server: GET :{port}{path} -> {status} in {seconds:.3f} s")
                self.assertIn(status, (200, 503), path)  # /readyz may say not ready
                self.assertLess(seconds, ANSWER_WITHIN_S, f"GET {path} with {IDLE_SOCKETS} idle sockets open")
        finally:
            for s in idle:
                s.close()

    def test_an_idle_socket_is_closed_after_the_request_timeout(self):
        socks = [socket.create_connection(("127.0.0.1", p)) for p in (self.mport, self.dport)]
        t0 = time.monotonic()
        closed = {}
        try:
            while len(closed) < len(socks) and time.monotonic() - t0 < REQUEST_TIMEOUT_S + 5:
                ready, _, _ = select.select([s for s in socks if s not in closed], [], [], 0.2)
                for s in ready:
                    try:
                        s.recv(4096)  # EOF (or a 408) when the server gives up on it
                    except ConnectionResetError:
                        pass
                    closed[s] = time.monotonic() - t0
        finally:
            for s in socks:
                s.close()
        print("idle sockets (metrics, dashboard) closed by the servers after",
              [round(closed[s], 2) if s in closed else None for s in socks], "s")
        self.assertEqual(len(closed), len(socks), f"an idle socket was still open after {REQUEST_TIMEOUT_S + 5} s")

    def test_long_filters_are_not_dropped(self):
        self.assertTrue(self.statements, "the demo published no statements within 60 s")
        partner = self.statements[0]["partner_id"]
        status, body, _ = request(self.dport, "/api/statements?partner_id=" + urllib.parse.quote(partner))
        self.assertEqual(status, 200)
        self.assertTrue(json.loads(body) and all(r["partner_id"] == partner for r in json.loads(body)))
        filters = {"/api/metrics": ["dim", "key", "window_size", "currency"],
                   "/api/statements": ["partner_id", "period", "currency"],
                   "/api/balances": ["partner_id", "currency"], "/api/settlements": ["partner_id"]}
        for path, names in filters.items():
            for name in names:
                for n in (300, 600, 5000):
                    status, body, _ = request(self.dport, f"{path}?{name}={'p' * n}")
                    self.assertTrue(status == 400 or (status == 200 and json.loads(body) == []),
                                    f"{path}?{name}=<{n} bytes> -> {status} {body[:200]!r}")

    def test_parameters_an_endpoint_does_not_filter_on_are_refused(self):
        for path in ["/api/balances?period=2024-05", "/api/settlements?currency=CNY", "/api/dlq?partner_id=p-books",
                     "/api/statements?partner=p-books", "/api/statements?partner_id=a&partner_id=b",
                     "/api/metrics?dim=source&dim=campaign", "/api/metrics?key=%zz"]:
            status, body, _ = request(self.dport, path)
            self.assertEqual(status, 400, f"{path} -> {status} {body[:200]!r}")


class ListenAddresses(unittest.TestCase):
    """What `alliance dashboard --listen` and `alliance run --metrics` print or refuse."""

    def dashboard(self, listen):
        """(first stdout line or '', exit code or None while running, stderr) of a dashboard on `listen`."""
        p = subprocess.Popen([ALLIANCE, "dashboard", "--topology", TOPOLOGY, "--bootstrap", f"127.0.0.1:{free_port()}",
                              "--listen", listen], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            ready, _, _ = select.select([p.stdout], [], [], 15)
            line = p.stdout.readline().strip() if ready else ""
            return line, p.poll(), p
        except Exception:
            self.finish(p)
            raise

    def finish(self, p, wait=0):
        """Its stderr, once it has exited (waiting `wait` s for that) or been killed."""
        try:
            p.wait(timeout=wait)
        except subprocess.TimeoutExpired:
            p.kill()  # still serving; its clean stop (waiting for the unreachable broker) is not under test
            p.wait()
        err = p.stderr.read()
        p.stdout.close()
        p.stderr.close()
        return err

    def test_port_only_and_any_address_print_0_0_0_0(self):
        for form in ("{}", "0.0.0.0:{}"):
            port = free_port()
            line, _, p = self.dashboard(form.format(port))
            try:
                self.assertEqual(line, f"dashboard: http://0.0.0.0:{port}/ (every IPv4 interface)", form)
                self.assertEqual(request(port, "/")[0], 200)
            finally:
                self.finish(p)

    def test_loopback_port_0_prints_the_picked_port(self):
        line, _, p = self.dashboard("127.0.0.1:0")
        try:
            self.assertRegex(line, r"^dashboard: http://127\.0\.0\.1:[1-9][0-9]*/$")
            self.assertEqual(request(int(line.rsplit(":", 1)[1].rstrip("/")), "/api/status")[0], 200)
        finally:
            self.finish(p)

    def test_ipv6_is_served_or_refused_clearly(self):
        port = free_port()
        line, _, p = self.dashboard(f"[::]:{port}")
        if line:  # a civetweb built with IPv6
            self.finish(p)
            self.assertEqual(line, f"dashboard: http://[::]:{port}/")
            return
        err = self.finish(p, wait=15)
        self.assertEqual(p.returncode, 2, err)
        self.assertIn("IPv6", err)
        self.assertIn("--listen", err)

    def test_run_refuses_an_ipv6_metrics_address_clearly(self):
        with tempfile.TemporaryDirectory(prefix="alliance-http-") as state:
            p = subprocess.run([ALLIANCE, "run", "--topology", TOPOLOGY, "--bootstrap", f"127.0.0.1:{free_port()}",
                                "--state", state, "--metrics", f"[::]:{free_port()}", "--stop-when-idle", "1000"],
                               capture_output=True, text=True, timeout=60)
        if "IPv6" not in p.stderr and p.returncode == 0:
            self.skipTest("this civetweb serves IPv6")
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertIn("IPv6", p.stderr)
        self.assertIn("--metrics", p.stderr)

    def test_malformed_addresses_are_refused(self):
        for listen in ("127.0.0.1:99999", "localhost:port", f"{free_port()}s",
                       f"127.0.0.1:{free_port()},127.0.0.1:{free_port()}"):
            line, _, p = self.dashboard(listen)
            err = self.finish(p, wait=15)
            self.assertEqual((line, p.returncode), ("", 2), f"--listen {listen}: {err}")
            self.assertIn("--listen", err)


if __name__ == "__main__":
    unittest.main(verbosity=2)
