#!/usr/bin/python3
"""The soak's sampler (bench/soak.sh, docs/SOAK.md): every 10 s from the
soak's start it scrapes the run's /metrics, reads the RSS and CPU of the
soak's processes from /proc, and sums the state directory's size on disk;
it writes one row per 10-second window to a CSV as it goes (rates and ratios
over the window, sizes at its end, lags the largest of scrapes every 2 s). Owns nothing else: the report joins its
rows with the producer's and the latency probe's."""
import argparse
import csv
import os
import re
import sys
import time
import urllib.request

WINDOW_S = 10
MB = 1024 * 1024
COLUMNS = ["window", "t_s", "rss_mb", "rss_broker_mb", "lag_records", "lag_s", "consumed_per_s", "cycles_per_s",
           "cycle_events", "cycle_ms", "state_cache_mb", "store_reads_per_event", "block_cache_hit_ratio",
           "block_cache_lookups_per_s", "memtable_mb", "block_cache_mb", "sst_mb", "pending_compaction_mb",
           "stall_s", "write_stopped", "delayed_write_mbs", "state_disk_mb", "dlq_per_s",
           "cpu_run_pct", "cpu_broker_pct", "cpu_producer_pct", "cpu_probe_pct", "cpu_host_pct"]
LINE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)')
LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')
TICK = os.sysconf("SC_CLK_TCK")


def scrape(url):
    """{family: [(labels dict, value)]} of a Prometheus text page."""
    with urllib.request.urlopen(url, timeout=5) as r:
        text = r.read().decode()
    out = {}
    for line in text.splitlines():
        m = LINE.match(line)
        if not m or line.startswith("#"):
            continue
        out.setdefault(m.group(1), []).append((dict(LABEL.findall(m.group(2) or "")), float(m.group(3))))
    return out


def total(page, name, keep=lambda labels: True):
    return sum(v for labels, v in page.get(name, []) if keep(labels))


def biggest(page, name, keep=lambda labels: True):
    return max((v for labels, v in page.get(name, []) if keep(labels)), default=0.0)


