#!/usr/bin/env bash
# make bench-cluster: issue 11's figures. The same workloads against a single process, against the active
# node of a three-node cluster (its journal in JetStream) and against a node that relays (every frame
# crosses nodes over NATS twice), then the failover time with the default lease.
#
#   chat     CHAT_ROOMS rooms × 2 members, window 16, 100-byte bodies: acked msgs/s, ack and delivery p50/p99
#   paced    the same at 25 msgs/s per sender (1,000 msgs/s in all): delivery p50/p99 below saturation
#   fanout   FANOUT members and one sender, window 16: deliveries/s, send → member p50/p99
#   mod      MOD_FMDS FMDs, 2 requests/s, every FMD claims: winners per request
#   failover kill -9 of the active node of three (--cluster-lease LEASE): seconds until a node answers as active
#
# The three nodes and NATS share this machine's cores with the harness: compare the modes as ratios
# (the cost per message of the cluster path), not as scaling. Environment: BUILD [release] or debug,
# SKIP_BUILD, DURATION [10], LEASE [5], OUT [loadtest/results/cluster-STAMP], FAILOVER_ONLY (1: only that).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BUILD=${BUILD:-release}
DURATION=${DURATION:-10}
LEASE=${LEASE:-5}
CHAT_ROOMS=${CHAT_ROOMS:-20}
FANOUT=${FANOUT:-500}
MOD_FMDS=${MOD_FMDS:-60}
SECRET=bench-cluster-secret
OUT=${OUT:-$ROOT/loadtest/results/cluster-$(date +%Y%m%d-%H%M%S)}
mkdir -p "$OUT"
PATH="$PATH:/usr/sbin"

if [ -z "${SKIP_BUILD:-}" ]; then
    swift build -c "$BUILD" --product liaison
    swift build -c "$BUILD" --product liaison-loadtest
fi
BIN=${BIN:-$(swift build -c "$BUILD" --show-bin-path)}
ulimit -n 40000 2>/dev/null || ulimit -n "$(ulimit -Hn)"

PIDS=()
WORK=$(mktemp -d -t liaison-cluster-bench.XXXXXX)
stop_all() {  # the nodes first (the last started first), NATS last
    for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do
        kill -TERM "${PIDS[i]}" 2>/dev/null || true
        wait "${PIDS[i]}" 2>/dev/null || true
    done
    PIDS=()
}
trap 'stop_all; rm -rf "$WORK"' EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
role_of() { curl -s "http://127.0.0.1:$1/healthz" | python3 -c 'import json,sys; print(json.load(sys.stdin).get("cluster",{}).get("role",""))' 2>/dev/null || true; }
wait_healthy() { for _ in $(seq 1 300); do curl -sf "http://127.0.0.1:$1/healthz" >/dev/null 2>&1 && return 0; sleep 0.05; done; return 1; }

start_node() {  # NAME PORT [flags…]: a liaison serve on PORT with its own data dir
    local name=$1 port=$2; shift 2
    "$BIN/liaison" serve --host 127.0.0.1 --port "$port" --tls-port 0 --data-dir "$WORK/$name" --jwt-secret "$SECRET" \
        --rate-limit 1000000 "$@" >"$OUT/$name.log" 2>&1 &
    PIDS+=($!)
    wait_healthy "$port"
}

start_cluster() {  # STAMP: nats and nodes a (active), b, c; sets NATS, PORT_A, PORT_B, PORT_C
    local stamp=$1
    NATS=$(free_port)
    nats-server -js -a 127.0.0.1 -p "$NATS" -sd "$WORK/nats-$stamp" >"$OUT/nats-$stamp.log" 2>&1 &
    PIDS+=($!)
    for _ in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/"$NATS") 2>/dev/null && break; sleep 0.05; done
    PORT_A=$(free_port); PORT_B=$(free_port); PORT_C=$(free_port)
    start_node "a-$stamp" "$PORT_A" --cluster "nats://127.0.0.1:$NATS" --node a --cluster-lease "$LEASE"
    for _ in $(seq 200); do [ "$(role_of "$PORT_A")" = active ] && break; sleep 0.05; done
    start_node "b-$stamp" "$PORT_B" --cluster "nats://127.0.0.1:$NATS" --node b --cluster-lease "$LEASE"
    start_node "c-$stamp" "$PORT_C" --cluster "nats://127.0.0.1:$NATS" --node c --cluster-lease "$LEASE"
}

harness() {  # NAME PORT SCENARIO ARGS…
    local name=$1 port=$2 scenario=$3; shift 3
    echo "== $name" >&2
    timeout 300 "$BIN/liaison-loadtest" "$scenario" --port "$port" --secret "$SECRET" --duration "$DURATION" \
        --json "$OUT/$name.json" "$@" >"$OUT/$name.txt" 2>&1 || echo "cluster-figures: $name failed (see $OUT/$name.txt)" >&2
}

