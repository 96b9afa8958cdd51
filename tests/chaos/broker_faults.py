#!/usr/bin/python3
"""Chaos: the broker gets slow, then goes away, while `alliance run`
processes a backlog and a steady stream. Through `alliance broker`'s stdin:
`rtt <ms>` (every response delayed) for a while, then `down` for ~10 s, then
`up` and `rtt 0`. During the outage /readyz must answer 503 and say why
("broker trouble: ..."); afterwards the run must become ready again by
itself, keep processing, finish with exit 0, and the verifier must find
nothing lost. The producer of the input sees the same outage (its flush
waits for the broker), as a real one would.

  tests/chaos/broker_faults.py            # short: 10 s slow, 1 outage (CI)
  tests/chaos/broker_faults.py --long     # 30 s slow, 3 outages
"""
import argparse
import random
import sys
import time
import urllib.request

import chaoslib as c


def events_total(inst):
    """alliance_events_total summed over its labels, from /metrics."""
    try:
        text = urllib.request.urlopen(f"http://127.0.0.1:{inst.port}/metrics", timeout=3).read().decode()
    except OSError:
        return None
    return sum(float(l.split()[-1]) for l in text.splitlines() if l.startswith("alliance_events_total{"))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--long", action="store_true")
    ap.add_argument("--seed", type=int, default=4404)
    a = ap.parse_args()
    rng = random.Random(a.seed)
    slow_s, outages, rtt_ms = (30, 3, 300) if a.long else (10, 1, 300)
    work = c.Work("broker")
    c.log(f"broker_faults: rtt {rtt_ms} ms for {slow_s} s, {outages} outage(s) of ~10 s, seed {a.seed}, work {work.dir}")
    # The stream lasts through the faults (slow, each outage ~10 s plus the
    # way back to ready, gaps between) and a little after.
    rate, backlog = 120, 2000
    n = backlog + rate * (5 + slow_s + outages * 32 + 10)
    events, lines = c.generate(work, n, a.seed)
    broker = c.Broker(work, partitions=1)
    prod = None
    try:
        prod = c.Producer(broker.bootstrap)
        prod.produce(lines[:backlog])
        prod.start_stream(lines[backlog:], rate)
        # A long idle stop: the outages must not end the bounded run.
        inst = c.Instance(work, "a", broker.bootstrap, idle_ms=15000, metrics=True,
                          extra=["--idle-wait", "3000"]).start()
        c.check(inst.wait_for("assigned", 40), f"never assigned; log {inst.log_path}")
        time.sleep(rng.uniform(1.0, 3.0))

        before = events_total(inst)
        broker.cmd(f"rtt {rtt_ms}")
        c.log(f"broker slow (rtt {rtt_ms} ms); {before:.0f} events processed so far")
        time.sleep(slow_s)
        during = events_total(inst)
        c.check(during is not None and during > before,
                f"no progress while the broker was slow ({before} -> {during} events)")
        c.log(f"while slow: {during - before:.0f} events processed in {slow_s} s")

        reasons = []
        for k in range(outages):
            broker.cmd("down")
            down_s = rng.uniform(9.0, 11.0)
            c.log(f"broker down #{k + 1} for {down_s:.1f} s")
            t_end = time.time() + down_s
            seen_503 = None
            while time.time() < t_end:
                status, body = inst.readyz()
                if status == 503 and "broker trouble" in body:
                    seen_503 = body.strip()
                time.sleep(0.5)
            c.check(inst.alive(), f"the run exited during the outage ({inst.proc.returncode}); log {inst.log_path}")
            c.check(seen_503 is not None, "/readyz never said 'not ready: broker trouble' during the outage")
            reasons.append(seen_503)
            c.log(f"/readyz during the outage: {seen_503[:140]}")
            broker.cmd("up")
            t0 = time.time()
            while time.time() - t0 < 60:
                status, body = inst.readyz()
                if status == 200:
                    break
                time.sleep(0.5)
            c.check(status == 200, f"not ready 60 s after the broker came back: {body.strip()}")
            c.log(f"ready again {time.time() - t0:.1f} s after the broker came back")
            if k + 1 < outages:
                time.sleep(rng.uniform(3.0, 8.0))
        broker.cmd("rtt 0")
        after = events_total(inst)
        prod.join(timeout=900)
        rc = inst.wait(timeout=400)
        c.check(rc == 0, f"exit {rc}; log {inst.log_path}")
        c.check("committed outputs are not acknowledged yet" not in inst.life_log(), "outputs left in the outbox")
        c.check("broker trouble" in inst.log_text(), "the run never logged the broker trouble")
        fig = c.verify(work, events, broker.bootstrap, "broker_faults")
        fig.update(scenario="broker_faults", outages=outages, slow_seconds=slow_s, rtt_ms=rtt_ms, seed=a.seed,
                   readyz_during_outage=reasons[0][:200])
        c.record_figures(fig)
        c.check(fig["settlement_records"] > 200, "too few settlement records to mean anything")
        c.log(f"PASSED broker_faults ({after:.0f} events processed by the end of the faults)")
        work.cleanup()
        return 0
    finally:
        prod = None
        broker.stop()


if __name__ == "__main__":
    sys.exit(c.main_wrapper(main))
