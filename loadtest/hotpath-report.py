#!/usr/bin/env python3
"""The hot-path table: harness figures (loadtest JSON) next to the server's own histograms (/metrics).

Usage: hotpath-report.py DIR   (DIR holds NAME.json and NAME.metrics from loadtest/hotpath.sh)
"""
import json
import math
import os
import re
import sys

LINE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)$')
LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


def histograms(path):
    """{(name, labels-without-le): [(le, cumulative count), …]} from a Prometheus text exposition."""
    found = {}
    if not os.path.exists(path):
        return found
    for line in open(path):
        match = LINE.match(line.strip())
        if not match or not match.group(1).endswith("_bucket"):
            continue
        labels = dict(LABEL.findall(match.group(2) or ""))
        le = labels.pop("le", None)
        if le is None:
            continue
        key = (match.group(1)[: -len("_bucket")], tuple(sorted(labels.items())))
        found.setdefault(key, []).append((math.inf if le == "+Inf" else float(le), float(match.group(3))))
    return {key: sorted(buckets) for key, buckets in found.items()}


def quantile(buckets, q):
    """Prometheus' histogram_quantile: linear interpolation inside the bucket that holds rank q."""
    total = buckets[-1][1] if buckets else 0
    if total == 0:
        return None
    rank = q * total
    lower, below = 0.0, 0.0
    for le, count in buckets:
        if count >= rank:
            if math.isinf(le):
                return lower
            return lower + (le - lower) * ((rank - below) / max(count - below, 1e-9))
        lower, below = le, count
    return lower


def server(metrics, name, q=0.99, **labels):
    buckets = metrics.get((name, tuple(sorted(labels.items()))))
    value = quantile(buckets, q) if buckets else None
    if value is None:
        return "–"
    return f"{value * 1000:.2f} ms" if name.endswith("_seconds") else f"{value:.0f}"


def count(metrics, name, **labels):
    buckets = metrics.get((name, tuple(sorted(labels.items()))))
    return int(buckets[-1][1]) if buckets else 0


def p99(result, key):
    value = (result or {}).get(key, {}).get("p99_ms")
    return "–" if value is None else f"{value:.2f} ms"


def main(directory):
    def load(name):
        path = os.path.join(directory, name + ".json")
        return json.load(open(path)) if os.path.exists(path) else None

    rows = []

    def row(figure, goal, harness, server_side):
        rows.append(f"| {figure} | {goal} | {harness} | {server_side} |")

    for name in ("chat-max", "chat-paced"):
        result, metrics = load(name), histograms(os.path.join(directory, name + ".metrics"))
        if result is None:
            continue
        inside = (f"msg.send p99 {server(metrics, 'liaison_request_duration_seconds', type='msg.send')}; "
                  f"fan-out p99 {server(metrics, 'liaison_fanout_duration_seconds')}; "
                  f"fsync p99 {server(metrics, 'liaison_journal_fsync_seconds')}, "
                  f"commit p50 {server(metrics, 'liaison_journal_batch_records', 0.5)} records; "
                  f"audit batch p50 {server(metrics, 'liaison_audit_batch_records', 0.5)}")
        cpu = result.get("cpu_cores", {}).get("server")
        cpu = f", server {cpu:.2f} cores" if isinstance(cpu, (int, float)) else ""
        if name == "chat-max":
            row("chat acked msgs/s (100 senders, window 16)", "≥ 50,000",
                f"{result['acks_per_s']:,.0f}/s, ack p99 {p99(result, 'ack_latency')}{cpu}", inside)
        else:
            row(f"chat paced {result['rate_per_sender'] * result['senders']:,.0f} msgs/s: ack p99", "≤ 10 ms",
                f"{p99(result, 'ack_latency')} ({result['acks_per_s']:,.0f} acked/s)", inside)

    result, metrics = load("mod"), histograms(os.path.join(directory, "mod.metrics"))
    if result is not None:
        winners = result.get("winners_per_request", {})
        row("MOD request → last offer p99", "≤ 5 ms", p99(result, "last_offer_latency"),
            f"mod.request p99 {server(metrics, 'liaison_request_duration_seconds', type='mod.request')}; "
            f"fan-out p99 {server(metrics, 'liaison_fanout_duration_seconds')}")
        row("MOD claim decision p99", "≤ 5 ms", p99(result, "claim_latency"),
            f"mod.claim p99 {server(metrics, 'liaison_request_duration_seconds', type='mod.claim')}")
        row("MOD winners per request", "exactly 1", json.dumps(winners), "")

    result, metrics = load("calls"), histograms(os.path.join(directory, "calls.metrics"))
    if result is not None:
        row(f"calls invite → ring p99 ({result.get('setups_per_s', 0):,.0f} setups/s)", "≤ 2 ms", p99(result, "ring_latency"),
            f"call.invite p99 {server(metrics, 'liaison_request_duration_seconds', type='call.invite')}")
        row("calls invite → accepted p99", "≤ 5 ms", p99(result, "setup_latency"),
            f"call.accept p99 {server(metrics, 'liaison_request_duration_seconds', type='call.accept')}")

    result, metrics = load("fanout-max"), histograms(os.path.join(directory, "fanout-max.metrics"))
    if result is not None:
        row(f"fan-out {result['members']:,} members: deliveries/s", "≥ 80,000",
            f"{result['deliveries_per_s']:,.0f}/s",
            f"fan-out p99 {server(metrics, 'liaison_fanout_duration_seconds')}")
    result, metrics = load("fanout-paced"), histograms(os.path.join(directory, "fanout-paced.metrics"))
    if result is not None:
        row(f"fan-out {result['members']:,} members at {result['rate']:g} msgs/s: last member p99", "≤ 70 ms",
            p99(result, "last_member_latency"),
            f"fan-out p99 {server(metrics, 'liaison_fanout_duration_seconds')} "
            f"(n={count(metrics, 'liaison_fanout_duration_seconds')})")

    print("| figure | goal | harness | server-side (/metrics) |")
    print("|---|---|---|---|")
    print("\n".join(rows))


if __name__ == "__main__":
    main(sys.argv[1])
