#!/usr/bin/env bash
# Runs the whole test suite with the race detector against the real
# engines: embedded chDB (fetched into the cache), the embedded Kafka
# broker, and Debian's clickhouse-server for the native driver's
# connection tests (installed and started when possible, else those tests
# skip). Then every fuzz target runs briefly.
#   FUZZTIME=10s scripts/test.sh   # longer fuzzing
set -euo pipefail
cd "$(dirname "$0")/.."

CHDB_LIB_PATH="${CHDB_LIB_PATH:-$(scripts/libchdb.sh)}"
export CHDB_LIB_PATH

work="$(mktemp -d)"
cleanup() {
  scripts/clickhouse-server.sh stop "$work/clickhouse" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
if [ -z "${HOOKLEDGER_TEST_LEGACY_CLICKHOUSE_ADDR:-}" ]; then
  if addr_line="$(scripts/clickhouse-server.sh start "$work/clickhouse" | grep '^HOOKLEDGER_TEST_LEGACY_CLICKHOUSE_ADDR=')"; then
    export "${addr_line?}"
    # The driver's restart test restarts the server through the script.
    export HOOKLEDGER_TEST_LEGACY_CLICKHOUSE_DIR="$work/clickhouse"
  fi
fi

go vet ./...
go test -race -count=1 -timeout 20m ./...

fuzztime="${FUZZTIME:-4s}"
for pkg in $(go list ./...); do
  for target in $(go test -list '^Fuzz' "$pkg" | grep '^Fuzz' || true); do
    echo "fuzz $pkg $target ($fuzztime)"
    go test -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" "$pkg" >"$work/fuzz.log" 2>&1 || {
      cat "$work/fuzz.log"; exit 1; }
  done
done
echo "fuzzing: all targets passed"
