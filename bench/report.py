"""Turns the JSON reports of one bench/run into the markdown table of docs/BENCHMARKS.md, with
Herald's ratio to each peer for every figure."""

import json
import sys

ROWS = [
    ("bosh-idle", "kib_per_session", "server KiB per idle BOSH session (long poll held)", "lower"),
    ("bosh-idle", "idle_cpu_ms_per_1000_sessions_per_min", "server CPU ms per 1,000 idle BOSH sessions per minute", "lower"),
    ("bosh-https-idle", "kib_per_session", "server KiB per idle BOSH session over HTTPS (long poll held)", "lower"),
    ("bosh-storm", "logins_per_sec", "BOSH logins per second (SCRAM-SHA-1, restart, bind, presence)", "higher"),
    ("bosh-storm", "cpu_ms_per_login", "server CPU ms per BOSH login", "lower"),
    ("tcp-storm", "logins_per_sec", "TCP logins per second (STARTTLS, SCRAM-SHA-1, bind, presence)", "higher"),
    ("tcp-storm", "cpu_ms_per_login", "server CPU ms per TCP login", "lower"),
    ("ws-storm", "logins_per_sec", "WebSocket logins per second (SCRAM-SHA-1, bind, presence)", "higher"),
    ("ws-storm", "cpu_ms_per_login", "server CPU ms per WebSocket login", "lower"),
    ("bosh-rtt", "cpu_us_per_round_trip", "server CPU µs per empty BOSH long-poll round trip (wait=1)", "lower"),
    ("bosh-fanout", "publish_rate", "fan-out: publishes per second achieved", "higher"),
    ("bosh-fanout", "cpu_ms_per_1000_deliveries", "fan-out: server CPU ms per 1,000 deliveries", "lower"),
    ("bosh-fanout", "p50_ms", "fan-out: delivery latency p50 ms", "lower"),
    ("bosh-fanout", "p99_ms", "fan-out: delivery latency p99 ms", "lower"),
    ("bosh-fanout", "p999_ms", "fan-out: delivery latency p99.9 ms", "lower"),
    ("bosh-fanout", "max_ms", "fan-out: delivery latency max ms", "lower"),
    ("bosh-fanout", "lost", "fan-out: deliveries lost", "lower"),
    ("bosh-fanout", "duplicated", "fan-out: deliveries duplicated", "lower"),
]


def main():
    results = json.load(open(sys.argv[1]))
    baseline = results.pop("baseline", {}).get("http", {})
    servers = list(results)
    peers = [s for s in servers if s != "herald"]
    print("| figure | " + " | ".join(servers) + "".join(f" | Herald ÷ {p}" for p in peers) + " |")
    print("|---" * (1 + len(servers) + len(peers)) + "|")
    for scenario, key, label, better in ROWS:
        values = {s: results[s].get(scenario, {}).get(key) for s in servers}
        cells = ["-" if v is None else f"{v:,.2f}" for v in values.values()]
        ratios = []
        for p in peers:
            h, v = values.get("herald"), values.get(p)
            ratios.append("-" if not h or not v else f"{h / v:.2f} ({better} is better)")
        print(f"| {label} | " + " | ".join(cells) + "".join(f" | {r}" for r in ratios) + " |")
    raw, herald = baseline.get("cpu_us_per_round_trip"), results.get("herald", {}).get("bosh-rtt", {}).get("cpu_us_per_round_trip")
    if raw:
        ratio = f"; Herald's BOSH round trip costs {herald / raw:.2f}× that (target ≤ 1.7×)" if herald else ""
        print(f"\nRaw HTTP baseline (plain hyper, empty 200s, same connections and rate): {raw:,.2f} µs of server CPU per round trip{ratio}.")
    for s in servers:
        for scenario, r in results[s].items():
            if r.get("failed"):
                print(f"\n{s} {scenario}: {r['failed']} of {r['sessions']} sessions failed")


if __name__ == "__main__":
    main()
