#!/usr/bin/python3
"""`cmake --install` and the .deb (issue 20 item 17, docs/OPERATIONS.md
"Install"): the install puts the binary, schemas, sample topologies,
Grafana/Prometheus files and a systemd unit under the prefix; the installed
binary runs from there (nothing read from the source or build tree), and the
.deb holds the same files under /usr with Depends naming the Debian package
of every shared library the binary links."""
import glob
import json
import os
import re
import shutil
import subprocess
import tempfile
import unittest

ALLIANCE = os.environ.get("ALLIANCE_BIN", "build/src/app/alliance")
SRC = os.path.abspath(os.environ.get("ALLIANCE_SRC", "."))
BUILD = os.path.abspath(os.environ.get("ALLIANCE_BUILD", "build"))


def project_version():
    with open(os.path.join(SRC, "CMakeLists.txt")) as f:
        return re.search(r"project\(alliance VERSION ([0-9.]+)", f.read()).group(1)


def unit_lines(path):
    with open(path) as f:
        return [line.strip() for line in f if line.strip() and not line.startswith("#")]


class Install(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.work = tempfile.mkdtemp(prefix="alliance-install-")
        cls.prefix = os.path.join(cls.work, "prefix")
        p = subprocess.run(["cmake", "--install", BUILD, "--prefix", cls.prefix], capture_output=True, text=True)
        assert p.returncode == 0, p.stdout + p.stderr

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.work, ignore_errors=True)

    def installed(self, pattern):
        return sorted(os.path.relpath(p, self.prefix) for p in glob.glob(os.path.join(self.prefix, pattern)))

    def test_the_files_are_where_an_operator_looks(self):
        self.assertTrue(os.access(os.path.join(self.prefix, "bin/alliance"), os.X_OK))
        for sub, pattern in (("schemas", "*.schema.json"), ("topologies", "*.yaml")):
            want = sorted(f"share/alliance/{sub}/" + os.path.basename(p)
                          for p in glob.glob(os.path.join(SRC, sub, pattern)))
            self.assertTrue(want)
            self.assertEqual(self.installed(f"share/alliance/{sub}/*"), want)
        self.assertEqual(self.installed("share/alliance/grafana/*"),
                         ["share/alliance/grafana/" + f for f in
                          ("alliance-dashboard.json", "dashboards.yml", "datasource.yml")])
        self.assertEqual(self.installed("share/alliance/prometheus/*"),
                         ["share/alliance/prometheus/" + f for f in ("alerts.yml", "alerts_test.yml", "prometheus.yml")])
        with open(os.path.join(self.prefix, "share/alliance/grafana/alliance-dashboard.json")) as f:
            json.load(f)
        self.assertTrue(os.path.exists(os.path.join(self.prefix, "share/doc/alliance/OPERATIONS.md")))

    def test_the_systemd_unit_runs_the_installed_binary(self):
        unit = os.path.join(self.prefix, "lib/systemd/system/alliance.service")
        lines = unit_lines(unit)
        exec_start = [l for l in lines if l.startswith("ExecStart=")]
        self.assertEqual(len(exec_start), 1, lines)
        words = exec_start[0][len("ExecStart="):].split()
        self.assertEqual(words[0], os.path.join(self.prefix, "bin/alliance"))
        self.assertEqual(words[1], "run")
        self.assertEqual(words[words.index("--topology") + 1], "/etc/alliance/topology.yaml")
        self.assertEqual(words[words.index("--state") + 1], "/var/lib/alliance/state")
        # Restarted after a failure a restart may cure (1), not after one that needs an operator (2).
        self.assertIn("Restart=on-failure", lines)
        self.assertIn("RestartPreventExitStatus=2", lines)
        self.assertIn("WantedBy=multi-user.target", lines)
        # The options it passes are options of `alliance run` (no unknown option at start).
        p = subprocess.run([words[0], "run", "--help"], capture_output=True, text=True)
        for w in words[2:]:
            if w.startswith("--"):
                self.assertIn(w, p.stdout)
        if shutil.which("systemd-analyze"):
            p = subprocess.run(["systemd-analyze", "verify", unit], capture_output=True, text=True)
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertNotIn("alliance.service", p.stderr)  # unknown keys are only warnings

    def test_the_installed_binary_runs_from_there(self):
        # From an empty directory and without the source or build tree on any path.
        alliance = os.path.join(self.prefix, "bin/alliance")
        topology = os.path.join(self.prefix, "share/alliance/topologies/spring-alliance.yaml")
        cwd = tempfile.mkdtemp(dir=self.work)
        run = lambda *a, **kw: subprocess.run([alliance, *a], cwd=cwd, capture_output=True, text=True, timeout=120, **kw)
        p = run("--version")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stdout.strip(), "alliance " + project_version())
        events = os.path.join(cwd, "events.jsonl")
        with open(events, "w") as f:
            self.assertEqual(subprocess.run([alliance, "generate", "--topology", topology, "--events", "3000"], cwd=cwd,
                                            stdout=f).returncode, 0)
        p = run("replay", "--topology", topology, "--input", events, "--out", "out", "--quiet")
        self.assertEqual(p.returncode, 0, p.stderr)
        with open(os.path.join(cwd, "out", "settlements.jsonl")) as f:
            self.assertGreater(len(f.readlines()), 0)
        # The same outputs as the build's binary (apart from emitted_at).
        ref = os.path.join(cwd, "ref")
        p = subprocess.run([ALLIANCE, "replay", "--topology", os.path.join(SRC, "topologies/spring-alliance.yaml"),
                            "--input", events, "--out", ref, "--quiet"], capture_output=True, text=True)
        self.assertEqual(p.returncode, 0, p.stderr)
        def strip(path):
            with open(path) as f:
                return [re.sub(r',"emitted_at":\d+', "", line) for line in f]
        for name in ("settlements", "partner-balances", "dlq"):
            self.assertEqual(strip(os.path.join(cwd, "out", name + ".jsonl")), strip(os.path.join(ref, name + ".jsonl")))
        p = run("payouts", "--from", "out")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertTrue(p.stdout.startswith("partner_id,currency,amount_minor,reference\n"))


