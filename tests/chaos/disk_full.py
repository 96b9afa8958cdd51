#!/usr/bin/python3
"""Chaos: the state directory's disk fills up, and unusable state directories.

1. `alliance run` keeps its state on a small tmpfs (mounted here; skipped
   with exit 77 when mounting is not permitted) and processes a backlog
   until the disk is full. It must stop with exit 2 and a message naming
   the state path, "No space left on device" and the fix.
2. No committed offset without durable effects: the consumer group's
   committed input offsets are read after the failure; every settlement
   record and dead letter that a clean replay of exactly the input below
   those offsets produces must already be on the output topics.
3. Space returns (the tmpfs is remounted larger): a restart on the same state
   directory finishes with exit 0 and the verifier finds nothing lost.
4. A foreign directory, another topology's state and a corrupt store each
   stop `alliance run` with exit 2 and a message naming the path and the fix.

  tests/chaos/disk_full.py            # short (CI)
  tests/chaos/disk_full.py --long     # the same with 3 fill-ups in a row
"""
import argparse
import base64
import hashlib
import json
import os
import shutil
import subprocess
import sys

import chaoslib as c
import verify as v


def committed_offsets(bootstrap, group, topics):
    from confluent_kafka import Consumer, TopicPartition
    cons = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "enable.auto.commit": False, "log_level": 3})
    got = cons.committed([TopicPartition(t, 0) for t in topics], timeout=30)
    cons.close()
    return {tp.topic: max(tp.offset, 0) for tp in got}


def prefix_lines(lines, offsets):
    """The input lines below the committed offsets, in file order (each topic
    holds its lines in file order: one producer, idempotent)."""
    seen, out = {}, []
    for line in lines:
        topic, _ = c.route(line)
        i = seen.get(topic, 0)
        seen[topic] = i + 1
        if i < offsets.get(topic, 0):
            out.append(line)
    return out


def check_nothing_committed_early(work, lines, bootstrap, label):
    offsets = committed_offsets(bootstrap, "chaos", list(c.INPUTS.values()))
    below = prefix_lines(lines, offsets)
    c.check(len(below) > 0, f"{label}: nothing was committed before the disk filled up: the check would be empty "
            "(make the tmpfs larger)")
    prefix = work.path(f"prefix-{label}.jsonl")
    with open(prefix, "wb") as f:
        f.write(b"\n".join(below) + b"\n")
    ref = work.path(f"prefix-ref-{label}")
    subprocess.run([c.ALLIANCE, "replay", "--topology", c.TOPOLOGY, "--input", prefix, "--out", ref, "--quiet"],
                   check=True)
    rep = v.Report()
    want = v.read_dir(ref, rep)
    got = v.read_kafka(bootstrap, v.read_topology(c.TOPOLOGY), rep)
    c.check(rep.total() == 0, f"{label}: cannot read the outputs: {dict(rep.counts)}")
    have_ids = {r["record_id"] for r in got["settlements"]}
    missing = [r["record_id"] for r in want["settlements"] if r["record_id"] not in have_ids]
    c.check(not missing, f"{label}: input offsets {offsets} were committed but {len(missing)} of their settlement "
            f"records are not on the topic (e.g. {missing[:3]})")
    have_dlq = {r.get("payload_sha256") for r in got["dlq"]}
    missing_dlq = [r["reason"] for r in want["dlq"] if r.get("payload_sha256") not in have_dlq]
    c.check(not missing_dlq, f"{label}: committed offsets but {len(missing_dlq)} dead letters missing")
    c.log(f"{label}: committed offsets {offsets} ({len(below)} input lines): all {len(want['settlements'])} "
          f"settlement records and {len(want['dlq'])} dead letters of that input are on the topics")
    return len(below), len(want["settlements"])


