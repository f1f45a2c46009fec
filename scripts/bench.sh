#!/usr/bin/env bash
# hookledger's own benchmark: builds hookledger, starts `hookledger run` on a
# temporary data dir with the example config (every provider, known keys),
# runs `hookledger bench` against it, stops it and prints the report.
#   scripts/bench.sh [bench flags...]     e.g. --connections 32 --duration 10s --json
# SYNC_WRITES=false and PARTITIONS=6 override the config for comparisons.
set -euo pipefail
cd "$(dirname "$0")/.."
CHDB_LIB_PATH="${CHDB_LIB_PATH:-$(scripts/libchdb.sh)}"; export CHDB_LIB_PATH
work="$(mktemp -d)"
mkdir -p bin && go build -o bin/hookledger ./cmd/hookledger
port=$((20000 + RANDOM % 20000)); qport=$((port + 1))
sed -e "s#data_dir: ./hookledger-data#data_dir: $work/data#" \
    -e "s#listen: 127.0.0.1:8080#listen: 127.0.0.1:$port#" \
    -e "s#listen: 127.0.0.1:8081#listen: 127.0.0.1:$qport#" deploy/hookledger.example.yaml > "$work/config.yaml"
HOOKLEDGER_KAFKA_PARTITIONS="${PARTITIONS:-0}" HOOKLEDGER_KAFKA_SYNC_WRITES="${SYNC_WRITES:-true}" \
  bin/hookledger run --config "$work/config.yaml" > "$work/log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true; wait $pid 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 1 180); do
  curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && curl -sf "http://127.0.0.1:$qport/readyz" >/dev/null && break
  kill -0 $pid 2>/dev/null || { cat "$work/log" >&2; exit 1; }
  sleep 0.5
done
status=0
bin/hookledger bench --config "$work/config.yaml" --pid "$pid" \
  --messagemedia-key deploy/examples/messagemedia-example-private.pem "$@" || status=$?
kill -TERM $pid; wait $pid || { echo "bench: hookledger did not stop cleanly; its log:" >&2; tail -50 "$work/log" >&2; status=1; }
exit $status
