#!/usr/bin/env bash
# Smoke run of every liaison-loadtest scenario: small N, ~2 s each (churn: 300 short sessions),
# against a debug server started here on a free loopback port (fresh data dir). Fails when any
# scenario reports a protocol error (an error reply, a lost, duplicated or reordered delivery, a MOD
# request with other than exactly one winner, a call step that did not happen, a churn session not
# synced or not closed cleanly) or cannot run. No timing or memory assertions.
#
# The mirror mode runs against the Node ws broadcast server (loadtest/peers/broadcast.js) and
# libwebsockets' test server when they are installed (node-ws, libwebsockets-test-server), and is
# skipped otherwise.
#
# Environment: CONFIG [debug]  BIN [swift build -c CONFIG --show-bin-path]  SKIP_BUILD [unset]
#   DURATION [2]  OUT [a temp dir: one JSON per scenario, server.log]
set -euo pipefail
cd "$(dirname "$0")/.."

CONFIG=${CONFIG:-debug}
DURATION=${DURATION:-2}
OUT=${OUT:-$(mktemp -d -t liaison-smoke.XXXXXX)}
mkdir -p "$OUT"
SECRET=smoke

if [ -z "${SKIP_BUILD:-}" ] && [ -z "${BIN:-}" ]; then
    swift build -c "$CONFIG" --product liaison >&2
    swift build -c "$CONFIG" --product liaison-loadtest >&2
fi
BIN=${BIN:-$(swift build -c "$CONFIG" --show-bin-path)}
for exe in liaison liaison-loadtest; do
    [ -x "$BIN/$exe" ] || { echo "smoke: missing $BIN/$exe" >&2; exit 1; }
done
ulimit -n 20000 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

PIDS=()
DATA=$(mktemp -d -t liaison-smoke-data.XXXXXX)
cleanup() {
    for pid in "${PIDS[@]}"; do
        kill -TERM "$pid" 2>/dev/null || true
    done
    for pid in "${PIDS[@]}"; do
        for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    rm -rf "$DATA"
}
trap cleanup EXIT

PORT=$(free_port)
"$BIN/liaison" serve --host 127.0.0.1 --port "$PORT" --tls-port 0 --data-dir "$DATA" --jwt-secret "$SECRET" \
    --rate-limit 1000000 --max-frame-bytes 1048576 >"$OUT/server.log" 2>&1 &
SERVER=$!
PIDS+=("$SERVER")
for _ in $(seq 1 100); do
    curl -fsS "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 && break
    kill -0 "$SERVER" 2>/dev/null || { echo "smoke: server exited" >&2; cat "$OUT/server.log" >&2; exit 1; }
    sleep 0.1
done

FAILED=()
PASSED=0
run() {  # run NAME ARGS... : one scenario; passes when it exits 0
    local name=$1; shift
    echo "== smoke: $name" >&2
    if timeout 120 "$BIN/liaison-loadtest" "$@" --duration "$DURATION" --ramp 0.5 --json "$OUT/$name.json"; then
        PASSED=$((PASSED + 1))
    else
        echo "smoke: $name FAILED" >&2
        FAILED+=("$name")
    fi
}
COMMON=(--port "$PORT" --secret "$SECRET" --server-pid "$SERVER")
run connect  connect  "${COMMON[@]}" -c 50 --settle 0.5
run rtt      rtt      "${COMMON[@]}" -c 10 --window 2 --warmup 0.5
run presence presence "${COMMON[@]}" --watchers 20 --users 10 --rate 5 --warmup 0.5
run chat     chat     "${COMMON[@]}" --rooms 5 --members 3 --window 4 --warmup 0.5
run chat-rate chat    "${COMMON[@]}" --user-prefix ltr --rooms 3 --members 2 --rate 50 --warmup 0.5
run fanout   fanout   "${COMMON[@]}" -n 50 --window 8 --warmup 0.5
run fanout-lws-client fanout "${COMMON[@]}" --user-prefix ltl -n 20 --window 4 --warmup 0.5 --client lws
run mod      mod      "${COMMON[@]}" --fmds 20 --requesters 2 --rate 5 --warmup 0.5
run calls    calls    "${COMMON[@]}" --pairs 10 --warmup 0.5
run churn    churn    "${COMMON[@]}" --sessions 300 --warmup 100 --concurrency 20 --settle 0.5 --time-limit 60

if command -v node >/dev/null 2>&1 && [ -f /usr/share/nodejs/ws/package.json ]; then
    NODE_PORT=$(free_port)
    NODE_PATH=/usr/share/nodejs node loadtest/peers/broadcast.js "$NODE_PORT" 127.0.0.1 >"$OUT/node.log" 2>&1 &
    PIDS+=("$!")
    for _ in $(seq 1 50); do grep -q listening "$OUT/node.log" 2>/dev/null && break; sleep 0.1; done
    run mirror-node mirror --port "$NODE_PORT" --label node -n 50 --window 8 --warmup 0.5
else
    echo "== smoke: mirror-node skipped (node or node-ws not installed)" >&2
fi
if command -v libwebsockets-test-server >/dev/null 2>&1; then
    LWS_PORT=$(free_port)
    libwebsockets-test-server -p "$LWS_PORT" -i lo -d 3 >"$OUT/lws.log" 2>&1 &
    PIDS+=("$!")
    sleep 0.5
    run mirror-lws mirror --port "$LWS_PORT" --label lws -n 50 --window 8 --warmup 0.5
else
    echo "== smoke: mirror-lws skipped (libwebsockets-test-server not installed)" >&2
fi

echo "smoke: results in $OUT" >&2
echo "smoke: ${PASSED} passed, ${#FAILED[@]} failed"
if [ "${#FAILED[@]}" -gt 0 ]; then
    echo "failed: ${FAILED[*]}" >&2
    exit 1
fi
