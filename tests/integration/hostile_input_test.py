#!/usr/bin/python3
"""Hostile input (issue 11 item 4) through `alliance replay` and `alliance run`.

Hostile lines are interleaved with a generated stream of good events. Each
hostile line must be dead-lettered with its SPEC §5.4 reason and its original
bytes (the first 64 KiB, with payload_bytes/payload_sha256 above that), the
run must stay within bounded time and memory, and every good event around
them must be processed: the settlement records, final metric records and
statements equal those of a replay of only the good events.

Not dead letters, by design: blank lines of a file are skipped (they are no
message, file_source.cc), and a good event with a CRLF line end is a good
event (JSON allows the trailing \\r as whitespace); the test asserts both.
The Kafka part sends the same hostile messages except the 10 MiB one: the
producer's and broker's message.max.bytes (1 MB by default) refuse it, so
it sends the largest one they take (900 000 bytes) instead, also `oversized`."""
import base64
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
import unittest
from collections import Counter

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from alliance_outputs import finals  # noqa: E402

ALLIANCE = os.environ.get("ALLIANCE_BIN", "build/src/app/alliance")
SRC = os.environ.get("ALLIANCE_SRC", ".")
TOPOLOGY = os.path.join(SRC, "topologies/spring-alliance.yaml")
OUTPUTS = ["settlements", "campaign-metrics", "settlement-statements", "dlq"]
MAX_SECONDS = 60          # a replay of ~3000 events plus the hostile lines
MAX_RSS_MIB = 768         # the 10 MiB line is read whole: a few copies of it at most

CLICK = '{"type":"click","event_id":"%s","ts":1795140000000,"user_id":"hu1","campaign_id":"cmp-spring","source":"social","partner_id":"p-books"'
ORDER = '{"type":"order","event_id":"%s","ts":1795140000000,"user_id":"hu2","order_id":"HX%s","status":"completed","currency":"CNY","amount_minor":%s}'


def hostile(big_bytes):
    """(name, bytes of one message without its line end, SPEC §5.4 reason)."""
    nest = 10000
    return [
        ("10 MiB line", (CLICK % "h-big" + ',"pad":"' + "x" * big_bytes + '"}').encode(), "oversized"),
        ("NUL byte in JSON", (CLICK % "h-nul" + ',"note":"a\x00b"}').encode(), "malformed_json"),
        ("NUL byte in an id", (CLICK % "h-nul\x00id" + "}").encode(), "bad_value:event_id"),
        ("NUL bytes only", b"\x00\x00\x00\x00", "malformed_json"),
        ("invalid UTF-8", (CLICK % "h-utf").encode() + b',"note":"\xff\xfe\xc3"}', "invalid_utf8"),
        ("overlong UTF-8", (CLICK % "h-utf2").encode() + b',"note":"\xc0\xaf"}', "invalid_utf8"),
        ("10000-deep nesting", ("[" * nest + "]" * nest).encode(), "malformed_json"),
        ("10000-deep field", (CLICK % "h-deep" + ',"x":' + '{"a":' * nest + "1" + "}" * nest + "}").encode(),
         "malformed_json"),
        ("amount beyond int64", (ORDER % ("h-i64", "1", "9223372036854775808")).encode(), "bad_amount"),
        ("amount far beyond int64", (ORDER % ("h-i64b", "2", "1" + "0" * 400)).encode(), "bad_amount"),
        ("fractional amount", (ORDER % ("h-frac", "3", "12.5")).encode(), "bad_amount"),
        ("exponent amount", (ORDER % ("h-exp", "4", "1e3")).encode(), "bad_amount"),
        ("timestamp beyond int64", (CLICK.replace("1795140000000", "99999999999999999999") % "h-ts1" + "}").encode(),
         "bad_timestamp"),
        ("timestamp year 10000", (CLICK.replace("1795140000000", '"10000-01-01T00:00:00Z"') % "h-ts2" + "}").encode(),
         "bad_timestamp"),
        ("negative timestamp", (CLICK.replace("1795140000000", "-1") % "h-ts3" + "}").encode(), "bad_timestamp"),
        ("UTF-8 BOM", b"\xef\xbb\xbf" + (CLICK % "h-bom" + "}").encode(), "malformed_json"),
        ("array", b"[1,2,3]", "malformed_json"),
        ("string", b'"click"', "malformed_json"),
        ("number", b"42", "malformed_json"),
        ("null", b"null", "malformed_json"),
    ]


