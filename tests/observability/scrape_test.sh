#!/bin/bash
# The scrape test: starts metrics_node on a free loopback port, fetches /metrics with curl like
# Prometheus would, and checks go-libp2p's families and the node's known values.
#   scrape_test.sh <metrics_node> <curl>
# Every wait is bounded (at most ~20 s in all); the node exits by itself after 15 s.
set -u
node=$1
curl=${2:-curl}
command -v "$curl" >/dev/null || { echo "FAIL: curl not found ($curl); apt-get install curl"; exit 1; }
work=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; rm -rf "$work"' EXIT

"$node" --port 0 --seconds 15 >"$work/out" 2>"$work/err" &
pid=$!
port=
for _ in $(seq 1 100); do  # up to 10 s for the node to listen
  port=$(sed -n 's/^listening on 127\.0\.0\.1:\([0-9][0-9]*\)$/\1/p' "$work/out")
  [ -n "$port" ] && break
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.1
done
[ -n "$port" ] || { echo "FAIL: metrics_node did not report its port"; cat "$work/out" "$work/err"; exit 1; }
echo "metrics_node listens on 127.0.0.1:$port"

sleep 2  # let the simulation run: churn and refusals
"$curl" --silent --show-error --fail --max-time 5 "http://127.0.0.1:$port/metrics" -o "$work/metrics" ||
  { echo "FAIL: curl could not fetch /metrics"; exit 1; }

status=0
expect() {  # expect <description> <extended regex matched by a line>
  if grep -Eq "$2" "$work/metrics"; then echo "ok: $1"; else echo "FAIL: $1 (no line matching $2)"; status=1; fi
}
for family in connections streams memory fds blocked_resources peer_connections previous_peer_connections \
              peer_streams previous_peer_streams peer_memory previous_peer_memory conn_memory \
              previous_conn_memory limit; do
  expect "family libp2p_rcmgr_$family" "^# TYPE libp2p_rcmgr_$family (gauge|histogram)$"
done
expect "5 steady inbound streams on their protocol" \
  '^libp2p_rcmgr_streams\{dir="inbound",scope="protocol",protocol="/rcmgr/steady/1\.0\.0"\} 5$'
expect "their memory (5 x 4096 B)" '^libp2p_rcmgr_memory\{scope="protocol",protocol="/rcmgr/steady/1\.0\.0"\} 20480$'
expect "the abusive peer's refused streams" '^libp2p_rcmgr_blocked_resources\{dir="inbound",scope="peer",resource="stream"\} [1-9][0-9]*$'
expect "the peer stream histogram with go's buckets" '^libp2p_rcmgr_peer_streams_bucket\{dir="inbound",le="256"\} [0-9]+$'
expect "system memory limit" '^libp2p_rcmgr_limit\{scope="system",resource="memory"\} [0-9.e+]+$'
expect "system connections" '^libp2p_rcmgr_connections\{dir="inbound",scope="system"\} [1-9][0-9]*$'

for _ in $(seq 1 250); do  # the node exits by itself (15 s); wait at most 25 s more
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.1
done
if kill -0 "$pid" 2>/dev/null; then echo "FAIL: metrics_node did not exit by itself"; status=1; fi
wait "$pid"; rc=$?
[ "$rc" -eq 0 ] || { echo "FAIL: metrics_node exited with $rc"; cat "$work/err"; status=1; }
exit $status