def expect_refusal(work, bootstrap, state, what, must):
    p = subprocess.run([c.ALLIANCE, "run", "--topology", c.TOPOLOGY, "--bootstrap", bootstrap, "--group",
                        f"chaos-refuse-{what}", "--state", state, "--metrics", "", "--session-timeout", "6000",
                        "--stop-when-idle", "3000"], capture_output=True, text=True, timeout=120)
    c.check(p.returncode == 2, f"{what}: exit {p.returncode}, not 2; stderr: {p.stderr[-1500:]}")
    line = [l for l in p.stderr.splitlines() if "state" in l and os.path.join(state, "p-0") in l]
    c.check(line, f"{what}: no error line names {state}/p-0; stderr: {p.stderr[-1500:]}")
    for m in must:
        c.check(m in line[-1], f"{what}: the error does not say '{m}': {line[-1]}")
    c.log(f"{what}: exit 2: {line[-1][:220]}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--long", action="store_true")
    ap.add_argument("--seed", type=int, default=5505)
    ap.add_argument("--size-mb", type=int, default=8)
    a = ap.parse_args()
    fills = 3 if a.long else 1
    work = c.Work("disk")
    tiny = work.path("tiny")
    os.makedirs(tiny)
    mnt = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={a.size_mb}m", "tmpfs", tiny], capture_output=True, text=True)
    if mnt.returncode != 0:
        c.log(f"SKIPPED disk_full: cannot mount a tmpfs here ({mnt.stderr.strip()}); needs root or CAP_SYS_ADMIN")
        work.cleanup()
        return 77
    broker = None
    passed = False
    try:
        events, lines = c.generate(work, 24000, a.seed)
        broker = c.Broker(work, partitions=1)
        prod = c.Producer(broker.bootstrap)
        # A steady stream once the run owns its partition, so it commits many
        # small cycles before the disk is full (the WAL takes ~1 KB per event).
        prod.produce(lines[:500])
        state = os.path.join(tiny, "state")
        # The stream is produced live, topic by topic in the producer's batches:
        # like the other scenarios, let the event-time merge wait for a lagging
        # input (docs/KAFKA.md, limits), so the committed prefix is processed in
        # the order a replay of it uses.
        inst = c.Instance(work, "a", broker.bootstrap, idle_ms=4000, state=state, extra=["--idle-wait", "3000"])
        checked_lines = checked_records = 0
        size_mb = a.size_mb
        for k in range(fills):
            inst.start()
            if k == 0:
                c.check(inst.wait_for("assigned", 60), f"never assigned; log {inst.log_path}")
                prod.start_stream(lines[500:], 1500)
            rc = inst.wait(timeout=300)
            life = inst.life_log()
            c.check(rc == 2, f"fill-up {k + 1}: exit {rc}, expected 2 (disk full); log {inst.log_path}. "
                    "If it finished, the tmpfs is too large for this input.")
            c.check("No space left on device" in life or "IO error" in life,
                    f"fill-up {k + 1}: no disk-full error in the log {inst.log_path}")
            c.check("Free disk space and restart" in life, f"fill-up {k + 1}: the error does not say the fix")
            c.check(state in life, f"fill-up {k + 1}: the error does not name the state path")
            c.log(f"fill-up {k + 1}: exit 2: " +
                  next(l for l in life.splitlines() if "Free disk space" in l)[:200])
            n_lines, n_recs = check_nothing_committed_early(work, lines, broker.bootstrap, f"fill{k + 1}")
            checked_lines, checked_records = n_lines, n_recs
            size_mb += 2 if k + 1 < fills else 200  # a little more room, then plenty
            subprocess.run(["mount", "-o", f"remount,size={size_mb}m", tiny], check=True)
        prod.join(timeout=300)
        prod = None
        inst.start()
        rc = inst.wait(timeout=300)
        c.check(rc == 0, f"after space returned: exit {rc}; log {inst.log_path}")
        fig = c.verify(work, events, broker.bootstrap, "disk_full")
        fig.update(scenario="disk_full", fill_ups=fills, committed_prefix_lines=checked_lines,
                   committed_prefix_settlements=checked_records, seed=a.seed)

        # Unusable state directories.
        foreign = work.path("foreign")
        os.makedirs(os.path.join(foreign, "p-0"))
        with open(os.path.join(foreign, "p-0", "notes.txt"), "w") as f:
            f.write("not a database\n")
        expect_refusal(work, broker.bootstrap, foreign, "foreign directory",
                       ["not an alliance state directory", "--state"])
        other = work.path("other-topology")
        subprocess.run([c.ALLIANCE, "replay", "--topology", os.path.join(c.SRC, "topologies/mta-july-2018.yaml"),
                        "--input", events, "--out", work.path("other-out"), "--state", os.path.join(other, "p-0"),
                        "--quiet"], check=True, capture_output=True)
        expect_refusal(work, broker.bootstrap, other, "another topology's state",
                       ["written by topology", "new --state directory"])
        corrupt = work.path("corrupt")
        shutil.copytree(state, corrupt)
        manifests = [f for f in os.listdir(os.path.join(corrupt, "p-0")) if f.startswith("MANIFEST-")]
        c.check(manifests, "no MANIFEST in the state store")
        for m in manifests:
            with open(os.path.join(corrupt, "p-0", m), "r+b") as f:
                f.seek(0)
                f.write(b"\xde\xad\xbe\xef" * 64)
        expect_refusal(work, broker.bootstrap, corrupt, "corrupt store", ["corrupt", "move"])
        c.record_figures(fig)
        c.log(f"PASSED disk_full: {fills} fill-up(s), resumed after space returned; "
              f"{fig['settlement_records']} settlement records")
        passed = True
        return 0
    finally:
        if broker:
            broker.stop()
        subprocess.run(["umount", tiny], capture_output=True)
        if os.path.ismount(tiny):
            c.log(f"could not unmount {tiny}")
        elif passed:
            work.cleanup()
        else:
            c.log(f"kept {work.dir}")


if __name__ == "__main__":
    sys.exit(c.main_wrapper(main))
