#!/usr/bin/python3
"""Chaos: inputs with 3 partitions, two `alliance run` instances in one
consumer group (two stages behind the repartition topic). Instance B is
kill -9'd at seeded random moments and restarted, sometimes at once (the
group rebalances when B rejoins), sometimes after the session timeout (A
takes every partition and restores B's state from the changelog), so
partitions and their state move back and forth between A and B while input
keeps arriving. At the end both run to completion (exit 0) and the verifier
checks every output against the input and a clean replay.

  tests/chaos/kill_group.py            # short: 4 kills (CI)
  tests/chaos/kill_group.py --long     # 20 kills
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
    ap.add_argument("--seed", type=int, default=2202)
    a = ap.parse_args()
    kills_wanted = a.kills or (20 if a.long else 4)
    rng = random.Random(a.seed)
    work = c.Work("kill-group")
    c.log(f"kill_group: {kills_wanted} kills of B, seed {a.seed}, work {work.dir}")
    rate = 150
    n = int(min(60000, max(8000, kills_wanted * 16 * rate)))
    events, lines = c.generate(work, n, a.seed)
    broker = c.Broker(work, partitions=3)
    prod = None
    try:
        prod = c.Producer(broker.bootstrap)
        backlog = len(lines) // 5
        prod.produce(lines[:backlog])
        common = dict(group="chaos-group", idle_ms=8000, extra=["--idle-wait", "3000"])
        inst_a = c.Instance(work, "a", broker.bootstrap, **common).start()
        inst_b = c.Instance(work, "b", broker.bootstrap, **common).start()
        c.check(inst_a.wait_for("assigned", 40) and inst_b.wait_for("assigned", 40), "the group never split")
        prod.start_stream(lines[backlog:], rate)
        kills = 0
        moved = 0
        while kills < kills_wanted:
            c.check(inst_a.alive(), f"instance A exited ({inst_a.proc.returncode}); log {inst_a.log_path}")
            if rng.random() < 0.5:
                time.sleep(rng.uniform(0.2, 6.0))  # joining, restoring or processing
                when = "any time"
            else:
                if not inst_b.wait_for("assigned", 40):
                    raise c.Failure(f"B life {inst_b.lives} was never assigned; log {inst_b.log_path}")
                time.sleep(rng.uniform(0.0, 3.0))
                when = "after assignment"
            c.check(inst_b.kill9(), f"B exited by itself ({inst_b.proc.returncode}); log {inst_b.log_path}")
            kills += 1
            # Away past the session timeout: A takes B's partitions (restore from the changelog).
            away = rng.choice([rng.uniform(0.0, 2.0), rng.uniform(7.0, 12.0)])
            moved += away > 6.5
            c.log(f"kill -9 B #{kills} ({when}); B away {away:.1f} s; {prod.sent} of {len(lines)} produced")
            time.sleep(away)
            c.check(kills == kills_wanted or prod.streaming(), "the input ended before all kills landed: make it larger")
            inst_b.start()
        prod.join(timeout=900)
        c.log(f"input complete ({prod.sent} lines); A and B run to the end")
        rc_b = inst_b.wait(timeout=400)
        rc_a = inst_a.wait(timeout=200)
        c.check(rc_a == 0 and rc_b == 0, f"exit codes A {rc_a}, B {rc_b}; logs {inst_a.log_path} {inst_b.log_path}")
        logs = inst_a.log_text() + inst_b.log_text()
        restored = logs.count("restored")
        c.check(restored > 0, "no partition was ever restored from the changelog: the scenario did not move state")
        for inst in (inst_a, inst_b):
            c.check("committed outputs are not acknowledged yet" not in inst.life_log(), f"{inst.name} left outputs in the outbox")
            c.check("stage 2 did not hear" not in inst.life_log(), f"{inst.name}: stage 2 incomplete")
        fig = c.verify(work, events, broker.bootstrap, "kill_group")
        fig.update(scenario="kill_group", kills=kills, lives_b=inst_b.lives, restores=restored,
                   b_away_past_session_timeout=moved, seed=a.seed)
        c.record_figures(fig)
        c.check(fig["settlement_records"] > 200, "too few settlement records to mean anything")
        c.log(f"PASSED kill_group: {kills} kills, {restored} restores from the changelog, "
              f"{fig['settlement_records']} settlement records")
        work.cleanup()
        return 0
    finally:
        prod = None
        broker.stop()


if __name__ == "__main__":
    sys.exit(c.main_wrapper(main))
