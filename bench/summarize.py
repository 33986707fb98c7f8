#!/usr/bin/env python3
"""Turns Google Benchmark JSON from rcmgr_bench into the tables of docs/performance.md.

usage: summarize.py bench.json [compile_cost.txt]

Times are per operation, CPU time, the median over repetitions when the run had repetitions
(the minimum is shown too). Each workload is set against the counter updates it must make at
least (bench/baselines.cpp): plain adds for the single-threaded manager, atomic
read-modify-writes on separate cache lines for the thread-safe one.
"""
import json
import sys
from collections import defaultdict

# counter updates each workload makes (see docs/performance.md for the count)
UPDATES = {
    "W1_reserve_release": 14,
    "W1_scopes1_system": 2,
    "W1_scopes2_transient": 4,
    "W1_scopes2_peer": 4,
    "W1_scopes4_stream_at_open": 8,
    "W1_scopes5_stream_with_protocol": 10,
    "W2_stream_lifecycle": 15,
    "W3_connection_lifecycle": 14,
    "W4_nested_spans": 32,
}
GO = {"W1_reserve_release": 273, "W2_stream_lifecycle": 1085, "W3_connection_lifecycle": 1035, "W4_nested_spans": 1136}


def load(path):
    with open(path) as f:
        data = json.load(f)
    runs = defaultdict(list)  # run_name -> list of per-repetition entries
    for b in data["benchmarks"]:
        if b.get("run_type") == "aggregate" or b.get("error_occurred"):
            continue
        runs[b["run_name"]].append(b)
    return data.get("context", {}), runs


def med(xs):
    xs = sorted(xs)
    n = len(xs)
    return xs[n // 2] if n % 2 else (xs[n // 2 - 1] + xs[n // 2]) / 2


def ns(b):
    scale = {"ns": 1.0, "us": 1e3, "ms": 1e6, "s": 1e9}[b.get("time_unit", "ns")]
    return b["cpu_time"] * scale


def stat(runs, name, key=ns):
    rs = runs.get(name)
    if not rs:
        return None
    vals = [key(b) for b in rs]
    return med(vals), min(vals)


def counter(runs, name, c):
    rs = runs.get(name)
    if not rs or c not in rs[0]:
        return None
    return med([b[c] for b in rs])


def fmt(x, digits=1):
    if x is None:
        return "n/a"
    if abs(x) >= 100:
        return f"{x:.0f}"
    return f"{x:.{digits}f}"


def main():
    ctx, runs = load(sys.argv[1])
    out = []
    out.append(f"Machine: {ctx.get('num_cpus', '?')} CPUs at {ctx.get('mhz_per_cpu', '?')} MHz; "
               f"load average at start {', '.join(f'{x:.2f}' for x in ctx.get('load_avg', []))}; "
               f"{ctx.get('date', '')}")
    out.append("")
    out.append("| workload | policy | ns/op median (min) | allocs/op | baseline (updates) | baseline ns | ratio | go-libp2p ns |")
    out.append("|---|---|---|---|---|---|---|---|")
    for w, u in UPDATES.items():
        for pol in ("thread_safe", "thread_cached", "single_threaded", "null"):
            name = f"{w}/{pol}"
            s = stat(runs, name)
            if s is None:
                continue
            if pol in ("thread_safe", "thread_cached"):
                base = f"baseline_atomic_rmw/{u}"
            elif pol == "single_threaded":
                base = f"baseline_plain_adds/{u}"
            else:
                base = "W7_no_manager"
            b = stat(runs, base)
            ratio = s[0] / b[0] if b and b[0] > 0 else None
            bl = "no manager" if pol == "null" else f"{base.split('/')[0].replace('baseline_', '')} ({u})"
            out.append(f"| {w} | {pol} | {fmt(s[0])} ({fmt(s[1])}) | {fmt(counter(runs, name, 'allocs_per_op'), 2)} | "
                       f"{bl} | {fmt(b[0]) if b else 'n/a'} | {fmt(ratio, 2) if pol != 'null' else '-'} | "
                       f"{GO.get(w, '') if pol != 'null' else ''} |")
    out.append("")
    out.append("Checked adds (a limit compare before each add) for the same counts: " + ", ".join(
        f"{u}: {fmt(stat(runs, f'baseline_checked_adds/{u}')[0])} ns" for u in sorted(set(UPDATES.values()))
        if stat(runs, f"baseline_checked_adds/{u}")))
    out.append("")

    out.append("| workload | policy | ns/op without observer | with the Prometheus observer | ratio |")
    out.append("|---|---|---|---|---|")
    for w in list(UPDATES) + ["W1_connection_reserve_release"]:
        for pol in ("thread_safe", "single_threaded"):
            s, p = stat(runs, f"{w}/{pol}"), stat(runs, f"{w}/{pol}_prometheus")
            if s is None or p is None:
                continue
            out.append(f"| {w} | {pol} | {fmt(s[0])} | {fmt(p[0])} | {fmt(p[0] / s[0], 2) if s[0] > 0 else 'n/a'} |")
    out.append("")

    out.append("| W5 | 1 thread: items/s | 2 threads: items/s | 2 / 1 | CPU ns per item, 1 thread | CPU ns per item, 2 threads | cores busy at 2 threads |")
    out.append("|---|---|---|---|---|---|---|")
    w5 = sorted({n.rsplit("/real_time", 1)[0] for n in runs if "/real_time/threads:" in n})
    for base in w5:
        n1, n2 = f"{base}/real_time/threads:1", f"{base}/real_time/threads:2"
        one = counter(runs, n1, "items_per_second")
        two = counter(runs, n2, "items_per_second")
        r = two / one if one and two else None
        c1 = stat(runs, n1)
        c2 = stat(runs, n2)
        busy = counter(runs, n2, "cpu_time") / counter(runs, n2, "real_time") if runs.get(n2) else None
        out.append(f"| {base} | {fmt(one / 1e6 if one else None, 2)} M/s | {fmt(two / 1e6 if two else None, 2)} M/s | "
                   f"{fmt(r, 2)} | {fmt(c1[0] if c1 else None)} | {fmt(c2[0] if c2 else None)} | {fmt(busy, 2)} |")
    out.append("")

    out.append("| W6 footprint | policy | heap bytes | allocator calls |")
    out.append("|---|---|---|---|")
    for pol in ("thread_safe", "single_threaded"):
        for name, c, a, label in (
            (f"W6_footprint_streams_at_open/{pol}/iterations:1", "bytes_per_stream", "allocs_per_stream", "per open stream (100k streams, 1000 peers)"),
            (f"W6_footprint_streams_attached/{pol}/iterations:1", "bytes_per_stream", "allocs_per_stream", "per stream with protocol and service set"),
            (f"W6_footprint_peers/{pol}/iterations:1", "bytes_per_connection", "allocs_per_connection", "per connection (100k, in transient)"),
            (f"W6_footprint_peers/{pol}/iterations:1", "bytes_per_peer", None, "per peer scope (100k peers, one connection each; connection subtracted)"),
            (f"W6_footprint_peers/{pol}/iterations:1", "bytes_per_peer_with_conn", "allocs_per_peer_with_conn", "per peer with its connection"),
        ):
            v = counter(runs, name, c)
            if v is not None:
                out.append(f"| {label} | {pol} | {fmt(v)} | {fmt(counter(runs, name, a), 4) if a else '-'} |")
    text = "\n".join(out) + "\n"
    if len(sys.argv) > 2:
        try:
            with open(sys.argv[2]) as f:
                text += "\n" + f.read()
        except OSError:
            pass
    sys.stdout.write(text)


if __name__ == "__main__":
    main()
