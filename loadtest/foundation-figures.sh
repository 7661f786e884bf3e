#!/usr/bin/env bash
# Foundation figures (issue 2), measured on this machine over loopback:
#   1. server RSS per idle authenticated connection at CONNECTIONS connections;
#   2. request/reply round trips per second (presence.set -> ok) with RTT_CONNECTIONS connections.
#
# Builds release (unless SKIP_BUILD=1), starts `liaison serve` on a free loopback
# port with a fresh data dir, runs the `connect` then the `rtt` scenario of
# liaison-loadtest, prints both figures and stops the server. Bounded in time.
#
# Environment (defaults in brackets):
#   CONFIG [release]  CONNECTIONS [10000]  RAMP [10]  HOLD [10]
#   RTT_CONNECTIONS [100]  RTT_WINDOW [1]  RTT_DURATION [10]
#   OUT [a new temp dir: connect.json, rtt.json, server.log]  SKIP_BUILD [unset]
set -euo pipefail
cd "$(dirname "$0")/.."

CONFIG=${CONFIG:-release}
CONNECTIONS=${CONNECTIONS:-10000}
RAMP=${RAMP:-10}
HOLD=${HOLD:-10}
RTT_CONNECTIONS=${RTT_CONNECTIONS:-100}
RTT_WINDOW=${RTT_WINDOW:-1}
RTT_DURATION=${RTT_DURATION:-10}
OUT=${OUT:-$(mktemp -d -t liaison-figures.XXXXXX)}
SECRET=bench
mkdir -p "$OUT"

if [ -z "${SKIP_BUILD:-}" ]; then
    echo "== building ($CONFIG)" >&2
    swift build -c "$CONFIG" --product liaison
    swift build -c "$CONFIG" --product liaison-loadtest
fi
BIN=$(swift build -c "$CONFIG" --show-bin-path)
for exe in liaison liaison-loadtest; do
    [ -x "$BIN/$exe" ] || { echo "missing $BIN/$exe (build it, or unset SKIP_BUILD)" >&2; exit 1; }
done

# Both processes hold one descriptor per connection (hard limit here: 20000).
ulimit -n 20000 2>/dev/null || ulimit -n "$(ulimit -Hn)"
if [ "$(ulimit -n)" -lt $((CONNECTIONS + 100)) ]; then
    echo "open-files limit $(ulimit -n) is too low for $CONNECTIONS connections" >&2
    exit 1
fi

PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
DATA=$(mktemp -d -t liaison-figures-data.XXXXXX)
"$BIN/liaison" serve --host 127.0.0.1 --port "$PORT" --tls-port 0 --data-dir "$DATA" \
    --jwt-secret "$SECRET" --rate-limit 100000 >"$OUT/server.log" 2>&1 &
SERVER=$!
cleanup() {
    if kill -0 "$SERVER" 2>/dev/null; then
        kill -TERM "$SERVER" 2>/dev/null || true
        for _ in $(seq 1 50); do kill -0 "$SERVER" 2>/dev/null || break; sleep 0.2; done
        kill -KILL "$SERVER" 2>/dev/null || true
    fi
    wait "$SERVER" 2>/dev/null || true
    rm -rf "$DATA"
}
trap cleanup EXIT

for _ in $(seq 1 100); do
    curl -fsS "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 && break
    kill -0 "$SERVER" 2>/dev/null || { echo "server exited:" >&2; cat "$OUT/server.log" >&2; exit 1; }
    sleep 0.2
done
curl -fsS "http://127.0.0.1:$PORT/healthz" >/dev/null || { echo "server not healthy on port $PORT" >&2; exit 1; }

echo "== connect: $CONNECTIONS connections (ramp ${RAMP}s, hold ${HOLD}s), server pid $SERVER" >&2
timeout $((RAMP + HOLD + 120)) "$BIN/liaison-loadtest" connect --port "$PORT" --secret "$SECRET" \
    --user-prefix idle --connections "$CONNECTIONS" --ramp "$RAMP" --duration "$HOLD" \
    --server-pid "$SERVER" --json "$OUT/connect.json"

sleep 2
echo "== rtt: $RTT_CONNECTIONS connections, window $RTT_WINDOW, ${RTT_DURATION}s" >&2
timeout $((RTT_DURATION + 120)) "$BIN/liaison-loadtest" rtt --port "$PORT" --secret "$SECRET" \
    --user-prefix rtt --connections "$RTT_CONNECTIONS" --window "$RTT_WINDOW" --ramp 1 \
    --duration "$RTT_DURATION" --server-pid "$SERVER" --json "$OUT/rtt.json"

echo
python3 - "$OUT/connect.json" "$OUT/rtt.json" <<'EOF'
import json, sys
c = json.load(open(sys.argv[1]))
r = json.load(open(sys.argv[2]))
rss = c.get("server_rss") or {}
per = rss.get("per_connection_kib")
print("Foundation figures")
print(f"  RSS per idle authenticated connection at {c['connections']['held']} connections: "
      + (f"{per:.2f} KiB" if per is not None else "n/a")
      + f"  (server RSS {rss.get('before_kib')} -> {rss.get('holding_kib')} KiB; goal <= 6 KiB)")
lat = r["latency"]
print(f"  request/reply round trips/s with {r['connections']} connections (presence.set -> ok, window {r['window']}): "
      f"{r['round_trips_per_s']:.0f}  (p50 {lat['p50_ms']} ms, p99 {lat['p99_ms']} ms)")
errors = sum(c["errors"].values()) + sum(r["errors"].values())
print(f"  errors: {errors}; results in {sys.argv[1].rsplit('/', 1)[0]}")
EOF
