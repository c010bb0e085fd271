#!/usr/bin/env python3
"""The Markdown section `bench/run-cluster` prints: it reads the run's directory ($W) — the
`herald load` JSON reports and the engine snapshots ("label cpu_ticks mem_kib" per line, taken
from /proc by the script) — and writes tables. Nothing here measures: it only divides."""

import json
import os
import sys
from pathlib import Path

W = Path(os.environ["W"])
MODE = os.environ["MODE"]
TICK = float(os.environ["TICK"])
NAMES = {"n0": "node C (n0, drives the CTI side)", "n1": "node A (n1)", "n2": "node B (n2)"}


def load(name):
    path = W / f"{name}.json"
    return json.loads(path.read_text()) if path.exists() and path.stat().st_size else {}


def snapshot(name):
    rows = {}
    path = W / name
    if path.exists():
        for line in path.read_text().split("\n"):
            parts = line.split()
            if len(parts) == 3:
                rows[parts[0]] = (int(parts[1]), int(parts[2]))
    return rows


def fmt(value, decimals=0):
    if value is None:
        return "-"
    return f"{value:,.{decimals}f}"


def cpu_table(before, after, per, unit_name, label=lambda k: NAMES.get(k, k)):
    """CPU over the window per process, divided by `per`, and memory at its end."""
    b, a = snapshot(before), snapshot(after)
    out = [f"| process | CPU s | CPU µs per {unit_name} | memory at end MiB |", "|---|---:|---:|---:|"]
    total = 0.0
    for key, (ticks, mem) in a.items():
        if key not in b:
            continue
        cpu = (ticks - b[key][0]) / TICK
        total += cpu
        out.append(f"| {label(key)} | {cpu:.2f} | {fmt(cpu * 1e6 / per if per else None, 1)} | {mem / 1024:.1f} |")
    out.append(f"| **all** | {total:.2f} | {fmt(total * 1e6 / per if per else None, 1)} | |")
    return "\n".join(out), (total * 1e6 / per if per else None)


def agents_row(label, r):
    keys = ["desktops", "signed_in", "accepted", "change_rate", "lost", "errors", "p50_ms", "p99_ms", "p999_ms", "max_ms"]
    decimals = [0, 0, 0, 0, 0, 0, 2, 2, 2, 2]
    return f"| {label} | " + " | ".join(fmt(r.get(k), d) for k, d in zip(keys, decimals)) + " |"