def rss_bytes(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise OSError(f"no VmRSS for {pid}")


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK  # utime, stime


def host_cpu_seconds():
    """CPU seconds every process of the machine used (all cores, /proc/stat; not idle or iowait)."""
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    return (sum(fields[:8]) - fields[3] - fields[4]) / TICK


def disk_bytes(path):
    """Bytes the directory's files take on disk (du), files vanishing meanwhile skipped."""
    n = 0
    for root, dirs, files in os.walk(path):
        for name in files:
            try:
                n += os.lstat(os.path.join(root, name)).st_blocks * 512
            except FileNotFoundError:
                pass
    return n


class CpuWatch:
    """CPU seconds of a process read every second, so a process that ends
    within a window still has its CPU share of that window."""

    def __init__(self, pid):
        self.pid, self.last = pid, None  # (wall time, cpu seconds)
        self.poll()

    def poll(self):
        try:
            self.last = (time.time(), cpu_seconds(self.pid))
        except (OSError, IndexError, ValueError):
            pass  # gone: keep its last reading

    def share_since(self, mark):
        """Percent of one core from `mark` (a reading) to the latest, and the new mark."""
        if mark is None or self.last is None or self.last[0] <= mark[0]:
            return None, self.last
        return 100 * (self.last[1] - mark[1]) / (self.last[0] - mark[0]), self.last


def fmt(v, digits=3):
    return "" if v is None else f"{v:.{digits}f}"


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--metrics", required=True, help="the run's /metrics URL")
    ap.add_argument("--t0-ms", type=int, required=True, help="the soak's start, epoch ms")
    ap.add_argument("--duration-s", type=int, required=True)
    ap.add_argument("--state", required=True, help="the run's state directory")
    ap.add_argument("--pid", action="append", default=[], help="NAME=PID of run, broker, producer, probe")
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    pids = dict(p.split("=", 1) for p in a.pid)
    for need in ("run", "broker", "producer", "probe"):
        if need not in pids:
            sys.exit(f"soak_sampler: --pid {need}=PID is required")
    cpu = {name: CpuWatch(int(pid)) for name, pid in pids.items()}
    t0 = a.t0_ms / 1000
    windows = (a.duration_s + WINDOW_S - 1) // WINDOW_S

    # The lag gauges change every 2 s: the window's figure is the largest seen.
    peak = {"lag_records": 0.0, "lag_s": 0.0}

    def watch_lag():
        try:
            page = scrape(a.metrics)
        except OSError:
            return
        for col, value in lag_of(page).items():
            peak[col] = max(peak[col], value)

    def wait_until(t):
        last_lag = 0.0
        while (left := t - time.time()) > 0:
            time.sleep(min(1.0, left))
            for w in cpu.values():
                w.poll()
            if time.time() - last_lag >= 2 and t - time.time() > 0.5:
                watch_lag()
                last_lag = time.time()

    wait_until(t0)
    prev_page, prev_t = None, time.time()
    try:
        prev_page = scrape(a.metrics)
    except OSError as e:
        print(f"soak_sampler: baseline scrape failed: {e}", file=sys.stderr)
    marks = {name: w.last for name, w in cpu.items()}
    host_mark = (time.time(), host_cpu_seconds())
    with open(a.out, "w", newline="") as f:
        out = csv.writer(f)
        out.writerow(COLUMNS)
        f.flush()
        for i in range(windows):
            wait_until(t0 + min((i + 1) * WINDOW_S, a.duration_s))
            for w in cpu.values():
                w.poll()
            now = time.time()
            row = {"window": i, "t_s": fmt(min((i + 1) * WINDOW_S, a.duration_s), 0)}
            try:
                row["rss_mb"] = fmt(rss_bytes(pids["run"]) / MB, 1)
                row["rss_broker_mb"] = fmt(rss_bytes(pids["broker"]) / MB, 1)
            except OSError as e:
                print(f"soak_sampler: window {i}: {e}", file=sys.stderr)
            for name, w in cpu.items():
                share, marks[name] = w.share_since(marks[name])
                row[f"cpu_{name}_pct"] = fmt(share, 1)
            host = (time.time(), host_cpu_seconds())  # everything on the machine, the soak's processes included
            row["cpu_host_pct"] = fmt(100 * (host[1] - host_mark[1]) / (host[0] - host_mark[0]), 1)
            host_mark = host
            row["state_disk_mb"] = fmt(disk_bytes(a.state) / MB, 1)
            try:
                page = scrape(a.metrics)
            except OSError as e:
                print(f"soak_sampler: window {i}: scrape failed: {e}", file=sys.stderr)
                page = None
            if page is not None:
                row.update(from_metrics(page, prev_page, now - prev_t))
                prev_page, prev_t = page, now
                for col, value in lag_of(page).items():
                    row[col] = fmt(max(peak[col], value), 0 if col == "lag_records" else 3)
            peak.update({"lag_records": 0.0, "lag_s": 0.0})
            out.writerow([row.get(c, "") for c in COLUMNS])
            f.flush()


def not_repartition(labels):
    return not labels.get("topic", "").endswith(".repartition")


def lag_of(page):
    """Records behind summed over the input partitions; the run's event-time lag gauge (largest partition)."""
    return {"lag_records": total(page, "alliance_consumer_lag_records", not_repartition),
            "lag_s": biggest(page, "alliance_consumer_lag_seconds")}


def from_metrics(page, prev, dt):
    """The window's columns from two scrapes `dt` seconds apart (prev None: sizes only)."""
    inputs = not_repartition
    rocks = lambda kind: (lambda labels: labels.get("kind") == kind)
    row = {
        "state_cache_mb": fmt(total(page, "alliance_state_cache_bytes") / MB, 1),
        "memtable_mb": fmt(total(page, "alliance_rocksdb_bytes", rocks("memtable")) / MB, 1),
        # One LRU cache shared by every store: each partition reports the same usage.
        "block_cache_mb": fmt(biggest(page, "alliance_rocksdb_bytes", rocks("block_cache")) / MB, 1),
        "sst_mb": fmt(total(page, "alliance_rocksdb_bytes", rocks("live_sst")) / MB, 1),
        "pending_compaction_mb": fmt(total(page, "alliance_rocksdb_bytes", rocks("pending_compaction")) / MB, 1),
        "write_stopped": fmt(biggest(page, "alliance_rocksdb_write_stopped"), 0),
        "delayed_write_mbs": fmt(total(page, "alliance_rocksdb_delayed_write_rate_bytes") / MB, 1),
    }
    if prev is None or dt <= 0:
        return row

    def delta(name, keep=lambda labels: True):
        d = total(page, name, keep) - total(prev, name, keep)
        return d if d >= 0 else total(page, name, keep)  # a store reopened: its counters restarted

    consumed = delta("alliance_records_consumed_total", inputs)
    cycles = delta("alliance_batch_events_count")
    hits = delta("alliance_rocksdb_block_cache_lookups", lambda labels: labels.get("result") == "hit")
    misses = delta("alliance_rocksdb_block_cache_lookups", lambda labels: labels.get("result") == "miss")
    row.update({
        "consumed_per_s": fmt(consumed / dt, 1),
        "cycles_per_s": fmt(cycles / dt, 2),
        "cycle_events": fmt(delta("alliance_batch_events_sum") / cycles, 1) if cycles > 0 else "",
        "cycle_ms": fmt(1000 * delta("alliance_batch_seconds_sum") / cycles, 2) if cycles > 0 else "",
        "store_reads_per_event": fmt(delta("alliance_rocksdb_keys_read") / consumed) if consumed > 0 else "",
        # No lookup in the window: nothing missed (the run's own gauge says 1 too).
        "block_cache_hit_ratio": fmt(hits / (hits + misses) if hits + misses > 0 else 1.0, 4),
        "block_cache_lookups_per_s": fmt((hits + misses) / dt, 1),
        "stall_s": fmt(delta("alliance_rocksdb_stall_seconds"), 3),
        "dlq_per_s": fmt(delta("alliance_dead_letters_total") / dt, 2),
    })
    return row


if __name__ == "__main__":
    main()
