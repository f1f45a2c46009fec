#!/usr/bin/env bash
# Load test of the whole ingest path (verify + Kafka acks=all on the embedded
# broker) with wrk, against /healthz on the same listener as the baseline
# measured in the same run. Loopback only; bounded in time.
#   scripts/loadtest.sh [seconds=10] [connections=32]
# PARTITIONS=6 and SYNC_WRITES=false override the config for comparisons.
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${1:-10}"; conns="${2:-32}"
command -v wrk >/dev/null || { echo "loadtest: needs wrk (apt-get install wrk)" >&2; exit 1; }
CHDB_LIB_PATH="${CHDB_LIB_PATH:-$(scripts/libchdb.sh)}"; export CHDB_LIB_PATH
work="$(mktemp -d)"
mkdir -p bin && go build -o bin/hookledger ./cmd/hookledger
port=$((20000 + RANDOM % 20000)); qport=$((port + 1))
sed -e "s#data_dir: ./hookledger-data#data_dir: $work/data#" \
    -e "s#listen: 127.0.0.1:8080#listen: 127.0.0.1:$port#" \
    -e "s#listen: 127.0.0.1:8081#listen: 127.0.0.1:$qport#" deploy/hookledger.example.yaml > "$work/config.yaml"
HOOKLEDGER_KAFKA_PARTITIONS="${PARTITIONS:-0}" HOOKLEDGER_KAFKA_SYNC_WRITES="${SYNC_WRITES:-true}" bin/hookledger run --config "$work/config.yaml" > "$work/log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true; wait $pid 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 1 120); do curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.5; done

url="http://127.0.0.1:$port/hooks/sw-main"
body='MessageSid=SMload0000000000000000000000000001&AccountSid=AC1&From=%2B15550001111&To=%2B15550002222&Body=hello&MessageStatus=delivered'
sig=$(printf '%s' "$url$body" | openssl dgst -sha1 -hmac PSKexampleSignalWireSigningKey0001 | awk '{print $2}')
cat > "$work/post.lua" <<LUA
wrk.method = "POST"
wrk.body = "$body"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["X-SignalWire-Signature"] = "$sig"
LUA
echo "== baseline: GET /healthz"
wrk -t2 -c"$conns" -d"${secs}s" --latency "http://127.0.0.1:$port/healthz" | grep -E "Requests/sec|50%|99%"
echo "== signed SignalWire callback, verified and acknowledged by Kafka"
wrk -t2 -c"$conns" -d"${secs}s" --latency -s "$work/post.lua" "$url" | grep -E "Requests/sec|50%|99%|Non-2xx"
