#!/usr/bin/env bash
# make bench: Liaison side by side with libwebsockets' C test server and a Node ws broadcast server
# on the same fan-out workload, then the Liaison-only scenarios. Loopback only, bounded in time
# (about 10 minutes after the build on 2 cores).
#
#  1. builds release (liaison, liaison-loadtest) unless SKIP_BUILD=1;
#  2. installs the peers if missing (apt-get install -y libwebsockets-test-server node-ws);
#  3. fan-out, for each N in FANOUT_NS, REPEAT times, interleaved: one sender, N receivers,
#     SIZE-byte messages, WINDOW in flight, against a fresh
#       (1) libwebsockets-test-server -p PORT -i lo   (lws-mirror-protocol),
#       (2) node loadtest/peers/broadcast.js PORT     (ws, NODE_PATH=/usr/share/nodejs),
#       (3) liaison serve                             (one room of N members + the sender);
#     the median run of each cell is reported: deliveries/s, p50/p99 latency, server RSS, and
#     Liaison's ratio to each peer;
#  4. Liaison only: chat (CHAT_ROOMS × 2 members = 100 senders) under --fsync batch and always,
#     presence churn, mod (MOD_FMDS FMDs), calls (CALL_PAIRS pairs), connect (IDLE_CONNECTIONS
#     idle connections: RSS per connection);
#  5. writes every result to loadtest/results/RUN/*.json and the tables to
#     loadtest/results/RUN/summary.md (and loadtest/results/latest.md), and prints them.
#
# Environment (defaults in brackets):
#   FANOUT_NS ["100 1000 5000"]  REPEAT [3]  FANOUT_DURATION [5]  WARMUP [2]  SIZE [100]  WINDOW [16]
#   CHAT_ROOMS [50]  CHAT_WINDOW [8]  DURATION [8]  MOD_FMDS [1000]  MOD_RATE [20]  CALL_PAIRS [500]
#   PRESENCE_WATCHERS [1000]  IDLE_CONNECTIONS [10000]  SKIP_BUILD [unset]  ONLY [fanout|liaison|all]
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

FANOUT_NS=${FANOUT_NS:-"100 1000 5000"}
REPEAT=${REPEAT:-3}
FANOUT_DURATION=${FANOUT_DURATION:-5}
WARMUP=${WARMUP:-2}
SIZE=${SIZE:-100}
WINDOW=${WINDOW:-16}
CHAT_ROOMS=${CHAT_ROOMS:-50}
CHAT_WINDOW=${CHAT_WINDOW:-8}
DURATION=${DURATION:-8}
MOD_FMDS=${MOD_FMDS:-1000}
MOD_RATE=${MOD_RATE:-20}
CALL_PAIRS=${CALL_PAIRS:-500}
PRESENCE_WATCHERS=${PRESENCE_WATCHERS:-1000}
IDLE_CONNECTIONS=${IDLE_CONNECTIONS:-10000}
ONLY=${ONLY:-all}
SECRET=bench
# Client sockets spread over several loopback source addresses: each has ~28k ephemeral ports,
# and every run leaves its closed connections in TIME_WAIT for a minute.
SOURCES=127.0.0.2,127.0.0.3,127.0.0.4,127.0.0.5,127.0.0.6,127.0.0.7

say() { printf '\n== %s\n' "$*" >&2; }

# 1. Build.
if [ -z "${SKIP_BUILD:-}" ]; then
    say "building release (liaison, liaison-loadtest)"
    swift build -c release --product liaison
    swift build -c release --product liaison-loadtest
fi
BIN=$(swift build -c release --show-bin-path)
for exe in liaison liaison-loadtest; do
    [ -x "$BIN/$exe" ] || { echo "bench: missing $BIN/$exe (build it, or unset SKIP_BUILD)" >&2; exit 1; }
done
LT="$BIN/liaison-loadtest"

