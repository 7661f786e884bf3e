#!/usr/bin/env bash
# make cluster: a local nats-server with JetStream (data under ./data/nats) and three Liaison nodes
# (ws 8081-8083, data under ./data/node1..3) sharing one token secret; Ctrl-C stops them all.
# One node is active (it holds the lease and serves); the other two wait as standbys and take over
# when it goes (docs/CLUSTER.md).
set -euo pipefail
BIN=${BIN:-.build/release/liaison}
NATS_PORT=${NATS_PORT:-4222}
LEASE=${LEASE:-5}
mkdir -p data/nats data/cluster
[ -s data/cluster/secret ] || openssl rand -hex 32 > data/cluster/secret
SECRET=$(cat data/cluster/secret)

pids=()
stop() {
  trap - INT TERM EXIT
  # The nodes first (a node stopped by SIGTERM exits 0, which ends its restart loop), then the rest.
  for pid in "${pids[@]}"; do pkill -TERM -P "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  echo "cluster: stopped"
}
trap stop INT TERM EXIT

PATH="$PATH:/usr/sbin" nats-server -js -a 127.0.0.1 -p "$NATS_PORT" -sd data/nats >data/nats/server.log 2>&1 &
pids+=($!)
for _ in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/"$NATS_PORT") 2>/dev/null && break; sleep 0.1; done

for n in 1 2 3; do
  # A node that loses the lease exits (status 3) so that it never writes beside the new active node:
  # start it again, as a standby.
  (
    while true; do
      "$BIN" serve --cluster "nats://127.0.0.1:$NATS_PORT" --node "node$n" --cluster-lease "$LEASE" \
        --port "808$n" --tls-port 0 --data-dir "data/node$n" --jwt-secret "$SECRET" "$@" \
        >>"data/node$n.log" 2>&1 && break
      echo "cluster: node$n exited ($?), restarting it as a standby" >>"data/node$n.log"
      sleep 1
    done
  ) &
  pids+=($!)
done

echo "cluster: nats://127.0.0.1:$NATS_PORT (JetStream in data/nats)"
for n in 1 2 3; do echo "  node$n  ws://127.0.0.1:808$n/ws  log data/node$n.log"; done
echo "  one node is active at a time; clients list all three URLs and use the one that answers"
echo "  mint a token: $BIN token --secret \"\$(cat data/cluster/secret)\" --sub alice --role msl --tenant acme --name Alice"
echo "  Ctrl-C stops everything"
wait
