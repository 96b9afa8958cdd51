"""Shared by the integration tests that start `alliance` processes: a free
loopback port, polling until something holds, an HTTP JSON GET and a stop
that never leaves a process behind."""
import json
import signal
import socket
import subprocess
import time
import urllib.request


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(fn, seconds, every=0.5):
    """fn()'s first truthy value within `seconds` (exceptions count as not yet), else None."""
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            v = fn()
            if v:
                return v
        except Exception:
            pass
        time.sleep(every)
    return None


def get_json(url, timeout=2):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return json.loads(r.read().decode())


def stop(proc):
    """SIGINT, then SIGKILL after 30 s: a test never leaves its process running."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
