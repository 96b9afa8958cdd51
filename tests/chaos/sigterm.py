#!/usr/bin/python3
"""Chaos: SIGTERM during processing. `alliance run` gets SIGTERM at a seeded
random moment while it processes a backlog and a steady stream; each time it
must stop cleanly within 30 s with exit 0, say "stopped cleanly", and leave
no unacknowledged output in its outbox. Restarted each time; the last life
runs to the end and the verifier checks that nothing was lost.

  tests/chaos/sigterm.py            # short: 3 stops (CI)
  tests/chaos/sigterm.py --long     # 10 stops
"""
import argparse
import random
import signal
import sys
import time

import chaoslib as c


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--long", action="store_true")
    ap.add_argument("--stops", type=int)
    ap.add_argument("--seed", type=int, default=3303)
    a = ap.parse_args()
    stops_wanted = a.stops or (10 if a.long else 3)
    rng = random.Random(a.seed)
    work = c.Work("sigterm")
    c.log(f"sigterm: {stops_wanted} stops, seed {a.seed}, work {work.dir}")
    rate = 150
    # ~7 s of stream per stop (join, run, stop), and some to spare.
    n = int(min(24000, max(5000, stops_wanted * 10 * rate)))
    events, lines = c.generate(work, n, a.seed)
    broker = c.Broker(work, partitions=1)
    prod = None
    try:
        prod = c.Producer(broker.bootstrap)
        backlog = len(lines) // 3
        prod.produce(lines[:backlog])
        prod.start_stream(lines[backlog:], rate)
        inst = c.Instance(work, "a", broker.bootstrap, extra=["--idle-wait", "3000"])
        stops = 0
        stop_seconds = []
        while stops < stops_wanted:
            inst.start()
            c.check(inst.wait_for("assigned", 40), f"life {inst.lives} never assigned; log {inst.log_path}")
            time.sleep(rng.uniform(0.0, 2.0))
            c.check(inst.alive(), f"life {inst.lives} exited early ({inst.proc.returncode}); log {inst.log_path}")
            t0 = time.time()
            inst.signal(signal.SIGTERM)
            rc = inst.wait(timeout=30)
            took = time.time() - t0
            stop_seconds.append(took)
            life = inst.life_log()
            c.check(rc == 0, f"SIGTERM: exit {rc}, not 0; log {inst.log_path}")
            c.check("stopped cleanly" in life, f"SIGTERM: no 'stopped cleanly'; log {inst.log_path}")
            c.check("committed outputs are not acknowledged yet" not in life, f"SIGTERM left outputs in the outbox; log {inst.log_path}")
            stops += 1
            c.log(f"SIGTERM #{stops}: exit 0 after {took:.2f} s, outbox empty ({prod.sent} of {len(lines)} produced)")
            c.check(stops == stops_wanted or prod.streaming(), "the input ended before all stops landed: make it larger")
        prod.join(timeout=600)
        inst.start()
        rc = inst.wait(timeout=300)
        c.check(rc == 0, f"the last life exited {rc}; log {inst.log_path}")
        fig = c.verify(work, events, broker.bootstrap, "sigterm")
        fig.update(scenario="sigterm", stops=stops, max_stop_seconds=round(max(stop_seconds), 2), seed=a.seed)
        c.record_figures(fig)
        c.check(fig["settlement_records"] > 100, "too few settlement records to mean anything")
        c.log(f"PASSED sigterm: {stops} clean stops (slowest {max(stop_seconds):.2f} s)")
        work.cleanup()
        return 0
    finally:
        prod = None
        broker.stop()


if __name__ == "__main__":
    sys.exit(c.main_wrapper(main))
