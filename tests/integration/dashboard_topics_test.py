#!/usr/bin/python3
"""Issue 20 item 8: every topic the dashboard reads comes from the topology.
A topology without `outputs.balances` publishes balances on
`<name>.partner-balances`; `alliance dashboard` and the dashboard inside
`alliance demo` must read that topic (not a hard-coded
`alliance.partner-balances`), so `/api/balances` shows what partners are
owed. Each case starts librdkafka's mock cluster (`alliance broker` or the
demo's own) on loopback."""
import os
import shutil
import subprocess
import tempfile
import unittest
from testprocs import free_port, wait_for, get_json, stop  # noqa: E402

ALLIANCE = os.environ.get("ALLIANCE_BIN", "build/src/app/alliance")
SRC = os.environ.get("ALLIANCE_SRC", ".")
NAME = "dash-topics"


def topology_without_balances_topic(work):
    """The sample topology named NAME, every output topic given but balances and risk,
    and commission payable at once (so balances have payable money soon)."""
    with open(os.path.join(SRC, "topologies/spring-alliance.yaml")) as f:
        text = f.read()
    for old, new in [("name: spring-alliance", "name: " + NAME),
                     ("balances: alliance.partner-balances,", ""),
                     ("risk: alliance.partner-risk,", ""),  # partner risk: <name>.partner-risk too
                     ("holding_period: 30d", "holding_period: 0s")]:
        assert old in text, old
        text = text.replace(old, new)
    path = os.path.join(work, "topology.yaml")
    with open(path, "w") as f:
        f.write(text)
    return path


def read(path):
    with open(path) as f:
        return f.read()


def feeds(base):
    return {t["feed"]: t for t in get_json(base + "api/status")["topics"]}


class DashboardTopicsFollowTheTopology(unittest.TestCase):
    def setUp(self):
        self.work = tempfile.mkdtemp(prefix="alliance-dash-topics-")
        self.topology = topology_without_balances_topic(self.work)
        self.procs = []

    def tearDown(self):
        for p in reversed(self.procs):
            stop(p)
        shutil.rmtree(self.work, ignore_errors=True)

    def start(self, *args):
        p = subprocess.Popen([ALLIANCE, *args], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
        self.procs.append(p)
        return p

    def test_dashboard_command_reads_the_default_balances_topic(self):
        boot_file = os.path.join(self.work, "bootstrap")
        self.start("broker", "--topology", self.topology, "--bootstrap-file", boot_file)
        boot = wait_for(lambda: read(boot_file).strip(), 30)
        self.assertTrue(boot, "alliance broker never wrote its address")
        port = free_port()
        dash = self.start("dashboard", "--topology", self.topology, "--bootstrap", boot,
                          "--listen", f"127.0.0.1:{port}")
        base = f"http://127.0.0.1:{port}/"
        balances = wait_for(lambda: (f := feeds(base)).get("balances", {}).get("present") and f["balances"], 30)
        self.assertIsNone(dash.poll(), "alliance dashboard exited")
        status = feeds(base)
        self.assertEqual(status["balances"]["topic"], NAME + ".partner-balances", status)
        self.assertTrue(balances, f"the balances topic was never found: {status}")
        # The other feeds are the topology's too.
        self.assertEqual({k: v["topic"] for k, v in status.items()},
                         {"metrics": "alliance.campaign-metrics", "settlements": "alliance.settlements",
                          "statements": "alliance.settlement-statements", "dlq": "alliance.dlq",
                          "balances": NAME + ".partner-balances", "risk": NAME + ".partner-risk"})

    def test_demo_dashboard_shows_the_balances(self):
        port = free_port()
        demo = self.start("demo", "--topology", self.topology, "--rate", "400", "--duration", "90s",
                          "--dashboard", f"127.0.0.1:{port}", "--state", os.path.join(self.work, "state"))
        base = f"http://127.0.0.1:{port}/"
        rows = wait_for(lambda: get_json(base + "api/balances"), 60)
        self.assertIsNone(demo.poll(), "alliance demo exited")
        status = feeds(base)
        self.assertEqual(status["balances"]["topic"], NAME + ".partner-balances", status)
        self.assertTrue(rows, f"/api/balances stayed empty: {status}")


if __name__ == "__main__":
    unittest.main(verbosity=2)
