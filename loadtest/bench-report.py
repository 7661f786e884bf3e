#!/usr/bin/env python3
"""Markdown tables of one `make bench` run: loadtest/bench-report.py RESULTS_DIR.

Reads the JSON files liaison-loadtest wrote (fanout-KIND-N-REP.json, chat-MODE.json, presence.json,
mod.json, calls.json, connect.json) and machine.txt; prints the summary. For each fan-out cell
(server, N) the run with the median deliveries/s is the one reported.
"""
import glob
import json
import os
import re
import statistics
import sys

run = sys.argv[1]


def load(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def ms(lat, key):
    return f"{lat.get(key, 0):.2f}" if lat and lat.get("count") else "–"


def kib_mib(kib):
    return f"{kib / 1024:.1f} MiB" if kib else "–"


def errors(r):
    return r.get("protocol_errors", sum((r.get("errors") or {}).values()))


out = []
machine = open(os.path.join(run, "machine.txt")).read().strip() if os.path.exists(os.path.join(run, "machine.txt")) else ""
out.append(f"# Liaison benchmarks — {os.path.basename(run)}\n")
if machine:
    out.append("```\n" + machine + "\n```\n")

# Fan-out side by side.
cells = {}
for path in glob.glob(os.path.join(run, "fanout-*.json")):
    m = re.match(r"fanout-(\w+)-(\d+)-(\d+)\.json$", os.path.basename(path))
    r = load(path)
    if not m or not r:
        continue
    cells.setdefault((m.group(1), int(m.group(2))), []).append(r)

if cells:
    def median_run(runs):
        runs = sorted(runs, key=lambda r: r["deliveries_per_s"])
        return runs[(len(runs) - 1) // 2], [r["deliveries_per_s"] for r in runs]

    ns = sorted({n for _, n in cells})
    kinds = [k for k in ("lws", "node", "liaison") if any((k, n) in cells for n in ns)]
    names = {"lws": "libwebsockets-test-server (C)", "node": "Node ws broadcast", "liaison": "Liaison (room)"}
    size = next(iter(cells.values()))[0].get("size")
    window = next(iter(cells.values()))[0].get("window")
    out.append(f"## Fan-out: one sender, N receivers, {size}-byte payloads, window {window}\n")
    out.append("Median of the runs per cell (all runs' deliveries/s in brackets). Latency: send → receipt at "
               "each receiver. RSS: the server's peak during the run. CPU: cores busy (server / harness).\n")
    out.append("| N | server | deliveries/s | p50 ms | p99 ms | server RSS | CPU srv/harness | errors |")
    out.append("|---:|---|---:|---:|---:|---:|---|---:|")
    best = {}
    for n in ns:
        for k in kinds:
            if (k, n) not in cells:
                continue
            r, all_runs = median_run(cells[(k, n)])
            best[(k, n)] = r
            cpu = r.get("cpu_cores") or {}
            cpu_text = f"{cpu.get('server') or 0:.2f} / {cpu.get('harness') or 0:.2f}"
            rss = (r.get("server_rss") or {}).get("peak_kib")
            runs_text = ", ".join(f"{v:.0f}" for v in all_runs)
            out.append(f"| {n:,} | {names[k]} | {r['deliveries_per_s']:,.0f} ({runs_text}) | {ms(r['latency'], 'p50_ms')} "
                       f"| {ms(r['latency'], 'p99_ms')} | {kib_mib(rss)} | {cpu_text} | {errors(r)} |")
    out.append("")
    if "liaison" in kinds:
        out.append("Liaison's ratio to each peer (deliveries/s; > 1 means Liaison delivers more; RSS: Liaison / peer):\n")
        out.append("| N | vs lws: deliveries | vs lws: p99 | vs lws: RSS | vs Node: deliveries | vs Node: p99 | vs Node: RSS |")
        out.append("|---:|---:|---:|---:|---:|---:|---:|")
        for n in ns:
            li = best.get(("liaison", n))
            if not li:
                continue
            row = [f"{n:,}"]
            for k in ("lws", "node"):
                p = best.get((k, n))
                if not p or not p["deliveries_per_s"]:
                    row += ["–", "–", "–"]
                    continue
                row.append(f"{li['deliveries_per_s'] / p['deliveries_per_s']:.2f}×")
                lp, pp = li["latency"].get("p99_ms"), p["latency"].get("p99_ms")
                row.append(f"{lp / pp:.2f}×" if lp and pp else "–")
                lr, pr = (li.get("server_rss") or {}).get("peak_kib"), (p.get("server_rss") or {}).get("peak_kib")
                row.append(f"{lr / pr:.1f}×" if lr and pr else "–")
            out.append("| " + " | ".join(row) + " |")
        out.append("")

# Liaison only.
rows = []
for mode in ("batch", "always"):
    r = load(os.path.join(run, f"chat-{mode}.json"))
    if r:
        rows.append((f"chat, --fsync {mode}", f"{r['rooms']} rooms × {r['members']} members = {r['senders']} senders, window {r['window']}",
                     f"{r['acks_per_s']:,.0f} acked msgs/s, {r['deliveries_per_s']:,.0f} deliveries/s",
                     f"ack p50 {ms(r['ack_latency'], 'p50_ms')} / p99 {ms(r['ack_latency'], 'p99_ms')}; "
                     f"send→every member p50 {ms(r['every_member_latency'], 'p50_ms')} / p99 {ms(r['every_member_latency'], 'p99_ms')}",
                     errors(r)))
r = load(os.path.join(run, "presence.json"))
if r:
    rows.append(("presence", f"{r['watchers']} watchers × {r['watched_per_watcher']} of {r['users']} users, {r['rate_per_user']:g} flips/s each",
                 f"{r['flips_per_s']:,.0f} flips/s, {r['events_per_s']:,.0f} events/s",
                 f"set→event p50 {ms(r['latency'], 'p50_ms')} / p99 {ms(r['latency'], 'p99_ms')}", errors(r)))
r = load(os.path.join(run, "mod.json"))
if r:
    winners = ", ".join(f"{k} winner: {v} requests" for k, v in sorted(r["winners_per_request"].items()))
    rows.append(("mod", f"{r['fmds']} FMDs, {r['rate']:g} requests/s",
                 f"{r['requests']} requests, {r['offers']:,} offers, {r['claims']:,} claims ({winners}; violations {r['one_winner_violations']})",
                 f"request→last offer p50 {ms(r['last_offer_latency'], 'p50_ms')} / p99 {ms(r['last_offer_latency'], 'p99_ms')}; "
                 f"claim decision p50 {ms(r['claim_latency'], 'p50_ms')} / p99 {ms(r['claim_latency'], 'p99_ms')}",
                 errors(r)))
r = load(os.path.join(run, "calls.json"))
if r:
    rows.append(("calls", f"{r['pairs']} pairs, back to back", f"{r['setups_per_s']:,.0f} setups/s",
                 f"invite→accepted p50 {ms(r['setup_latency'], 'p50_ms')} / p99 {ms(r['setup_latency'], 'p99_ms')}", errors(r)))
r = load(os.path.join(run, "connect.json"))
if r:
    rss = r.get("server_rss") or {}
    per = rss.get("per_connection_kib")
    rows.append(("connect (idle)", f"{r['connections']['held']:,} authenticated connections held",
                 f"{per:.2f} KiB RSS per connection" if per is not None else "–",
                 f"connect p50 {ms(r['connect_latency'], 'p50_ms')} / p99 {ms(r['connect_latency'], 'p99_ms')}; "
                 f"server RSS {kib_mib(rss.get('before_kib'))} → {kib_mib(rss.get('holding_kib'))}",
                 errors(r)))
if rows:
    out.append("## Liaison-only scenarios\n")
    out.append("| scenario | workload | throughput | latency (ms) | errors |")
    out.append("|---|---|---|---|---:|")
    for row in rows:
        out.append("| " + " | ".join(str(c) for c in row) + " |")
    out.append("")

print("\n".join(out))
