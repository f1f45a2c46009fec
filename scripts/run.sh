#!/usr/bin/env bash
# Starts `hookledger run` (all tiers, embedded Kafka and ClickHouse) on the
# example config, or on the config given as the first argument. Data goes
# to ./hookledger-data (data_dir in the config).
set -euo pipefail
cd "$(dirname "$0")/.."
config="${1:-deploy/hookledger.example.yaml}"
CHDB_LIB_PATH="${CHDB_LIB_PATH:-$(scripts/libchdb.sh)}"
export CHDB_LIB_PATH
mkdir -p bin
go build -o bin/hookledger ./cmd/hookledger
exec bin/hookledger run --config "$config"
