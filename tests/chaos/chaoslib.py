"""What the fault scenarios share: the broker process, input generation and
production, `alliance run` instances that can be killed, /readyz probes, and
the verifier. Debian's python3 only (confluent_kafka, yaml)."""
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.environ.get("ALLIANCE_SRC", os.path.normpath(os.path.join(HERE, "..", "..")))
ALLIANCE = os.environ.get("ALLIANCE_BIN", os.path.join(SRC, "build/src/app/alliance"))
TOPOLOGY = os.path.join(SRC, "topologies/spring-alliance.yaml")
INPUTS = {"click": "alliance.clicks", "referral": "alliance.referrals", "order": "alliance.orders"}


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Failure(Exception):
    pass


def check(cond, msg):
    if not cond:
        raise Failure(msg)


class Work:
    """A scratch directory, kept when the scenario fails."""

    def __init__(self, name):
        self.dir = tempfile.mkdtemp(prefix=f"chaos-{name}-")

    def binary(self, role):
        """ALLIANCE under another name (a symlink), so that a broad
        `pkill -f 'alliance broker'` by someone else on a shared machine does
        not hit the processes of a scenario (seen: brokers stopped by a stray
        SIGTERM in the middle of a run)."""
        os.makedirs(self.path("bin"), exist_ok=True)
        link = self.path("bin", f"chaos-{role}")
        if not os.path.exists(link):
            os.symlink(ALLIANCE, link)
        return link

    def path(self, *p):
        return os.path.join(self.dir, *p)

    def cleanup(self):
        shutil.rmtree(self.dir, ignore_errors=True)