TRUNCATED = (("truncated last line", (CLICK % "h-cut")[:60].encode(), "malformed_json"),)


def generate(work, n=3000, seed=11):
    path = os.path.join(work, "good.jsonl")
    with open(path, "wb") as f:
        subprocess.run([ALLIANCE, "generate", "--topology", TOPOLOGY, "--events", str(n), "--seed", str(seed)],
                       stdout=f, check=True)
    with open(path, "rb") as f:
        return path, f.read().splitlines()


def read_outputs(out):
    got = {}
    for name in OUTPUTS:
        with open(os.path.join(out, name + ".jsonl")) as f:
            got[name] = [json.loads(line) for line in f]
    return got


def timed_replay(work, name, path):
    """Runs `alliance replay` on `path`; returns (outputs, seconds, max RSS MiB)."""
    out = os.path.join(work, name)
    t0 = time.monotonic()
    p = subprocess.run(["/usr/bin/time", "-f", "%M", ALLIANCE, "replay", "--topology", TOPOLOGY, "--input", path,
                        "--out", out, "--quiet"], capture_output=True, text=True, timeout=300)
    seconds = time.monotonic() - t0
    assert p.returncode == 0, p.stderr[-2000:]
    rss_kib = int(p.stderr.strip().splitlines()[-1])
    return read_outputs(out), seconds, rss_kib / 1024


def check_dead_letter(test, dl, raw, reason):
    test.assertEqual(dl["reason"], reason, dl.get("detail"))
    payload = base64.b64decode(dl["payload"])
    if len(raw) <= 64 * 1024:
        test.assertEqual(payload, raw)
    else:
        test.assertEqual(payload, raw[:64 * 1024])
        test.assertEqual(dl["payload_bytes"], len(raw))
        test.assertEqual(dl["payload_sha256"], hashlib.sha256(raw).hexdigest())


def assert_good_events_processed(test, got, want):
    """Settlements, final metrics and statements equal the good-only replay."""
    g, w = finals(got), finals(want)
    for name in ("settlements", "metrics", "statements"):
        test.assertEqual(len(g[name]), len(w[name]), name)
        test.assertEqual(g[name], w[name], name)
    test.assertGreater(len(w["settlements"]), 50)


def match_hostile(test, dlq, cases, good_dlq):
    """Every hostile message is dead-lettered once with its reason; the other
    dead letters are exactly the good stream's own (the generator's)."""
    by_prefix = {}
    for dl in dlq:
        by_prefix.setdefault(base64.b64decode(dl["payload"]), []).append(dl)
    for name, raw, reason in cases:
        key = raw if len(raw) <= 64 * 1024 else raw[:64 * 1024]
        found = by_prefix.get(key, [])
        test.assertEqual(len(found), 1, f"{name}: dead letters {[d['reason'] for d in found]}")
        with test.subTest(case=name):
            check_dead_letter(test, found[0], raw, reason)
    rest = Counter(d["reason"] for d in dlq) - Counter(r for _, _, r in cases)
    test.assertEqual(rest, Counter(d["reason"] for d in good_dlq))


