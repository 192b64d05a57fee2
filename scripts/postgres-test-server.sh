#!/usr/bin/env bash
# A throwaway PostgreSQL server for tests: start | stop | url | status.
#
# The cluster lives in a temporary folder (default /tmp/joinedup-pg-test, or
# $JOINEDUP_PG_DIR), listens only on 127.0.0.1 on the first free port from 55433
# (or $JOINEDUP_PG_PORT), keeps its unix socket in that folder and runs with fsync off:
# fast, private and gone after `stop`. initdb refuses to run as root, so as root the
# cluster is created and run as the postgres user (runuser); as any other user it runs
# as that user.
#
#   bash scripts/postgres-test-server.sh start   # prints the URL once the server is up
#   bash scripts/postgres-test-server.sh url     # postgresql://postgres@127.0.0.1:PORT/postgres
#   bash scripts/postgres-test-server.sh stop    # stops the server and deletes the folder
set -euo pipefail

PGDIR="${JOINEDUP_PG_DIR:-/tmp/joinedup-pg-test}"
FIRST_PORT="${JOINEDUP_PG_PORT:-55433}"

die() { echo "postgres-test-server: $*" >&2; exit 1; }

pg_bin() {
  local dir
  for dir in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
    if [ -x "$dir/initdb" ]; then echo "$dir"; return 0; fi
  done
  command -v initdb >/dev/null 2>&1 && { dirname "$(command -v initdb)"; return 0; }
  die "no PostgreSQL server found (install Debian's postgresql package: apt-get install -y postgresql)"
}

# Run a command as the cluster owner: postgres when we are root, else ourselves.
as_owner() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

is_running() {
  [ -f "$PGDIR/data/postmaster.pid" ] && as_owner "$PGBIN/pg_ctl" -D "$PGDIR/data" status >/dev/null 2>&1
}

url() {
  [ -f "$PGDIR/port" ] || die "not started (no $PGDIR/port)"
  echo "postgresql://postgres@127.0.0.1:$(cat "$PGDIR/port")/postgres"
}

start() {
  if is_running; then url; return 0; fi
  if [ "$(id -u)" -eq 0 ]; then
    id postgres >/dev/null 2>&1 || die "there is no postgres user (install Debian's postgresql package)"
    install -d -m 700 -o postgres -g postgres "$PGDIR"
  else
    install -d -m 700 "$PGDIR"
  fi
  if [ ! -f "$PGDIR/data/PG_VERSION" ]; then
    as_owner "$PGBIN/initdb" -D "$PGDIR/data" -A trust -U postgres --no-sync -E UTF8 \
      >"$PGDIR/initdb.log" 2>&1 || die "initdb failed; see $PGDIR/initdb.log"
  fi
  local port="$FIRST_PORT" tries=0
  while port_in_use "$port"; do
    port=$((port + 1)); tries=$((tries + 1))
    [ "$tries" -lt 50 ] || die "no free port from $FIRST_PORT to $port"
  done
  as_owner sh -c "echo $port > '$PGDIR/port'"
  as_owner "$PGBIN/pg_ctl" -D "$PGDIR/data" -l "$PGDIR/server.log" -w -t 60 \
    -o "-c listen_addresses=127.0.0.1 -p $port -k $PGDIR -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
    start >/dev/null || die "the server did not start; see $PGDIR/server.log"
  url
}

stop() {
  if is_running; then
    as_owner "$PGBIN/pg_ctl" -D "$PGDIR/data" -m fast -w stop >/dev/null
  fi
  rm -rf "$PGDIR"
}

PGBIN="$(pg_bin)"
case "${1:-}" in
  start) start ;;
  stop) stop ;;
  url) url ;;
  status) if is_running; then echo "running: $(url)"; else echo "stopped"; exit 1; fi ;;
  *) echo "usage: $0 start|stop|url|status" >&2; exit 2 ;;
esac
