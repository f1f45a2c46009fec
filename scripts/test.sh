#!/usr/bin/env bash
# Runs the whole test suite with the race detector against the real
# engines: embedded chDB (fetched into the cache), the embedded Kafka
# broker, and Debian's clickhouse-server for the native driver's
# connection tests (installed and started when possible, else those tests
# skip), Debian's prometheus package for promtool (the metrics, alert
# rule and dashboard checks; installed when missing and run as root, else
# those tests skip), and Debian's chromium for the console's browser tests
# (likewise). Then every fuzz target runs briefly.
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

# install_promtool: make promtool present for the Prometheus checks (Debian's
# prometheus package; its maintainer scripts must not start a Prometheus
# server, hence the policy-rc.d). Warns and carries on when it cannot.
install_promtool() {
  command -v promtool >/dev/null 2>&1 && return 0
  if ! command -v apt-get >/dev/null 2>&1 || [ "$(id -u)" != 0 ]; then
    echo "test.sh: promtool missing and cannot be installed (needs apt-get and root); its checks skip" >&2
    return 0
  fi
  echo "test.sh: installing promtool (Debian package prometheus) with apt-get" >&2
  local policy=/usr/sbin/policy-rc.d added_policy=
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod 755 "$policy" && added_policy=1
  fi
  local apt=(apt-get -o DPkg::Lock::Timeout=300 -qq)
  DEBIAN_FRONTEND=noninteractive "${apt[@]}" update >&2 &&
    DEBIAN_FRONTEND=noninteractive "${apt[@]}" install -y --no-install-recommends prometheus >&2 ||
    echo "test.sh: apt-get install prometheus failed; the promtool checks skip" >&2
  [ -n "$added_policy" ] && rm -f "$policy"
  return 0
}
install_promtool

# The console's browser tests (internal/app TestConsoleInBrowser) drive
# headless Chromium; install Debian's package when it is missing and we
# are root, as for clickhouse-server. Without it those tests skip.
if ! command -v chromium >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  echo "test.sh: installing chromium with apt-get (console browser tests)" >&2
  apt=(apt-get -o DPkg::Lock::Timeout=300 -qq)
  if ! { DEBIAN_FRONTEND=noninteractive "${apt[@]}" update >&2 &&
    DEBIAN_FRONTEND=noninteractive "${apt[@]}" install -y --no-install-recommends chromium >&2; }; then
    echo "test.sh: apt-get install chromium failed; the console browser tests skip" >&2
  fi
fi

go vet ./...
go test -race -count=1 -timeout 20m ./... 2>&1 | tee "$work/test.log"

fuzztime="${FUZZTIME:-4s}"
# Fuzz targets are found in the sources: `go test -list` would compile every
# package's test binary once more just to name them.
grep -rl --include='*_test.go' '^func Fuzz' . | xargs -n1 dirname | sort -u | while read -r dir; do
  for target in $(grep -h '^func Fuzz' "$dir"/*_test.go | sed -E 's/^func (Fuzz[A-Za-z0-9_]*).*/\1/'); do
    echo "fuzz $dir $target ($fuzztime)"
    if ! go test -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" "$dir" >"$work/fuzz.log" 2>&1; then
      # Go 1.26's fuzz coordinator can fail a target with a bare "context
      # deadline exceeded" as -fuzztime runs out (golang/go#75804, fixed in
      # Go 1.27). A real finding always writes its failing input, so only
      # that exact failure without one is tolerated.
      if grep -q 'context deadline exceeded' "$work/fuzz.log" &&
        ! grep -q -e 'Failing input written' -e 'panic:' -e '_test.go:[0-9]*:' "$work/fuzz.log"; then
        echo "  (tolerated Go fuzz coordinator deadline race, golang/go#75804: no failing input)"
      else
        cat "$work/fuzz.log"; exit 1
      fi
    fi
  done
done
fuzzed=$(grep -rh --include='*_test.go' '^func Fuzz' . | wc -l)
packages=$(grep -c '^ok ' "$work/test.log")
echo "fuzzing: all $fuzzed targets passed"
echo "packages: $packages passed, 0 failed"
