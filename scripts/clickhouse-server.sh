#!/usr/bin/env bash
# Runs a throwaway ClickHouse server for storage/clickhouse's tests: Debian's
# clickhouse-server package (18.16 on bookworm), on loopback only, with its
# data and config under DIR. No systemd needed: the server binary runs
# directly, in the background, under this script's control.
#
# Usage: scripts/clickhouse-server.sh [start|stop|restart|status] [DIR]
#
#   start    install the package if missing (apt, as root), start the server
#            unless it already runs, wait until it answers, and print
#            HOOKLEDGER_TEST_LEGACY_CLICKHOUSE_ADDR=127.0.0.1:PORT on stdout
#            (the only stdout output, for the caller to export)
#   stop     stop the server started from DIR (its data stays in DIR)
#   restart  stop, then start again on the same port; prints the address
#   status   print the address and exit 0 if the server answers, else exit 1
#
# DIR defaults to $HOOKLEDGER_CLICKHOUSE_DIR, else ${TMPDIR:-/tmp}/hookledger-clickhouse.
# The native port is the first free one from $HOOKLEDGER_CLICKHOUSE_PORT
# (default 19000); the HTTP port is 18123 plus the same offset.
#
# Every step is idempotent. When the server cannot be had (no apt, not root,
# the install or the start fails) the script warns on stderr, prints no
# address and exits 0: the tests that need the server then skip.
#
#   eval "$(bash scripts/clickhouse-server.sh start)"; export HOOKLEDGER_TEST_LEGACY_CLICKHOUSE_ADDR
#   bash scripts/clickhouse-server.sh stop
set -u