# 2. Peers.
missing=()
command -v libwebsockets-test-server >/dev/null 2>&1 || missing+=(libwebsockets-test-server)
[ -f /usr/share/nodejs/ws/package.json ] || missing+=(node-ws)
command -v node >/dev/null 2>&1 || missing+=(nodejs)
if [ ${#missing[@]} -gt 0 ]; then
    say "installing ${missing[*]}"
    sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y "${missing[@]}"
fi

# Every process here holds one descriptor per connection.
ulimit -n 20000 2>/dev/null || ulimit -n "$(ulimit -Hn)"

STAMP=$(date +%Y%m%d-%H%M%S)
RUN="$ROOT/loadtest/results/$STAMP"
mkdir -p "$RUN"
LOGS="$RUN/logs"
mkdir -p "$LOGS"
{
    echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//') × $(nproc)"
    echo "memory: $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo)"
    echo "kernel: $(uname -r)"
    echo "load at start: $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "lws: $(dpkg-query -W -f='${Version}' libwebsockets-test-server 2>/dev/null || echo '?')"
    echo "node: $(node --version 2>/dev/null || echo '?'), ws $(sed -n 's/.*"version": *"\([^"]*\)".*/\1/p' /usr/share/nodejs/ws/package.json | head -1)"
    echo "liaison: $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')"
} >"$RUN/machine.txt"

# Servers: each run gets a fresh process, stopped right after.
SERVER_PID=""
DATA_DIRS=()
cleanup() {
    stop_server
    for d in "${DATA_DIRS[@]}"; do rm -rf "$d"; done
}
trap cleanup EXIT

# A free port below the ephemeral range (32768+), so no client socket of an earlier run holds it.
free_port() {
    python3 - <<'PY'
import random, socket
for _ in range(200):
    port = random.randint(21000, 29999)
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        s.bind(("127.0.0.1", port))
    except OSError:
        continue
    finally:
        s.close()
    print(port)
    break
PY
}

wait_listening() {  # PORT: until something accepts on it (5 s at most)
    for _ in $(seq 1 100); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
        kill -0 "$SERVER_PID" 2>/dev/null || { echo "bench: server exited (port $1 taken?)" >&2; return 1; }
        sleep 0.05
    done
    echo "bench: nothing listens on $1" >&2
    return 1
}

start_server() {  # KIND [liaison flags…]: a fresh server on a free port; sets SERVER_PID and PORT (3 tries)
    local kind=$1; shift
    for _ in 1 2 3; do
        PORT=$(free_port)
        if start_server_on "$kind" "$PORT" "$@"; then return 0; fi
        stop_server
    done
    echo "bench: could not start $kind" >&2
    return 1
}

start_server_on() {  # KIND PORT [liaison flags…]
    local kind=$1 port=$2; shift 2
    case $kind in
        lws)
            libwebsockets-test-server -p "$port" -i lo -d 3 >"$LOGS/lws-$port.log" 2>&1 &
            ;;
        node)
            NODE_PATH=/usr/share/nodejs node "$ROOT/loadtest/peers/broadcast.js" "$port" 127.0.0.1 \
                >"$LOGS/node-$port.log" 2>&1 &
            ;;
        liaison)
            local data
            data=$(mktemp -d -t liaison-bench-data.XXXXXX)
            DATA_DIRS+=("$data")
            "$BIN/liaison" serve --host 127.0.0.1 --port "$PORT" --tls-port 0 --data-dir "$data" \
                --jwt-secret "$SECRET" --rate-limit 1000000 --max-frame-bytes 4194304 "$@" \
                >"$LOGS/liaison-$port.log" 2>&1 &
            ;;
    esac
    SERVER_PID=$!
    wait_listening "$port"
}

stop_server() {
    [ -n "$SERVER_PID" ] || return 0
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=""
}

FAILURES=0
loadtest() {  # NAME TIMEOUT ARGS…: runs the harness, keeps its output; a failure is counted, not fatal
    local name=$1 limit=$2; shift 2
    if timeout "$limit" "$LT" "$@" --json "$RUN/$name.json" >"$LOGS/$name.txt" 2>&1; then
        sed 's/^/    /' "$LOGS/$name.txt" | grep -E 'deliveries/s|latency  |acked|setups/s|winners|last offer|RSS per|errors ' >&2 || true
    else
        FAILURES=$((FAILURES + 1))
        echo "bench: $name failed (see $LOGS/$name.txt)" >&2
        tail -5 "$LOGS/$name.txt" >&2 || true
    fi
}

# 3. Fan-out side by side.
if [ "$ONLY" != liaison ]; then
    for rep in $(seq 1 "$REPEAT"); do
        for n in $FANOUT_NS; do
            ramp=$(( n / 2500 + 1 ))
            for kind in lws node liaison; do
                say "fan-out: $kind, $n receivers, run $rep of $REPEAT"
                start_server "$kind"
                common=(--port "$PORT" --secret "$SECRET" --server-pid "$SERVER_PID" --source-addresses "$SOURCES"
                        -n "$n" --size "$SIZE" --window "$WINDOW" --warmup "$WARMUP" --duration "$FANOUT_DURATION"
                        --ramp "$ramp" --drain 10)
                if [ "$kind" = liaison ]; then
                    loadtest "fanout-$kind-$n-$rep" 180 fanout "${common[@]}" --user-prefix "b$rep"
                else
                    loadtest "fanout-$kind-$n-$rep" 180 mirror "${common[@]}" --label "$kind"
                fi
                stop_server
            done
        done
    done
fi

# 4. Liaison only.
if [ "$ONLY" != fanout ]; then
    for mode in batch always; do
        say "chat: $CHAT_ROOMS rooms × 2 members = $((CHAT_ROOMS * 2)) senders, window $CHAT_WINDOW, --fsync $mode"
        start_server liaison --fsync "$mode"
        loadtest "chat-$mode" 120 chat --port "$PORT" --secret "$SECRET" --server-pid "$SERVER_PID" \
            --source-addresses "$SOURCES" --rooms "$CHAT_ROOMS" --members 2 --window "$CHAT_WINDOW" --size "$SIZE" \
            --warmup "$WARMUP" --duration "$DURATION" --ramp 1
        stop_server
    done

    say "presence: $PRESENCE_WATCHERS watchers × 20 of 100 users flipping 2/s"
    start_server liaison
    loadtest presence 120 presence --port "$PORT" --secret "$SECRET" --server-pid "$SERVER_PID" \
        --source-addresses "$SOURCES" --watchers "$PRESENCE_WATCHERS" --users 100 --watch 20 --rate 2 \
        --warmup "$WARMUP" --duration "$DURATION" --ramp 1
    stop_server

    say "mod: $MOD_FMDS FMDs, $MOD_RATE requests/s"
    start_server liaison
    loadtest mod 180 mod --port "$PORT" --secret "$SECRET" --server-pid "$SERVER_PID" \
        --source-addresses "$SOURCES" --fmds "$MOD_FMDS" --rate "$MOD_RATE" --warmup "$WARMUP" --duration "$DURATION" \
        --ramp 1
    stop_server

    say "calls: $CALL_PAIRS pairs"
    start_server liaison
    loadtest calls 180 calls --port "$PORT" --secret "$SECRET" --server-pid "$SERVER_PID" \
        --source-addresses "$SOURCES" --pairs "$CALL_PAIRS" --warmup "$WARMUP" --duration "$DURATION" --ramp 1
    stop_server

    say "connect: $IDLE_CONNECTIONS idle connections"
    start_server liaison
    sleep 1
    loadtest connect 240 connect --port "$PORT" --secret "$SECRET" --server-pid "$SERVER_PID" \
        --source-addresses "$SOURCES" -c "$IDLE_CONNECTIONS" --ramp 10 --duration 6 --settle 3
    stop_server
fi

# 5. Tables.
python3 "$ROOT/loadtest/bench-report.py" "$RUN" | tee "$RUN/summary.md"
cp "$RUN/summary.md" "$ROOT/loadtest/results/latest.md"
echo "bench: results in $RUN ($FAILURES scenario(s) failed)" >&2
[ "$FAILURES" -eq 0 ]
