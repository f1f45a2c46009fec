#!/usr/bin/env bash
# Prints the path of libchdb.so (the embedded ClickHouse engine), fetching
# it into the cache first if needed. The library is 566 MB: it is never
# committed; it lives in the cache, by default
#   ${XDG_CACHE_HOME:-~/.cache}/hookledger/chdb/<version>/libchdb.so
# HOOKLEDGER_CACHE_DIR overrides the cache root. The library ships in the
# npm package @chdb/lib-linux-x64-gnu; npm is installed from Debian's
# packages when missing and we are root.
set -euo pipefail

CHDB_VERSION="26.7.3-stable.1"
cache_root="${HOOKLEDGER_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/hookledger}"
dest_dir="$cache_root/chdb/$CHDB_VERSION"
lib="$dest_dir/libchdb.so"

if [ -s "$lib" ]; then
  echo "$lib"
  exit 0
fi

if ! command -v npm >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "libchdb: installing npm (Debian package) to fetch the engine" >&2
    apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq npm >&2
  else
    echo "libchdb: npm is needed to fetch libchdb.so; install npm, or set CHDB_LIB_PATH" >&2
    exit 1
  fi
fi

mkdir -p "$dest_dir"
work="$(mktemp -d "$cache_root/chdb/fetch.XXXXXX")"
trap 'rm -rf "$work"' EXIT
echo "libchdb: fetching @chdb/lib-linux-x64-gnu@$CHDB_VERSION (about 180 MB) into $dest_dir" >&2
(cd "$work" && npm pack --silent "@chdb/lib-linux-x64-gnu@$CHDB_VERSION" >/dev/null)
tar -xzf "$work"/*.tgz -C "$work" package/libchdb.so
# Rename into place only when complete, so an interrupted fetch is retried.
mv "$work/package/libchdb.so" "$lib.partial"
mv "$lib.partial" "$lib"
echo "$lib"