workloads() {  # MODE PORT
    harness "$1-chat" "$2" chat --rooms "$CHAT_ROOMS" --members 2 --window 16 --size 100 --warmup 2 --ramp 1 --user-prefix "$1c"
    harness "$1-paced" "$2" chat --rooms "$CHAT_ROOMS" --members 2 --rate 25 --size 100 --warmup 2 --ramp 1 --user-prefix "$1p"
    harness "$1-fanout" "$2" fanout -n "$FANOUT" --window 16 --ramp 2 --user-prefix "$1f"
    harness "$1-mod" "$2" mod --fmds "$MOD_FMDS" --requesters 2 --rate 2 --ramp 1 --user-prefix "$1m"
}

if [ -z "${FAILOVER_ONLY:-}" ]; then
    PORT=$(free_port)
    start_node single "$PORT"
    workloads single "$PORT"
    stop_all

    start_cluster 1
    workloads active "$PORT_A"
    workloads relay "$PORT_B"
    stop_all
fi

# failover: three nodes, the active one killed after a chat run has filled its journal; the time until
# another one answers as active (it reads the whole journal first: see how many records it read)
start_cluster 2
harness fill-journal "$PORT_B" chat --rooms "$CHAT_ROOMS" --members 2 --window 16 --size 100 --warmup 0 --ramp 1 --user-prefix fill
kill -KILL "${PIDS[1]}"
killed=$(date +%s.%N)
waited_from=$SECONDS
while true; do
    [ "$(role_of "$PORT_B")" = active ] || [ "$(role_of "$PORT_C")" = active ] && break
    if (( SECONDS - waited_from > 120 )); then
        echo "no node became active within 120 s of the kill (see $OUT/b-2.log, $OUT/c-2.log)" >&2
        stop_all
        exit 1
    fi
    sleep 0.02
done
records=$(grep -ho "active: [0-9]* journal records applied" "$OUT"/b-2.log "$OUT"/c-2.log | grep -o "^active: [0-9]*" | grep -o "[0-9]*" | tail -1)
python3 -c "import json; json.dump({'lease_s': $LEASE, 'failover_s': $(date +%s.%N) - $killed, 'journal_records': ${records:-0}}, open('$OUT/failover.json', 'w'))"
stop_all

python3 - "$OUT" <<'PY'
import json, sys, pathlib
out = pathlib.Path(sys.argv[1])
def load(name):
    try:
        return json.loads((out / f"{name}.json").read_text())
    except (OSError, ValueError):
        return {}
def p(h, q):
    return f"{h.get(q + '_ms', float('nan')):.2f}" if h else "n/a"
rows = []
for mode in ("single", "active", "relay"):
    chat, fan, mod = load(f"{mode}-chat"), load(f"{mode}-fanout"), load(f"{mode}-mod")
    rows.append((mode, chat.get("acks_per_s", 0), p(chat.get("ack_latency"), "p50"), p(chat.get("ack_latency"), "p99"),
                 p(chat.get("latency"), "p50"), p(chat.get("latency"), "p99"), fan.get("deliveries_per_s", 0),
                 p(fan.get("latency"), "p50"), p(fan.get("latency"), "p99"),
                 " ".join(f"{k} winner(s): {v}" for k, v in sorted((mod.get("winners_per_request") or {}).items())) or "n/a",
                 sum(load(f"{mode}-{s}").get("protocol_errors", 0) for s in ("chat", "fanout", "mod"))))
paced = {mode: load(f"{mode}-paced") for mode in ("single", "active", "relay")}
print("| mode | paced chat: ack p50 / p99 ms | delivery p50 / p99 ms |")
print("| --- | --- | --- |")
for mode, run in paced.items():
    print(f"| {mode} | {p(run.get('ack_latency'), 'p50')} / {p(run.get('ack_latency'), 'p99')} | {p(run.get('latency'), 'p50')} / {p(run.get('latency'), 'p99')} |")
print()
print("| mode | chat acked msgs/s | ack p50 / p99 ms | delivery p50 / p99 ms | fan-out deliveries/s | fan-out p50 / p99 ms | MOD requests by winners | protocol errors |")
print("| --- | --- | --- | --- | --- | --- | --- | --- |")
for r in rows:
    print(f"| {r[0]} | {r[1]} | {r[2]} / {r[3]} | {r[4]} / {r[5]} | {r[6]} | {r[7]} / {r[8]} | {r[9]} | {r[10]} |")
single = rows[0]
for r in rows[1:]:
    if single[1] and r[1]:
        print(f"{r[0]}: chat cost per acked message {single[1] / r[1]:.2f}x the single process; fan-out {single[6] / max(r[6], 1):.2f}x")
f = load("failover")
print(f"failover: another node active {f.get('failover_s', float('nan')):.2f} s after kill -9 of the active one "
      f"(lease {f.get('lease_s')} s), having read a journal of {f.get('journal_records')} records")
PY