class HostileReplay(unittest.TestCase):
    def test_hostile_lines_are_dead_lettered_and_good_events_processed(self):
        work = tempfile.mkdtemp(prefix="alliance-hostile-")
        good_path, good = generate(work)
        cases = hostile(10 * 1024 * 1024)
        # Spread the hostile lines over the stream; some good lines end in
        # CRLF, blank lines (empty, spaces, a lone CR) sit between them.
        lines, step = [], len(good) // (len(cases) + 1)
        for i, line in enumerate(good):
            lines.append(line + (b"\r" if i % 7 == 3 else b""))
            if i % step == step - 1 and i // step < len(cases):
                lines.append(cases[i // step][1])
            if i % 500 == 250:
                lines += [b"", b"   ", b"\r"]
        hostile_path = os.path.join(work, "hostile.jsonl")
        with open(hostile_path, "wb") as f:
            f.write(b"\n".join(lines) + b"\n" + TRUNCATED[0][1])  # no newline after the cut JSON

        want, _, _ = timed_replay(work, "good-out", good_path)
        got, seconds, rss = timed_replay(work, "hostile-out", hostile_path)
        print(f"hostile replay: {seconds:.1f} s, max RSS {rss:.0f} MiB", file=sys.stderr)
        self.assertLess(seconds, MAX_SECONDS)
        self.assertLess(rss, MAX_RSS_MIB)

        match_hostile(self, got["dlq"], cases + list(TRUNCATED), want["dlq"])
        assert_good_events_processed(self, got, want)


class HostileKafka(unittest.TestCase):
    """The same through a broker and `alliance run` (confluent_kafka produces
    the raw bytes: kcat's line framing cannot carry NUL bytes or newlines)."""

    def test_hostile_messages_are_dead_lettered_and_good_events_processed(self):
        from kafka_e2e_test import INPUTS, KafkaHarness  # noqa: F401 (needs confluent_kafka)
        from confluent_kafka import Producer

        class Harness(KafkaHarness):
            def runTest(self):
                pass
        h = Harness()
        h.setUp()
        try:
            good_path, good = generate(h.work)
            big = 900_000
            cases = hostile(big) + list(TRUNCATED) + [("empty message", b"", "malformed_json")]
            p = Producer({"bootstrap.servers": h.bootstrap, "message.max.bytes": 1_000_000,
                          "linger.ms": 5, "enable.idempotence": False})
            errors = []

            def report(err, _msg):
                if err is not None:
                    errors.append(err)
            step = len(good) // (len(cases) + 1)
            for i, line in enumerate(good):
                e = json.loads(line)
                p.produce(INPUTS[e["type"]], value=line + (b"\r\n" if i % 7 == 3 else b""),
                          key=e["user_id"].encode(), on_delivery=report)
                if i % step == step - 1 and i // step < len(cases):
                    raw = cases[i // step][1]
                    topic = INPUTS["order"] if b'"type":"order"' in raw else INPUTS["click"]
                    p.produce(topic, value=raw, key=b"u-hostile", on_delivery=report)
                p.poll(0)
            self.assertEqual(p.flush(60), 0)
            self.assertEqual(errors, [])
            del p  # closed before the broker stops

            t0 = time.monotonic()
            run = subprocess.run(["/usr/bin/time", "-f", "%M", ALLIANCE, "run", "--topology", TOPOLOGY,
                                  "--bootstrap", h.bootstrap, "--group", "hostile",
                                  "--state", os.path.join(h.work, "state"), "--metrics", "",
                                  "--stop-when-idle", "4000", "--session-timeout", "6000"],
                                 capture_output=True, text=True, timeout=300)
            seconds = time.monotonic() - t0
            self.assertEqual(run.returncode, 0, run.stderr[-2000:])
            rss = int(run.stderr.strip().splitlines()[-1]) / 1024
            print(f"hostile run: {seconds:.1f} s, max RSS {rss:.0f} MiB", file=sys.stderr)
            self.assertLess(seconds, 120)
            self.assertLess(rss, MAX_RSS_MIB)

            got = h.consume_all("hostile-reader")
            want, _, _ = timed_replay(h.work, "good-out", good_path)
            match_hostile(self, got["dlq"], cases, want["dlq"])
            assert_good_events_processed(self, got, want)
        finally:
            h.tearDown()


if __name__ == "__main__":
    unittest.main(verbosity=2)
