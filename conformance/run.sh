#!/usr/bin/env bash
# make conformance: Autobahn|Testsuite's fuzzing client (wstest -m fuzzingclient, RFC 6455 cases 1–10)
# against `liaison serve --echo-path /echo`, which goes through the same connection code as /ws.
# Fails on any FAILED case; the HTML/JSON report goes to conformance/reports/ (git-ignored).
# COMPRESSION=on adds permessage-deflate and its cases (12, 13).
#
# wstest needs Python 2.7 (pip's autobahntestsuite). It is taken, in this order, from:
#   1. WSTEST=/path/to/wstest;
#   2. a virtualenv conformance/.venv-wstest made with a Python 2.7 found on PATH or under pyenv
#      (~/.pyenv/versions/2.7*), or installed by apt when the distribution still has it;
#   3. the crossbario/autobahn-testsuite Docker image, when Docker can run it.
# With none of them the target says so and exits 3.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
# COMPRESSION=on: the server offers permessage-deflate, and cases 12 and 13 (compression) run too.
COMPRESSION=${COMPRESSION:-off}
DEFAULT_CASES='"1.*", "2.*", "3.*", "4.*", "5.*", "6.*", "7.*", "8.*", "9.*", "10.*"'
[ "$COMPRESSION" = on ] && DEFAULT_CASES="$DEFAULT_CASES, \"12.*\", \"13.*\""
CASES=${CASES:-$DEFAULT_CASES}
REPORTS=$ROOT/conformance/reports
BIN=${LIAISON_BIN:-$ROOT/.build/debug/liaison}
# Cases that fail because of libwebsockets itself, not Liaison's code, each with its reason; they are
# reported, and any other FAILED case fails the run. See docs/CONFORMANCE.md.
KNOWN_FAILURES=${KNOWN_FAILURES:-"2.10 2.11"}
mkdir -p "$REPORTS"

AUTOBAHN_VERSION=25.10.1

# A working Python 2.7 interpreter: on PATH (not a pyenv shim without the version), or pyenv's.
python27() {
    local candidate
    for candidate in "$(command -v python2.7 || true)" "$HOME"/.pyenv/versions/2.7*/bin/python2.7; do
        [ -n "$candidate" ] && [ -x "$candidate" ] && "$candidate" -c '' >/dev/null 2>&1 && { echo "$candidate"; return 0; }
    done
    return 1
}

wstest_command() {
    if [ -n "${WSTEST:-}" ]; then echo "$WSTEST"; return 0; fi
    local venv=$ROOT/conformance/.venv-wstest
    if [ -x "$venv/bin/wstest" ]; then echo "$venv/bin/wstest"; return 0; fi
    local python=""
    python=$(python27) || {
        if apt-cache show python2.7 >/dev/null 2>&1; then
            sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
            $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends python2.7 >&2
        fi
        python=$(python27)
    } || python=""
    if [ -n "$python" ]; then
        "$python" -m virtualenv --version >/dev/null 2>&1 || "$python" -m pip install --quiet "virtualenv<20.22" >&2
        "$python" -m virtualenv --quiet "$venv" >&2
        "$venv/bin/pip" install --quiet "autobahntestsuite==$AUTOBAHN_VERSION" >&2
        echo "$venv/bin/wstest"; return 0
    fi
    if command -v docker >/dev/null 2>&1 && docker image inspect crossbario/autobahn-testsuite >/dev/null 2>&1 \
        || docker pull crossbario/autobahn-testsuite >/dev/null 2>&1; then
        echo "docker run --rm --network host -v $ROOT/conformance:/conformance crossbario/autobahn-testsuite wstest"
        return 0
    fi
    return 1
}

if ! WSTEST_CMD=$(wstest_command); then
    echo "conformance: wstest is not available here: Autobahn|Testsuite needs Python 2.7 (not packaged" >&2
    echo "by this Debian) or the crossbario/autobahn-testsuite Docker image (not pullable here)." >&2
    echo "Set WSTEST=/path/to/wstest, or run this target where either exists (see docs/CONFORMANCE.md)." >&2
    exit 3
fi
[ -x "$BIN" ] || { echo "conformance: $BIN missing: run make build-debug first" >&2; exit 1; }

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
DATA=$(mktemp -d -t liaison-conformance.XXXXXX)
# Case 9 sends messages of up to 16 MiB: the echo server's limit must hold them.
"$BIN" serve --host 127.0.0.1 --port "$PORT" --tls-port 0 --data-dir "$DATA" --jwt-secret conformance \
    --echo-path /echo --max-frame-bytes 20000000 --outbox-limit-bytes 80000000 --compression "$COMPRESSION" \
    >"$REPORTS/server.log" 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null; wait $SERVER 2>/dev/null; rm -rf "$DATA"' EXIT
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.1; done

case $WSTEST_CMD in docker*) SPEC_DIR=/conformance; OUT_DIR=/conformance/reports ;; *) SPEC_DIR=$ROOT/conformance; OUT_DIR=$REPORTS ;; esac
cat >"$ROOT/conformance/fuzzingclient.json" <<JSON
{
  "outdir": "$OUT_DIR",
  "servers": [{"agent": "liaison", "url": "ws://127.0.0.1:$PORT/echo"}],
  "cases": [$CASES],
  "exclude-cases": [],
  "exclude-agent-cases": {}
}
JSON
$WSTEST_CMD -m fuzzingclient -s "$SPEC_DIR/fuzzingclient.json"

python3 - "$REPORTS/index.json" "$KNOWN_FAILURES" <<'PY'
import collections, json, sys
index = json.load(open(sys.argv[1]))
known = set(sys.argv[2].split())
counts = collections.Counter()
failed = []
for agent, cases in index.items():
    for case, result in cases.items():
        counts[result["behavior"]] += 1
        if result["behavior"] == "FAILED":
            failed.append(case)
print("conformance:", ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
expected = sorted(case for case in failed if case in known)
unexpected = sorted(case for case in failed if case not in known)
if expected:
    print("conformance: known libwebsockets failures (docs/CONFORMANCE.md):", ", ".join(expected))
if unexpected:
    print("conformance: FAILED cases:", ", ".join(unexpected))
    sys.exit(1)
PY
