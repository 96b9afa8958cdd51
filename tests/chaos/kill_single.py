#!/usr/bin/python3
"""Chaos: one `alliance run`, kill -9 at seeded random moments, restarted
each time, while the input keeps arriving (a backlog first, then a steady
stream). Half the kills land at a random time after the process started
(joining the group, restoring, processing the backlog), half at a random time
after it was assigned its partition (processing). At the end one life runs
to completion (exit 0) and the verifier checks every output against the
input and a clean replay.

  tests/chaos/kill_single.py            # short: 6 kills (CI)
  tests/chaos/kill_single.py --long     # 25 kills
"""
import argparse
import random
import sys
import time

import chaoslib as c


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--long", action="store_true")
    ap.add_argument("--kills", type=int)
    ap.add_argument("--seed", type=int, default=1101)
    a = ap.parse_args()
    kills_wanted = a.kills or (25 if a.long else 6)
    rng = random.Random(a.seed)
    work = c.Work("kill-single")
    c.log(f"kill_single: {kills_wanted} kills, seed {a.seed}, work {work.dir}")
    # ~8 s per life: 6 s for the group to drop the killed member, then work.
    # ~12 s of stream per kill; at most 24 000 lines, which the mock broker's
    # retention holds on one partition (inputs and outputs).
    rate = 80
    n = int(min(24000, max(6000, kills_wanted * 12 * rate)))
    events, lines = c.generate(work, n, a.seed)
    broker = c.Broker(work, partitions=1)
    try:
        prod = c.Producer(broker.bootstrap)
        backlog = len(lines) // 4
        prod.produce(lines[:backlog])
        prod.start_stream(lines[backlog:], rate)
        inst = c.Instance(work, "a", broker.bootstrap, extra=["--idle-wait", "3000"])
        kills = 0
        early_exits = 0
        while kills < kills_wanted:
            inst.start()
            if rng.random() < 0.5:
                time.sleep(rng.uniform(0.1, 7.0))
                when = "after start"
            else:
                if not inst.wait_for("assigned", 30):
                    raise c.Failure(f"life {inst.lives} was never assigned a partition; log {inst.log_path}")
                time.sleep(rng.uniform(0.0, 2.5))
                when = "while processing"
            if inst.kill9():
                kills += 1
                c.log(f"kill -9 #{kills} ({when}, {prod.sent} of {len(lines)} produced)")
            else:
                early_exits += 1
                rc = inst.proc.returncode
                c.check(rc == 0, f"life {inst.lives} exited {rc}; log {inst.log_path}")
                c.check(prod.streaming(), "the input ended before all kills landed: make it larger")
        prod.join(timeout=600)
        c.log(f"input complete ({prod.sent} lines); last life runs to the end")
        inst.start()
        rc = inst.wait(timeout=300)
        c.check(rc == 0, f"the last life exited {rc}; log {inst.log_path}")
        last = inst.life_log()
        c.check("committed outputs are not acknowledged yet" not in last, "the last life left outputs in the outbox")
        fig = c.verify(work, events, broker.bootstrap, "kill_single")
        fig.update(scenario="kill_single", kills=kills, lives=inst.lives, seed=a.seed)
        c.record_figures(fig)
        c.check(fig["settlement_records"] > 200, "too few settlement records to mean anything")
        c.log(f"PASSED kill_single: {kills} kills, {inst.lives} lives, {fig['settlement_records']} settlement records")
        work.cleanup()
        return 0
    finally:
        broker.stop()


if __name__ == "__main__":
    sys.exit(c.main_wrapper(main))