class DebianPackage(unittest.TestCase):
    """cpack -G DEB (under a second): the package's files, unit and Depends."""

    @classmethod
    def setUpClass(cls):
        if not shutil.which("cpack") or not shutil.which("dpkg-deb"):
            raise unittest.SkipTest("cpack or dpkg-deb is missing")
        cls.work = tempfile.mkdtemp(prefix="alliance-deb-")
        p = subprocess.run(["cpack", "-G", "DEB", "--config", os.path.join(BUILD, "CPackConfig.cmake"), "-B", cls.work],
                           capture_output=True, text=True, timeout=300)
        assert p.returncode == 0, p.stdout + p.stderr
        debs = glob.glob(os.path.join(cls.work, "*.deb"))
        assert len(debs) == 1, debs
        cls.deb = debs[0]
        cls.root = os.path.join(cls.work, "root")
        subprocess.run(["dpkg-deb", "-x", cls.deb, cls.root], check=True)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.work, ignore_errors=True)

    def field(self, name):
        return subprocess.run(["dpkg-deb", "-f", self.deb, name], capture_output=True, text=True,
                              check=True).stdout.strip()

    def test_files_under_usr_and_the_unit_names_usr_bin(self):
        self.assertEqual(self.field("Package"), "alliance")
        self.assertEqual(self.field("Version"), project_version())
        for path in ("usr/bin/alliance", "usr/share/alliance/topologies/spring-alliance.yaml",
                     "usr/share/alliance/schemas/settlement-record.schema.json",
                     "usr/share/alliance/grafana/alliance-dashboard.json", "usr/share/alliance/prometheus/alerts.yml"):
            self.assertTrue(os.path.exists(os.path.join(self.root, path)), path)
        lines = unit_lines(os.path.join(self.root, "usr/lib/systemd/system/alliance.service"))
        self.assertTrue(any(l.startswith("ExecStart=/usr/bin/alliance run ") for l in lines), lines)
        p = subprocess.run([os.path.join(self.root, "usr/bin/alliance"), "--version"], capture_output=True, text=True)
        self.assertEqual(p.stdout.strip(), "alliance " + project_version())

    def test_depends_names_the_package_of_every_linked_library(self):
        if not shutil.which("readelf") or not shutil.which("dpkg"):
            self.skipTest("readelf or dpkg is missing")
        depends = {d.strip().split()[0] for d in self.field("Depends").split(",")}
        needed = re.findall(r"\(NEEDED\)\s+Shared library: \[(.+?)\]",
                            subprocess.run(["readelf", "-d", ALLIANCE], capture_output=True, text=True).stdout)
        self.assertTrue(needed)
        for lib in needed:
            paths = glob.glob(f"/usr/lib/x86_64-linux-gnu/{lib}") + glob.glob(f"/lib/x86_64-linux-gnu/{lib}")
            owners = set()
            for path in paths:
                p = subprocess.run(["dpkg", "-S", path], capture_output=True, text=True)
                for line in p.stdout.splitlines() if p.returncode == 0 else []:  # "pkg:amd64, pkg2: /path"
                    owners |= {o.strip().split(":")[0] for o in line.rsplit(": ", 1)[0].split(",")}
            with self.subTest(lib=lib):
                self.assertTrue(owners, f"no package owns {lib}")
                self.assertTrue(owners & depends, f"{lib} comes from {owners}, not in Depends {sorted(depends)}")


if __name__ == "__main__":
    unittest.main(verbosity=2)