cmd=${1:-start}
dir=${2:-${HOOKLEDGER_CLICKHOUSE_DIR:-${TMPDIR:-/tmp}/hookledger-clickhouse}}
case $dir in /*) ;; *) dir=$PWD/$dir ;; esac # the config needs absolute paths
base_native_port=${HOOKLEDGER_CLICKHOUSE_PORT:-19000}
host=127.0.0.1
start_timeout=60 # seconds to wait for a starting server to answer
stop_timeout=30  # seconds to wait for a stopping server before SIGKILL

warn() { echo "clickhouse-server.sh: $*" >&2; }

# port_open PORT: something accepts TCP connections on host:PORT.
port_open() { (exec 3<>"/dev/tcp/$host/$1") 2>/dev/null; }

server_bin() {
	local b
	for b in "$(command -v clickhouse-server 2>/dev/null)" /usr/sbin/clickhouse-server /usr/bin/clickhouse-server; do
		if [ -n "$b" ] && [ -x "$b" ]; then
			echo "$b"
			return 0
		fi
	done
	return 1
}

# install: make clickhouse-server (and -client, for readiness checks) present.
install() {
	server_bin >/dev/null && return 0
	if ! command -v apt-get >/dev/null 2>&1; then
		warn "clickhouse-server is not installed and apt-get is unavailable; not starting it"
		return 1
	fi
	if [ "$(id -u)" != 0 ]; then
		warn "clickhouse-server is not installed and installing it needs root; not starting it"
		return 1
	fi
	warn "installing clickhouse-server with apt-get"
	# Keep the package's maintainer scripts from starting a second server on
	# the default ports (9000, 8123) where there is no systemd: 101 is
	# policy-rc.d's "action forbidden".
	local policy=/usr/sbin/policy-rc.d added_policy=
	if [ ! -e "$policy" ]; then
		printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod 755 "$policy" && added_policy=1
	fi
	# Wait for another apt run (a concurrent test setup) instead of failing.
	local ok=1 apt=(apt-get -o DPkg::Lock::Timeout=300 -qq)
	if ! DEBIAN_FRONTEND=noninteractive "${apt[@]}" update >&2; then
		warn "apt-get update failed"
		ok=
	elif ! DEBIAN_FRONTEND=noninteractive "${apt[@]}" install -y --no-install-recommends \
		clickhouse-server clickhouse-client >&2; then
		warn "apt-get install clickhouse-server failed"
		ok=
	fi
	[ -n "$added_policy" ] && rm -f "$policy"
	[ -n "$ok" ] && server_bin >/dev/null
}

pid_alive() {
	local pid
	pid=$(cat "$dir/server.pid" 2>/dev/null) || return 1
	[ -n "$pid" ] && kill -0 "$pid" 2>/dev/null
}

# answers PORT: the server answers a query on its native port (or, without
# clickhouse-client, an HTTP /ping on the matching HTTP port).
answers() {
	local port=$1
	if command -v clickhouse-client >/dev/null 2>&1; then
		[ "$(clickhouse-client --host "$host" --port "$port" --query 'SELECT 1' 2>/dev/null)" = 1 ]
		return
	fi
	local http_port=$((port - 19000 + 18123)) reply
	reply=$( (exec 3<>"/dev/tcp/$host/$http_port" &&
		printf 'GET /ping HTTP/1.0\r\n\r\n' >&3 && timeout 5 cat <&3) 2>/dev/null)
	[[ $reply == *"Ok."* ]]
}

write_config() {
	local port=$1 http_port=$2
	mkdir -p "$dir/data/tmp" "$dir/data/user_files" "$dir/data/format_schemas" || return 1
	cat >"$dir/config.xml" <<EOF
<?xml version="1.0"?>
<!-- Written by scripts/clickhouse-server.sh: a test server on loopback. -->
<yandex>
    <logger>
        <level>warning</level>
        <log>$dir/server.log</log>
        <errorlog>$dir/server.err.log</errorlog>
        <size>10M</size>
        <count>2</count>
    </logger>
    <listen_host>$host</listen_host>
    <tcp_port>$port</tcp_port>
    <http_port>$http_port</http_port>
    <path>$dir/data/</path>
    <tmp_path>$dir/data/tmp/</tmp_path>
    <user_files_path>$dir/data/user_files/</user_files_path>
    <format_schema_path>$dir/data/format_schemas/</format_schema_path>
    <users_config>$dir/users.xml</users_config>
    <default_profile>default</default_profile>
    <default_database>default</default_database>
    <timezone>UTC</timezone>
    <mark_cache_size>268435456</mark_cache_size>
    <max_concurrent_queries>100</max_concurrent_queries>
</yandex>
EOF
	cat >"$dir/users.xml" <<'EOF'
<?xml version="1.0"?>
<yandex>
    <profiles>
        <default>
            <!-- How often an idle connection checks for shutdown: the
                 default of 10 s makes every stop wait that long while a
                 client keeps a connection open. -->
            <poll_interval>1</poll_interval>
        </default>
    </profiles>
    <users>
        <default>
            <password></password>
            <networks><ip>127.0.0.1</ip><ip>::1</ip></networks>
            <profile>default</profile>
            <quota>default</quota>
        </default>
    </users>
    <quotas><default></default></quotas>
</yandex>
EOF
}

print_addr() { echo "HOOKLEDGER_TEST_LEGACY_CLICKHOUSE_ADDR=$host:$1"; }

start() {
	install || return 0
	mkdir -p "$dir" || { warn "cannot create $dir"; return 0; }
	local port
	port=$(cat "$dir/port" 2>/dev/null)
	if [ -n "$port" ] && pid_alive; then
		if wait_ready "$port"; then
			print_addr "$port"
			return 0
		fi
		warn "server in $dir runs but does not answer; restarting it"
		stop
	fi
	rm -f "$dir/server.pid"
	# Reuse the port of an earlier run when it is free, so a restart keeps
	# the address the caller exported.
	if [ -z "$port" ] || port_open "$port" || port_open $((port - 19000 + 18123)); then
		port=
		local i
		for i in $(seq 0 49); do
			if ! port_open $((base_native_port + i)) && ! port_open $((18123 + base_native_port - 19000 + i)); then
				port=$((base_native_port + i))
				break
			fi
		done
		[ -n "$port" ] || { warn "no free port pair from $base_native_port"; return 0; }
	fi
	write_config "$port" $((port - 19000 + 18123)) || { warn "cannot write the config in $dir"; return 0; }
	echo "$port" >"$dir/port"
	local bin
	bin=$(server_bin)
	# setsid: the server outlives the caller's shell and its job control.
	setsid "$bin" --config-file="$dir/config.xml" >>"$dir/stdout.log" 2>&1 </dev/null &
	echo $! >"$dir/server.pid"
	if wait_ready "$port"; then
		print_addr "$port"
		return 0
	fi
	warn "the server did not answer on $host:$port within ${start_timeout}s; last log lines:"
	tail -n 20 "$dir/server.err.log" "$dir/stdout.log" >&2 2>/dev/null
	stop
	return 0
}

wait_ready() {
	local port=$1 deadline=$((SECONDS + start_timeout))
	while [ "$SECONDS" -lt "$deadline" ]; do
		answers "$port" && return 0
		pid_alive || return 1
		sleep 0.2
	done
	return 1
}

stop() {
	if ! pid_alive; then
		rm -f "$dir/server.pid"
		return 0
	fi
	local pid deadline=$((SECONDS + stop_timeout))
	pid=$(cat "$dir/server.pid")
	kill -TERM "$pid" 2>/dev/null
	while kill -0 "$pid" 2>/dev/null && [ "$SECONDS" -lt "$deadline" ]; do
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		warn "server $pid did not stop within ${stop_timeout}s; killing it"
		kill -KILL "$pid" 2>/dev/null
		sleep 0.2
	fi
	rm -f "$dir/server.pid"
}

status() {
	local port
	port=$(cat "$dir/port" 2>/dev/null) || return 1
	pid_alive && answers "$port" && print_addr "$port"
}

case $cmd in
start) start ;;
stop) stop ;;
restart)
	stop
	start
	;;
status) status ;;
*)
	warn "usage: $0 [start|stop|restart|status] [DIR]"
	exit 2
	;;
esac