def publish():
    a, single = load("a"), load("single")
    print("| run | desktops | signed in | changes 202 | changes/s | lost | errors | p50 ms | p99 ms | p99.9 ms | max ms |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    print(agents_row("cluster: desktops on A, REST on B, C drives the CTI side", a))
    print(agents_row("single node (same PostgreSQL, no Redis)", single))
    accepted = a.get("accepted") or 0
    print(f"\nCluster, over the changes ({accepted:,} changes answered 202):\n")
    table, cluster_cpu = cpu_table("cluster.before", "cluster.after", accepted, "change")
    print(table)
    print(f"\nSingle node, over its changes ({single.get('accepted') or 0:,} answered 202):\n")
    table, single_cpu = cpu_table("single.before", "single.after", single.get("accepted") or 0, "change",
                                  lambda k: "the node" if k == "n0" else k)
    print(table)
    if a.get("p99_ms") is not None and single.get("p99_ms"):
        print(f"\nRatios cluster / single node: p99 {a['p99_ms'] / single['p99_ms']:.2f}, "
              f"CPU per change (every process) {fmt(cluster_cpu / single_cpu if cluster_cpu and single_cpu else None, 2)}")


def failover():
    f = load("failover")
    keys = [(k, v) for k, v in f.items() if k.startswith("failover_")]
    print("| failover | |\n|---|---:|")
    for key, value in keys:
        print(f"| {key.removeprefix('failover_').replace('_', ' ')} | {fmt(value, 2 if isinstance(value, float) and not value.is_integer() else 0)} |")
    print("\nState changes through REST on C over the run (the load's own count: a change whose Update was"
          " not seen live within 10 s counts as lost there, even when the catch-up found it):\n")
    print("| run | desktops | signed in | changes 202 | changes/s | lost (live) | errors | p50 ms | p99 ms | p99.9 ms | max ms |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    print(agents_row("failover", f))
    print("\nProcesses from the start of the changes to the end (node A's CPU until its kill is not counted):\n")
    print(cpu_table("cluster.before", "cluster.after", f.get("accepted") or 0, "change")[0])


def idle():
    runs = [load(f"idle{i}") for i in range(int(os.environ["ARGS"].split()[-1]))]
    held = snapshot("cluster.held")
    before = snapshot("cluster.before")
    sessions = sum(r.get("logged_in") or 0 for r in runs)
    print("| node | sessions held | failed | RSS before MiB | RSS held MiB | KiB per session |")
    print("|---|---:|---:|---:|---:|---:|")
    total_rss, total_before = 0, 0
    for i, r in enumerate(runs):
        key = f"n{i}"
        rss, rss0 = held.get(key, (0, 0))[1], before.get(key, (0, 0))[1]
        total_rss += rss
        total_before += rss0
        per = (rss - rss0) / r["logged_in"] if r.get("logged_in") else None
        print(f"| n{i} | {fmt(r.get('logged_in'))} | {fmt(r.get('failed'))} | {rss0 / 1024:.1f} | {rss / 1024:.1f} | {fmt(per, 2)} |")
    per = (total_rss - total_before) / sessions if sessions else None
    print(f"| **all** | {sessions:,} | | {total_before / 1024:.1f} | {total_rss / 1024:.1f} | {fmt(per, 2)} |")
    print("\n| shared state | memory before MiB | memory held MiB | CPU s from start to held |\n|---|---:|---:|---:|")
    for key in ("redis", "postgres"):
        (t0, m0), (t1, m1) = before.get(key, (0, 0)), held.get(key, (0, 0))
        print(f"| {key} | {m0 / 1024:.1f} | {m1 / 1024:.1f} | {(t1 - t0) / TICK:.2f} |")
    window = float((W / "idle_window").read_text()) if (W / "idle_window").exists() else 0
    if window and sessions:
        table, _ = cpu_table("cluster.held", "cluster.held2", sessions * window / 60 / 1000, "1,000 sessions per minute held")
        print(f"\nEvery process over {window:.0f} s of holding the {sessions:,} sessions (CPU µs per 1,000 sessions per minute):\n")
        print(table)
    idle_cpu = [r.get("idle_cpu_ms_per_1000_sessions_per_min") for r in runs if r.get("idle_cpu_ms_per_1000_sessions_per_min") is not None]
    if idle_cpu:
        print(f"\nIdle CPU per node, ms per 1,000 sessions per minute (each node over its hold): {', '.join(fmt(c, 1) for c in idle_cpu)}")


print(f"- Mode: `{MODE}`, sizes `{os.environ['ARGS'].strip()}`; exit status {os.environ['STATUS']}")
print(f"- Machine: {os.environ['MACHINE']}")
print()
{"publish": publish, "failover": failover, "idle": idle}[MODE]()
for label in ("cluster", "single", "failover", "logins", "held"):
    top = W / f"pg_top.{label}"
    if top.exists() and top.read_text().strip():
        print(f"\nPostgreSQL's statements by time ({label}; pg_stat_statements):\n")
        print("| calls | ms | rows | statement |\n|---:|---:|---:|---|")
        for line in top.read_text().splitlines():
            calls, ms, rows, query = (line.split("\t", 3) + ["", "", "", ""])[:4]
            print(f"| {calls} | {ms} | {rows} | `{query.replace('|', '/')}` |")
for err in sorted(W.glob("*.err")):
    text = err.read_text(errors="replace")
    if "first failure" in text:
        print(f"\n{err.stem}: " + text[text.index("first failure"):].split("\n")[0])
sys.stdout.flush()
