#!/usr/bin/python3
"""One exit-code table for every `alliance` command (issue 20 item 14, the
README's "Exit codes"): 0 did what was asked, 1 failed while running for a
reason outside the command line and its files, 2 cannot do what was asked
(usage, topology, input, state, disk, listen address, topics). Every command
names a misspelled option, with the one meant, before it starts anything."""
import os
import re
import socket
import subprocess
import tempfile
import unittest
from testprocs import free_port  # noqa: E402

ALLIANCE = os.environ.get("ALLIANCE_BIN", "build/src/app/alliance")
SRC = os.environ.get("ALLIANCE_SRC", ".")
TOPOLOGY = os.path.join(SRC, "topologies/spring-alliance.yaml")
SAMPLE = os.path.join(SRC, "tests/data/sample-events.jsonl")
COMMANDS = ["replay", "generate", "run", "broker", "demo", "dashboard", "payouts"]


def run(*args, **kw):
    # A command that started by mistake (a broker, a dashboard) would hang: the timeout fails the test.
    kw.setdefault("stdout", subprocess.PIPE)
    kw.setdefault("stderr", subprocess.PIPE)
    return subprocess.run([ALLIANCE, *args], text=True, timeout=30, **kw)


def commands_in_help():
    p = run("--help")
    assert p.returncode == 0, p.stderr
    section = p.stdout.split("Subcommands:", 1)[1]
    return [line.split()[0] for line in section.splitlines() if line.startswith("  ") and line.split()]


class MisspelledOptions(unittest.TestCase):
    def test_the_commands_are_the_ones_checked_here(self):
        self.assertEqual(commands_in_help(), COMMANDS)

    def check_named(self, p, usage, typed, meant):
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertEqual(p.stdout, "")
        self.assertEqual(p.stderr.count("\n"), 1, p.stderr)  # one line
        self.assertIn(f"unknown option {typed} for `{usage}`; did you mean {meant}?", p.stderr)

    def test_every_command_names_a_misspelled_flag(self):
        # Before a valid option, after one, and as --option=value.
        other = {"replay": ("--ouput", "--out"), "generate": ("--evnets=3", "--events"),
                 "run": ("--bootstrp=127.0.0.1:9", "--bootstrap"), "broker": ("--partitons", "--partitions"),
                 "demo": ("--dashbaord", "--dashboard"), "dashboard": ("--lisen", "--listen"),
                 "payouts": ("--form", "--from")}
        self.assertEqual(sorted(other), sorted(COMMANDS))
        for cmd in COMMANDS:
            with self.subTest(cmd=cmd):
                self.check_named(run(cmd, "--toplogy", TOPOLOGY), f"alliance {cmd}", "--toplogy", "--topology")
                typed, meant = other[cmd]
                self.check_named(run(cmd, "--topology", TOPOLOGY, typed, "x"), f"alliance {cmd}", typed.split("=")[0],
                                 meant)

    def test_a_misspelled_top_level_option(self):
        self.check_named(run("--versoin"), "alliance", "--versoin", "--version")

    def test_an_option_like_no_other_lists_the_options(self):
        p = run("payouts", "--frobnicate")
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertIn("unknown option --frobnicate for `alliance payouts`", p.stderr)
        for opt in ("--from", "--bootstrap", "--topology", "--timeout"):
            self.assertIn(opt, p.stderr)

    def test_values_are_not_options(self):
        out = tempfile.mkdtemp(prefix="alliance-cli-")
        p = run("replay", "--topology", TOPOLOGY, "--input", SAMPLE, "--out", out, "--quiet", "--emit=final",
                "--batch", "500")
        self.assertEqual(p.returncode, 0, p.stderr)
        p = run("generate", "--topology", TOPOLOGY, "--events", "2", "--seed", "7", "-h")
        self.assertEqual(p.returncode, 0, p.stderr)


class ExitCodes(unittest.TestCase):
    def test_the_readme_table(self):
        with open(os.path.join(SRC, "README.md")) as f:
            text = f.read()
        m = re.search(r"<!-- exit-codes -->\n((?:\|.*\n)+)", text)
        self.assertTrue(m, "README.md has no exit-codes table")
        rows = [[c.strip() for c in line.split("|")[1:-1]] for line in m.group(1).strip().splitlines()[2:]]
        self.assertEqual([r[0] for r in rows], ["0", "1", "2"])
        section = text[text.index("### Exit codes"):m.end()]
        for cmd in COMMANDS:
            self.assertIn(f"`{cmd}`", section)

    def test_help_and_version_are_0(self):
        self.assertEqual(run("--version").returncode, 0)
        for cmd in COMMANDS:
            with self.subTest(cmd=cmd):
                p = run(cmd, "--help")
                self.assertEqual(p.returncode, 0, p.stderr)
                self.assertIn("--topology", p.stdout)

    def check(self, p, code, *words):
        self.assertEqual(p.returncode, code, p.stderr)
        for w in words:
            self.assertIn(w, p.stderr)

    def test_a_missing_topology_is_2_for_every_command(self):
        missing = "/nonexistent/topology.yaml"
        extra = {"replay": ["--input", SAMPLE, "--out", "/tmp/never"], "run": ["--bootstrap", "127.0.0.1:9"],
                 "dashboard": ["--bootstrap", "127.0.0.1:9"], "payouts": ["--bootstrap", "127.0.0.1:9"]}
        for cmd in COMMANDS:
            with self.subTest(cmd=cmd):
                self.check(run(cmd, "--topology", missing, *extra.get(cmd, [])), 2, missing)

    def test_input_errors_are_2(self):
        self.check(run("replay", "--topology", TOPOLOGY, "--input", "/nonexistent/events.jsonl", "--out", "/tmp/x"),
                   2, "/nonexistent/events.jsonl")
        self.check(run("payouts", "--from", "/nonexistent"), 2, "/nonexistent/partner-balances.jsonl")
        bad = tempfile.mkdtemp(prefix="alliance-cli-")
        with open(os.path.join(bad, "partner-balances.jsonl"), "w") as f:
            f.write('{"partner_id": "p"}\n')
        self.check(run("payouts", "--from", bad), 2, "partner-balances.jsonl:1")
        self.check(run("payouts", "--from", bad, "--bootstrap", "127.0.0.1:9"), 2, "--from", "--bootstrap")

    def test_output_errors_are_2(self):
        with open("/dev/full", "w") as full:
            self.check(run("generate", "--topology", TOPOLOGY, "--events", "100", stdout=full), 2, "stdout")
        self.check(run("broker", "--topology", TOPOLOGY, "--bootstrap-file", "/nonexistent/dir/boot"), 2,
                   "--bootstrap-file", "/nonexistent/dir/boot")

    def test_a_listen_address_in_use_is_2(self):
        with socket.socket() as taken:
            taken.bind(("127.0.0.1", 0))
            taken.listen()
            addr = "127.0.0.1:%d" % taken.getsockname()[1]
            self.check(run("dashboard", "--topology", TOPOLOGY, "--bootstrap", f"127.0.0.1:{free_port()}",
                           "--listen", addr), 2, addr)
            self.check(run("run", "--topology", TOPOLOGY, "--bootstrap", f"127.0.0.1:{free_port()}", "--metrics", addr,
                           "--state", tempfile.mkdtemp(prefix="alliance-cli-")), 2, addr)

    def test_kafka_out_of_reach_is_1(self):
        self.check(run("payouts", "--topology", TOPOLOGY, "--bootstrap", f"127.0.0.1:{free_port()}", "--timeout",
                       "1500"), 1, "alliance payouts")


if __name__ == "__main__":
    unittest.main(verbosity=2)
