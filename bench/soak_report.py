#!/usr/bin/python3
"""The soak's report (bench/soak.sh, docs/SOAK.md). From the raw files of a
soak directory (sampler.csv, producer.csv, latency_10s.csv, latency.csv,
latency_meta.txt, meta.env and the processes' stderr) it writes
samples.csv (one row per 10 s, every column), soak.png (latency
percentiles, throughput, RSS, lag and state size over time) and
summary.txt (the issue's targets against what was achieved).

    soak_report.py DIR                 write the report
    soak_report.py --check DIR [--min-rows N] [--min-rate-share 0.8]
                                       verify a report is complete (CI smoke)
"""
import argparse
import csv
import os
import re
import struct
import sys
import zlib

SAMPLER_SKIP = {"window", "t_s"}
# Lines `alliance run` writes in a healthy run; any other stderr line counts as an error line.
NORMAL_RUN_LINES = [re.compile(p) for p in (
    r"^alliance run: consuming .* as group \S+ \(\d+ partitions?(: two stages)?\)$",
    r"^alliance run: (assigned|revoked) \d+ partitions?$",
    r"^alliance run: partition \d+: restored \d+ batches \(\d+ keys\) from \S+$",
    r"^alliance run: consumed \d+ messages; .*$",
    r"^alliance run: where the time went: .*$",
    r"^alliance run: stopped cleanly$",
    r"^alliance run: serving https?://\S+/metrics \(and /healthz, /readyz\)$",
)]
TARGETS = {"p99_ms": 250, "p50_ms": 100, "lag_s": 1.0, "rss_growth_pct": 5.0}


def read_csv(path):
    if not os.path.exists(path):
        return None, []
    with open(path, newline="") as f:
        r = csv.reader(f)
        header = next(r, None)
        return header, [dict(zip(header, row)) for row in r] if header else []


def read_kv(path):
    out = {}
    if os.path.exists(path):
        for line in open(path):
            if "=" in line:
                k, v = line.rstrip("\n").split("=", 1)
                out[k] = v
    return out


def num(v):
    try:
        return float(v)
    except (TypeError, ValueError):
        return None


def error_lines(path, normal):
    if not os.path.exists(path):
        return []
    return [line.rstrip("\n") for line in open(path, errors="replace")
            if line.strip() and not any(p.match(line.rstrip("\n")) for p in normal)]