class Broker:
    """`alliance broker` as its own process; stdin takes fault commands."""
    everyone = []

    def __init__(self, work, partitions=1):
        Broker.everyone.append(self)
        boot = work.path("bootstrap")
        self.log = open(work.path("broker.log"), "w")
        # A crash of the mock cluster leaves a core file in the work directory.
        import resource

        def allow_core():
            resource.setrlimit(resource.RLIMIT_CORE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
        self.proc = subprocess.Popen([work.binary("mock"), "broker", "--topology", TOPOLOGY, "--partitions", str(partitions),
                                      "--bootstrap-file", boot], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                     stderr=self.log, text=True, cwd=work.dir, preexec_fn=allow_core)
        for _ in range(400):
            if os.path.exists(boot):
                break
            check(self.proc.poll() is None, "the broker exited at start")
            time.sleep(0.05)
        with open(boot) as f:
            self.bootstrap = f.read().strip()

    def cmd(self, line):
        check(self.proc.poll() is None, f"the broker process is gone ({self.status()})")
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def status(self):
        rc = self.proc.poll()
        if rc is None:
            return "running"
        if rc < 0:
            return f"killed by signal {-rc} ({signal.Signals(-rc).name})"
        return f"exited {rc}"

    def stop(self):
        if self.proc.poll() is not None:
            log(f"the broker process was already gone: {self.status()}")
        self.stopped = True
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


def generate(work, n, seed, gap_ms=3000, bad_rate=None):
    path = work.path("events.jsonl")
    cmd = [ALLIANCE, "generate", "--topology", TOPOLOGY, "--events", str(n), "--seed", str(seed), "--gap-ms", str(gap_ms)]
    if bad_rate is not None:
        cmd += ["--bad-rate", str(bad_rate)]
    with open(path, "wb") as f:
        subprocess.run(cmd, stdout=f, check=True)
    with open(path, "rb") as f:
        lines = [l for l in f.read().split(b"\n") if l]
    return path, lines


def route(line):
    """(topic, key) of one input line, as a producer keyed by user_id would."""
    try:
        e = json.loads(line)
        kind, key = e.get("type", "order"), e.get("user_id", "u-bad")
        if not isinstance(key, str):
            key = "u-bad"
    except (ValueError, UnicodeDecodeError, AttributeError):
        kind, key = "order", "u-bad"
    return INPUTS.get(kind, INPUTS["order"]), key.encode("utf-8", "surrogatepass")


class Producer:
    """Produces input lines in file order (Debian's confluent_kafka); in a
    background thread at a steady rate with `start_stream`."""

    def __init__(self, bootstrap):
        from confluent_kafka import Producer as P
        self.p = P({"bootstrap.servers": bootstrap, "linger.ms": 5, "enable.idempotence": True,
                    "message.timeout.ms": 600000, "log_level": 3})
        self.errors = []
        self.sent = 0
        self.thread = None
        self.paused = threading.Event()
        self.stopped = threading.Event()

    def _dr(self, err, msg):
        if err is not None:
            self.errors.append(str(err))

    def produce(self, lines):
        for line in lines:
            topic, key = route(line)
            while True:
                try:
                    self.p.produce(topic, line, key, on_delivery=self._dr)
                    break
                except BufferError:
                    self.p.poll(0.05)
            self.p.poll(0)
            self.sent += 1
        self.flush()

    def flush(self):
        while self.p.flush(10) > 0:
            pass
        check(not self.errors, f"producing the input failed: {self.errors[:3]}")

    def start_stream(self, lines, rate):
        """Produce `lines` at about `rate` lines per second, in chunks of 0.1 s."""
        chunk = max(1, int(rate / 10))

        def run():
            for i in range(0, len(lines), chunk):
                if self.stopped.is_set():
                    return
                while self.paused.is_set() and not self.stopped.is_set():
                    time.sleep(0.05)
                t0 = time.time()
                self.produce(lines[i:i + chunk])
                time.sleep(max(0.0, 0.1 - (time.time() - t0)))
        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()

    def streaming(self):
        return self.thread is not None and self.thread.is_alive()

    def join(self, timeout=None):
        if self.thread:
            self.thread.join(timeout)
            check(not self.thread.is_alive(), "the producer did not finish")


class Instance:
    """One `alliance run`; restartable; stderr of every life goes to one log."""
    everyone = []  # killed at the end of a scenario, whatever happened

    def __init__(self, work, name, bootstrap, group="chaos", idle_ms=6000, metrics=False, extra=(), state=None):
        self.work, self.name = work, name
        self.state = state or work.path(f"state-{name}")
        self.port = free_port() if metrics else None
        self.args = [work.binary("proc"), "run", "--topology", TOPOLOGY, "--bootstrap", bootstrap, "--group", group,
                     "--state", self.state, "--metrics", f"127.0.0.1:{self.port}" if metrics else "",
                     "--session-timeout", "6000", "--stop-when-idle", str(idle_ms), *extra]
        self.log_path = work.path(f"run-{name}.log")
        self.proc = None
        self.lives = 0
        self.life_start = 0  # offset into the log where this life begins
        Instance.everyone.append(self)

    def start(self):
        check(self.proc is None or self.proc.poll() is not None, f"{self.name} is still running")
        self.lives += 1
        with open(self.log_path, "a") as f:
            f.write(f"=== life {self.lives} ===\n")
            self.life_start = f.tell()
        self.logf = open(self.log_path, "a")
        self.proc = subprocess.Popen(self.args, stdout=self.logf, stderr=self.logf)
        return self

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def life_log(self):
        with open(self.log_path) as f:
            f.seek(self.life_start)
            return f.read()

    def log_text(self):
        with open(self.log_path) as f:
            return f.read()

    def wait_for(self, text, timeout):
        """Until this life's log says `text` (True), or it exits or times out (False)."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            if text in self.life_log():
                return True
            if not self.alive():
                return text in self.life_log()
            time.sleep(0.05)
        return False

    def signal(self, sig):
        if self.alive():
            self.proc.send_signal(sig)

    def kill9(self):
        if not self.alive():
            return False
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        self.logf.close()
        return True

    def wait(self, timeout):
        try:
            rc = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise Failure(f"{self.name} did not finish within {timeout} s; log: {self.log_path}")
        self.logf.close()
        return rc

    def readyz(self):
        """(status, body) of /readyz, or (None, error)."""
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/readyz", timeout=2) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()
        except OSError as e:
            return None, str(e)


def verify(work, events, bootstrap, label, partitions=1, metrics=True):
    """Runs tests/chaos/verify.py; returns its figures (raises on violations)."""
    summary = work.path(f"verify-{label}.json")
    cmd = [sys.executable, os.path.join(HERE, "verify.py"), "--events", events, "--topology", TOPOLOGY,
           "--kafka", bootstrap, "--alliance", ALLIANCE, "--summary-json", summary, "--label", label]
    if not metrics:
        cmd.append("--no-metrics")
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    sys.stdout.write(p.stdout)
    if p.returncode != 0:
        sys.stdout.write(p.stderr[-8000:])
        raise Failure(f"the verifier found violations (exit {p.returncode})")
    with open(summary) as f:
        return json.load(f)


def record_figures(figures):
    """Appends a scenario's figures to $CHAOS_FIGURES (run_all.sh collects them)."""
    path = os.environ.get("CHAOS_FIGURES")
    if path:
        with open(path, "a") as f:
            f.write(json.dumps(figures) + "\n")


def main_wrapper(fn):
    """Runs a scenario: exit 0 when it passed, 1 with the reason otherwise,
    77 when it was skipped (ctest SKIP_RETURN_CODE)."""
    try:
        rc = fn()
    except Failure as e:
        log(f"FAILED: {e}")
        for b in Broker.everyone:
            if b.proc.poll() is not None and b.proc.returncode != 0 and not getattr(b, "stopped", False):
                log(f"note: the broker process had died before the end: {b.status()}")
        return 1
    finally:
        for inst in Instance.everyone:
            if inst.alive():
                inst.proc.kill()
                inst.proc.wait()
    return rc or 0
