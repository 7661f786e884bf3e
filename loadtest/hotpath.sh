#!/usr/bin/env bash
# make bench-hotpath: the hot-path figures of issue 18, each against a fresh release server, with the
# server's own latency histograms (GET /metrics) next to the harness's percentiles.
#
#   chat-max      100 senders in 50 rooms, window 16, --fsync batch: acked msgs/s
#   chat-paced    the same at RATE_CHAT msgs/s in all (paced per sender): ack p99
#   mod           MOD_FMDS FMDs, MOD_RATE requests/s, every FMD claims: last offer p99, claim p99, winners
#   calls         CALL_PAIRS pairs, CALL_RATE setups/s paced: ring p99, accepted p99
#   fanout-max    FANOUT_MAX members, window 16: deliveries/s
#   fanout-paced  FANOUT_PACED members at 10 msgs/s: last-member p99
#
# Environment: SKIP_BUILD, ONLY="chat-max mod …", DURATION [10], OUT [loadtest/results/hotpath-STAMP],
# SERVER_BIN [the release liaison]: another server binary, e.g. an older commit's, for before → after.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
DURATION=${DURATION:-10}
RATE_CHAT=${RATE_CHAT:-25000}
MOD_FMDS=${MOD_FMDS:-1000}
MOD_RATE=${MOD_RATE:-2}
CALL_PAIRS=${CALL_PAIRS:-500}
CALL_RATE=${CALL_RATE:-500}
FANOUT_MAX=${FANOUT_MAX:-15000}
FANOUT_PACED=${FANOUT_PACED:-5000}
ONLY=${ONLY:-"chat-max chat-paced mod calls fanout-max fanout-paced"}
SECRET=bench
SOURCES=127.0.0.2,127.0.0.3,127.0.0.4,127.0.0.5,127.0.0.6,127.0.0.7
OUT=${OUT:-$ROOT/loadtest/results/hotpath-$(date +%Y%m%d-%H%M%S)}
mkdir -p "$OUT"

if [ -z "${SKIP_BUILD:-}" ]; then
    swift build -c release --product liaison
    swift build -c release --product liaison-loadtest
fi
BIN=$(swift build -c release --show-bin-path)
SERVER_BIN=${SERVER_BIN:-$BIN/liaison}
ulimit -n 40000 2>/dev/null || ulimit -n "$(ulimit -Hn)"

SERVER_PID=""
DATA=""
stop_server() {
    [ -n "$SERVER_PID" ] || return 0
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=""
    [ -z "$DATA" ] || rm -rf "$DATA"
}
trap stop_server EXIT

start_server() {  # NAME [flags…]
    local name=$1; shift
    PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    DATA=$(mktemp -d -t liaison-hotpath.XXXXXX)
    "$SERVER_BIN" serve --host 127.0.0.1 --port "$PORT" --tls-port 0 --data-dir "$DATA" --jwt-secret "$SECRET" \
        --rate-limit 1000000 --max-frame-bytes 4194304 "$@" >"$OUT/$name.server.log" 2>&1 &
    SERVER_PID=$!
    for _ in $(seq 1 200); do
        curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 && return 0
        sleep 0.05
    done
    echo "hotpath: the server did not start (see $OUT/$name.server.log)" >&2
    return 1
}

run() {  # NAME SCENARIO ARGS…: a fresh server, the harness, then the server's histograms
    local name=$1 scenario=$2; shift 2
    [[ " $ONLY " == *" $name "* ]] || return 0
    echo "== $name" >&2
    start_server "$name" --fsync batch
    local common=(--port "$PORT" --secret "$SECRET" --server-pid "$SERVER_PID" --source-addresses "$SOURCES"
                  --duration "$DURATION" --json "$OUT/$name.json")
    timeout 600 "$BIN/liaison-loadtest" "$scenario" "${common[@]}" "$@" >"$OUT/$name.txt" 2>&1 \
        || echo "hotpath: $name failed (see $OUT/$name.txt)" >&2
    curl -sf "http://127.0.0.1:$PORT/metrics" >"$OUT/$name.metrics" || true
    stop_server
}

run chat-max chat --rooms 50 --members 2 --window 16 --size 100 --warmup 2 --ramp 1
run chat-paced chat --rooms 50 --members 2 --window 64 --rate "$(( RATE_CHAT / 100 ))" --size 100 --warmup 2 --ramp 1
run mod mod --fmds "$MOD_FMDS" --rate "$MOD_RATE" --warmup 2 --ramp 2
run calls calls --pairs "$CALL_PAIRS" --rate "$CALL_RATE" --warmup 2 --ramp 1
run fanout-max fanout -n "$FANOUT_MAX" --window 16 --size 100 --warmup 2 --ramp 8 --drain 20
run fanout-paced fanout -n "$FANOUT_PACED" --rate 10 --size 100 --warmup 2 --ramp 3 --drain 20

python3 "$ROOT/loadtest/hotpath-report.py" "$OUT" | tee "$OUT/summary.md"