def build_samples(d):
    """samples.csv: the sampler's rows joined with the producer's and the probe's by window."""
    sh, sampler = read_csv(os.path.join(d, "sampler.csv"))
    _, producer = read_csv(os.path.join(d, "producer.csv"))
    _, lat = read_csv(os.path.join(d, "latency_10s.csv"))
    if sh is None:
        raise SystemExit(f"soak_report: {d}/sampler.csv is missing: did the sampler run? see {d}/sampler.err")
    prod = {r["window"]: r for r in producer}
    lat = {r["window"]: r for r in lat}
    columns = (["t_s", "producer_rate", "producer_behind_ms", "consumed_per_s", "lat_count", "lat_p50_ms", "lat_p99_ms",
                "lat_recv_p99_ms", "lag_records", "lag_records_s"]
               + [c for c in sh if c not in SAMPLER_SKIP and c not in ("consumed_per_s", "lag_records")])
    rows = []
    for s in sampler:
        w = s["window"]
        p, l = prod.get(w, {}), lat.get(w, {})
        row = dict(s)
        row.update({"producer_rate": p.get("rate", ""), "producer_behind_ms": p.get("max_behind_ms", ""),
                    "lat_count": l.get("count", ""), "lat_p50_ms": l.get("p50_ms", ""), "lat_p99_ms": l.get("p99_ms", ""),
                    "lat_recv_p99_ms": l.get("recv_p99_ms", "")})
        # The lag in seconds of input: records behind / the rate they arrive at.
        behind, arriving = num(s.get("lag_records")), num(p.get("rate"))
        row["lag_records_s"] = f"{behind / arriving:.3f}" if behind is not None and arriving else ""
        rows.append({c: row.get(c, "") for c in columns})
    with open(os.path.join(d, "samples.csv"), "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=columns)
        w.writeheader()
        w.writerows(rows)
    return rows


def series(rows, col):
    return [num(r[col]) for r in rows]


def plot(d, rows, minutes, meta):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    t = [num(r["t_s"]) / 60 for r in rows]
    fig, ax = plt.subplots(6, 1, figsize=(9, 15), sharex=True)
    duration = int(num(meta.get("duration_s")) or 0)
    span = f"{duration // 60} min" if duration % 60 == 0 else f"{duration} s"
    title = f"alliance soak: {meta.get('rate')} events/s for {span} ({meta.get('users')} users), commit {meta.get('commit')}"
    fig.suptitle(title, fontsize=11)

    a = ax[0]
    mt = [num(m["t_s"]) / 60 for m in minutes]
    for col, style, label in (("p50_ms", "o-", "p50 / minute"), ("p90_ms", "s-", "p90 / minute"),
                              ("p99_ms", "^-", "p99 / minute"), ("max_ms", "x:", "max / minute")):
        a.plot(mt, series(minutes, col), style, label=label, markersize=4)
    a.plot(t, series(rows, "lat_p50_ms"), "-", color="tab:blue", alpha=0.4, linewidth=0.8, label="p50 / 10 s")
    a.plot(t, series(rows, "lat_p99_ms"), "-", color="tab:green", alpha=0.4, linewidth=0.8, label="p99 / 10 s")
    a.plot(mt, series(minutes, "recv_p99_ms"), "v:", color="tab:purple", markersize=4, label="p99 received / minute")
    a.axhline(TARGETS["p99_ms"], color="red", linestyle="--", linewidth=0.8, label="p99 target 250 ms")
    a.axhline(TARGETS["p50_ms"], color="orange", linestyle="--", linewidth=0.8, label="p50 target 100 ms")
    a.set_yscale("log")
    a.set_ylabel("settlement latency, ms")
    a.legend(fontsize=7, ncol=4, loc="upper left")

    a = ax[1]
    a.plot(t, series(rows, "producer_rate"), label="produced events/s")
    a.plot(t, series(rows, "consumed_per_s"), label="consumed messages/s (run)")
    a.axhline(num(meta.get("rate")) or 0, color="grey", linestyle="--", linewidth=0.8, label="target rate")
    top = max([num(meta.get("rate")) or 0] + [v for c in ("producer_rate", "consumed_per_s") for v in series(rows, c) if v])
    a.set_ylim(0, 1.15 * top or 1)
    a.set_ylabel("per second")
    a.legend(fontsize=7, loc="lower left")

    a = ax[2]
    a.plot(t, series(rows, "rss_mb"), label="RSS of alliance run")
    a.plot(t, series(rows, "state_cache_mb"), label="write-back cache")
    a.plot(t, series(rows, "block_cache_mb"), label="RocksDB block cache (memtables charged to it)")
    a.plot(t, series(rows, "memtable_mb"), label="RocksDB memtables")
    a.set_ylabel("MB")
    a.legend(fontsize=7, loc="upper left")

    a = ax[3]
    a.plot(t, series(rows, "lag_records_s"), color="tab:red", label="lag, s (records behind / input rate)")
    a.plot(t, series(rows, "lag_s"), color="tab:orange", label="lag, s (the run's gauge: wall - stream time)")
    a.axhline(TARGETS["lag_s"], color="red", linestyle="--", linewidth=0.8)
    a.set_ylabel("lag, s")
    b = a.twinx()
    b.plot(t, series(rows, "lag_records"), color="tab:blue", alpha=0.6, label="lag, records")
    b.set_ylabel("lag, records")
    a.legend(fontsize=7, loc="upper left")
    b.legend(fontsize=7, loc="upper right")

    a = ax[4]
    for name in ("run", "broker", "producer", "probe", "host"):
        a.plot(t, series(rows, f"cpu_{name}_pct"), label="whole machine" if name == "host" else name)
    a.axhline(100 * (num(meta.get("host_cores")) or 0), color="grey", linestyle="--", linewidth=0.8, label="all cores")
    a.set_ylim(0, 100 * (num(meta.get("host_cores")) or 2) * 1.1)
    a.set_ylabel("CPU, % of one core")
    a.legend(fontsize=7, ncol=3, loc="lower left")

    a = ax[5]
    a.plot(t, series(rows, "state_disk_mb"), label="state directory on disk (du)")
    a.plot(t, series(rows, "sst_mb"), label="RocksDB live SST")
    a.plot(t, series(rows, "pending_compaction_mb"), label="pending compaction")
    a.set_ylabel("MB")
    a.set_xlabel("minutes since the start")
    a.legend(fontsize=7, loc="upper left")
    for a in ax:
        a.grid(True, alpha=0.3)
    fig.tight_layout(rect=(0, 0, 1, 0.985))
    fig.savefig(os.path.join(d, "soak.png"), dpi=72)


def summarize(d, rows, minutes, meta):
    lm = read_kv(os.path.join(d, "latency_meta.txt"))
    _, producer = read_csv(os.path.join(d, "producer.csv"))
    duration = num(meta.get("duration_s")) or 0
    rate = num(meta.get("rate")) or 0
    lines = []
    say = lines.append
    met = lambda ok: "yes" if ok else "NO"

    sent = sum(num(p["sent"]) or 0 for p in producer)
    window_rates = [num(p["rate"]) for p in producer if num(p["rate"]) is not None]
    say(f"soak: {duration:.0f} s at {rate:.0f} events/s, {meta.get('users')} users (turnover {meta.get('turnover_s')} s), "
        f"{meta.get('topology')}, {meta.get('partitions')} partition(s), commit {meta.get('commit')}, "
        f"{meta.get('host_cores')} cores")
    achieved = sent / duration if duration else 0
    say(f"producer: {achieved:.0f} events/s achieved ({100 * achieved / rate:.1f} % of the target), slowest 10 s "
        f"window {min(window_rates, default=0):.0f}/s, {int(sent)} events, "
        f"failed deliveries {producer[-1]['failed_total'] if producer else '?'}")
    consumed = [v for v in series(rows, "consumed_per_s") if v is not None]
    # The run's last words say how many messages it read in all: fewer than were
    # sent means input the broker dropped (the mock's retention) before the run got to it.
    run_err = open(os.path.join(d, "run.err"), errors="replace").read() if os.path.exists(os.path.join(d, "run.err")) else ""
    m = re.search(r"alliance run: consumed (\d+) messages", run_err)
    read = (f"{int(m.group(1))} of the {int(sent)} sent"
            + (f", {int(sent) - int(m.group(1))} NEVER READ" if int(m.group(1)) < sent else "")) if m else "total unknown"
    say(f"alliance run: {sum(consumed) / max(1, len(consumed)):.0f} messages/s consumed on average "
        f"(slowest 10 s window {min(consumed, default=0):.0f}/s), {read}; exit code {meta.get('run_exit', '?')}")
    cpu = {n: [v for v in series(rows, f"cpu_{n}_pct") if v is not None] for n in ("run", "broker", "producer", "probe")}
    cpu["whole host"] = [v for v in series(rows, "cpu_host_pct") if v is not None]
    say("CPU, % of one core (mean): " + ", ".join(f"{n} {sum(v) / max(1, len(v)):.0f}" for n, v in cpu.items())
        + f"; load average before {meta.get('load_before', '?')}, after {meta.get('load_after', '?')}")
    say(f"latency probe: {lm.get('settlements_read', '?')} settlements read, {lm.get('offset_gaps', '?')} offsets "
        f"skipped, its read delay p50 {lm.get('p50_read_delay_ms', '?')} / p99 {lm.get('p99_read_delay_ms', '?')} / "
        f"max {lm.get('max_read_delay_ms', '?')} ms; after the producer stopped: "
        f"{lm.get('after_end', '?')} more, latency up to {lm.get('after_end_max_ms', '?')} ms")
    say("")
    say(f"{'target':40} {'achieved':58} met")

    full = [m for m in minutes if (num(m["count"]) or 0) > 0]
    empty = [m["minute"] for m in minutes if (num(m["count"]) or 0) == 0]
    for key, col in (("p99_ms", "p99_ms"), ("p50_ms", "p50_ms")):
        worst = max(full, key=lambda m: num(m[col]), default=None)
        text = (f"worst minute {worst[col]} ms (minute {worst['minute']})" if worst else "no settlements")
        if empty:
            text += f"; minutes without settlements: {', '.join(empty)}"
        ok = worst is not None and not empty and all(num(m[col]) < TARGETS[key] for m in full)
        say(f"{f'{col[:3]} < {TARGETS[key]} ms in every minute':40} {text:58} {met(ok)}")
    lag = [v for v in series(rows, "lag_records_s") if v is not None]
    gauge = [v for v in series(rows, "lag_s") if v is not None]
    lag_rec = [v for v in series(rows, "lag_records") if v is not None]
    ok = bool(lag) and max(lag + gauge) < TARGETS["lag_s"] and len(lag) == len(rows)
    text = (f"max {max(lag):.2f} s ({max(lag_rec, default=0):.0f} records); the run's gauge max {max(gauge, default=0):.2f} s"
            if lag else "no lag samples")
    say(f"{'consumer lag < 1 s throughout':40} {text:58} {met(ok)}")
    # The second half: from the sample at the middle of the run to the last.
    h = max(0, len(rows) // 2 - 1)
    rss = series(rows, "rss_mb")
    if len(rss) >= 2 and rss[h] and rss[-1]:
        growth = 100 * (rss[-1] - rss[h]) / rss[h]
        text = f"{growth:+.1f} % ({rss[h]:.0f} MB at {rows[h]['t_s']} s -> {rss[-1]:.0f} MB)"
        say(f"{'RSS growth over the 2nd half <= 5 %':40} {text:58} {met(growth <= TARGETS['rss_growth_pct'])}")
    else:
        say(f"{'RSS growth over the 2nd half <= 5 %':40} {'no RSS samples':58} NO")
    disk = series(rows, "state_disk_mb")
    if len(disk) >= 2 and disk[0] is not None and disk[h] is not None and disk[-1] is not None:
        half_min = (num(rows[-1]["t_s"]) - num(rows[h]["t_s"])) / 60
        per_min = (disk[-1] - disk[h]) / half_min
        text = (f"{disk[0]:.0f} -> {disk[-1]:.0f} MB; {per_min:+.1f} MB/min over the 2nd half "
                f"({per_min * 1024 * 1024 / 60 / max(rate, 1):.0f} bytes per event)")
        say(f"{'state on disk within SPEC §4 retention':40} {text:58} judge")
    errs = error_lines(os.path.join(d, "run.err"), NORMAL_RUN_LINES)
    say(f"{'no error lines (run stderr)':40} {f'{len(errs)} error lines':58} {met(not errs)}")
    harness = (error_lines(os.path.join(d, "producer.err"), [re.compile(r"^soak_producer: sent .*")])
               + error_lines(os.path.join(d, "probe.err"), [re.compile(r"^soak_latency: \d+ settlements .*")])
               + error_lines(os.path.join(d, "sampler.err"), [])
               + error_lines(os.path.join(d, "broker.err"), [re.compile(r"^alliance broker: librdkafka mock cluster .*")]))
    say("")
    say("per minute (ms; received: when the probe read it):")
    say("  minute    count   p50   p90   p99    max  received p50  p99")
    for m in minutes:
        say(f"  {m['minute']:>6} {m['count']:>8} {m['p50_ms']:>5} {m['p90_ms']:>5} {m['p99_ms']:>5} {m['max_ms']:>6}"
            f"  {m['recv_p50_ms']:>12} {m['recv_p99_ms']:>4}")
    if errs:
        say("")
        say("error lines of alliance run (first 20):")
        lines.extend("  " + e for e in errs[:20])
    if harness:
        say("")
        say(f"harness stderr lines (producer, probe, sampler, broker; first 20 of {len(harness)}):")
        lines.extend("  " + e for e in harness[:20])
    text = "\n".join(lines) + "\n"
    with open(os.path.join(d, "summary.txt"), "w") as f:
        f.write(text)
    return text


def png_problem(path):
    """None if `path` is a whole PNG (signature, chunks with good CRCs, IHDR first, IEND last), else why not."""
    if not os.path.exists(path):
        return "missing"
    data = open(path, "rb").read()
    if not data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "no PNG signature"
    i, names = 8, []
    while i + 8 <= len(data):
        length, name = struct.unpack(">I4s", data[i:i + 8])
        body = data[i + 8:i + 8 + length]
        if len(body) != length or i + 12 + length > len(data):
            return f"truncated in chunk {name!r}"
        (crc,) = struct.unpack(">I", data[i + 8 + length:i + 12 + length])
        if zlib.crc32(name + body) != crc:
            return f"bad CRC in chunk {name!r}"
        names.append(name)
        i += 12 + length
    if not names or names[0] != b"IHDR" or names[-1] != b"IEND":
        return "no IHDR first or IEND last"
    width, height = struct.unpack(">II", data[16:24])
    return None if width >= 200 and height >= 200 else f"only {width}x{height} pixels"


def check(d, min_rows, min_rate_share):
    """Problems of a report, one line each (empty: complete)."""
    problems = []
    for name, rows_needed in (("samples.csv", min_rows), ("latency.csv", 1)):
        header, rows = read_csv(os.path.join(d, name))
        if header is None:
            problems.append(f"{name}: missing")
            continue
        if len(rows) < rows_needed:
            problems.append(f"{name}: {len(rows)} rows, expected at least {rows_needed}")
        for i, r in enumerate(rows):
            empty = [c for c in header if (r.get(c) or "").strip() == ""]
            if empty:
                problems.append(f"{name}: row {i + 1} has empty cells: {', '.join(empty)}")
    header, _ = read_csv(os.path.join(d, "samples.csv"))
    for col in ("producer_rate", "lat_p99_ms", "lat_recv_p99_ms", "rss_mb", "lag_records", "lag_records_s", "lag_s", "cycle_events", "cycle_ms",
                "block_cache_hit_ratio", "store_reads_per_event", "memtable_mb", "block_cache_mb", "sst_mb",
                "pending_compaction_mb", "stall_s", "write_stopped", "state_disk_mb"):
        if header is not None and col not in header:
            problems.append(f"samples.csv: no column {col}")
    if (p := png_problem(os.path.join(d, "soak.png"))) is not None:
        problems.append(f"soak.png: {p}")
    summary = os.path.join(d, "summary.txt")
    if not os.path.exists(summary) or "p99 < 250 ms" not in open(summary).read():
        problems.append("summary.txt: missing or without the targets")
    meta = read_kv(os.path.join(d, "meta.env"))
    _, producer = read_csv(os.path.join(d, "producer.csv"))
    rate, duration = num(meta.get("rate")), num(meta.get("duration_s"))
    if not rate or not duration:
        problems.append("meta.env: no rate or duration")
    else:
        achieved = sum(num(p["sent"]) or 0 for p in producer) / duration
        if achieved < min_rate_share * rate:
            problems.append(f"producer: {achieved:.0f} events/s, below {100 * min_rate_share:.0f} % of {rate:.0f}")
    return problems


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("dir")
    ap.add_argument("--check", action="store_true", help="verify the report instead of writing it")
    ap.add_argument("--min-rows", type=int, default=1, help="with --check: rows samples.csv must have")
    ap.add_argument("--min-rate-share", type=float, default=0.8, help="with --check: the producer's share of its rate")
    a = ap.parse_args()
    if not os.path.isdir(a.dir):
        sys.exit(f"soak_report: {a.dir}: no such directory")
    if a.check:
        problems = check(a.dir, a.min_rows, a.min_rate_share)
        for p in problems:
            print(f"soak_report: {p}", file=sys.stderr)
        sys.exit(1 if problems else 0)
    meta = read_kv(os.path.join(a.dir, "meta.env"))
    if not meta:
        sys.exit(f"soak_report: {a.dir}/meta.env is missing: not a soak directory (bench/soak.sh writes it)")
    rows = build_samples(a.dir)
    _, minutes = read_csv(os.path.join(a.dir, "latency.csv"))
    plot(a.dir, rows, minutes, meta)
    print(summarize(a.dir, rows, minutes, meta), end="")


if __name__ == "__main__":
    main()
