#!/usr/bin/env bash
# The servers of flowtap's own context broker at scale (not the demo application's): a
# PostgreSQL cluster for the record store and nats-server with JetStream for the bus, both
# private to DIR, without systemd.
#
#   broker-servers.sh start DIR    start both (idempotent), wait until they accept connections,
#                                  print FLOWTAP_TEST_PG=... and FLOWTAP_TEST_NATS=... (eval-able)
#   broker-servers.sh stop DIR     stop both, wait until gone
#   broker-servers.sh status DIR   exit 0 when both run
#
# Layout: DIR/pg/data (cluster), DIR/pg (Unix socket, postgres.log), DIR/nats (nats.pid,
# nats.log, the JetStream store in DIR/nats/jetstream). PostgreSQL listens on the socket and on
# 127.0.0.1:$FLOWTAP_PG_PORT (55432) with trust authentication (only local clients reach it),
# database and owner role `flowtap`; nats-server on 127.0.0.1:$FLOWTAP_NATS_PORT (54222).
# As root, PostgreSQL runs as the `postgres` system user (initdb refuses root); DIR is made
# traversable for it.
# Environment: PG_BIN (default: newest /usr/lib/postgresql/*/bin), NATS_SERVER, FLOWTAP_PG_PORT,
# FLOWTAP_NATS_PORT, BROKER_WAIT_SECONDS (30).
set -euo pipefail

die() { echo "broker-servers.sh: $*" >&2; exit 1; }
usage() { die "usage: broker-servers.sh start DIR | stop DIR | status DIR"; }

[[ $# -eq 2 ]] || usage
CMD=$1
DIR=$2
[[ "$DIR" = /* ]] || DIR="$(pwd)/$DIR"
PG_PORT=${FLOWTAP_PG_PORT:-55432}
NATS_PORT=${FLOWTAP_NATS_PORT:-54222}
WAIT=${BROKER_WAIT_SECONDS:-30}
PGDIR="$DIR/pg"
PGDATA="$PGDIR/data"
NATSDIR="$DIR/nats"
for p in "$PG_PORT" "$NATS_PORT"; do
  [[ "$p" =~ ^[0-9]+$ && "$p" -ge 1 && "$p" -le 65535 ]] || die "port must be 1-65535, got '$p'"
done

pg_bin() {
  if [[ -n "${PG_BIN:-}" ]]; then echo "$PG_BIN"; return; fi
  local dir
  dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
  [[ -n "$dir" && -x "$dir/pg_ctl" ]] || die "PostgreSQL server binaries not found (run scripts/setup.sh, or set PG_BIN)"
  echo "$dir"
}

nats_bin() {
  if [[ -n "${NATS_SERVER:-}" ]]; then echo "$NATS_SERVER"; return; fi
  local s
  s=$(command -v nats-server 2>/dev/null || true)
  [[ -z "$s" && -x /usr/sbin/nats-server ]] && s=/usr/sbin/nats-server
  [[ -n "$s" ]] || die "nats-server not found (run scripts/setup.sh, or set NATS_SERVER)"
  echo "$s"
}

# psql and pg_isready may live in /usr/bin (client package) rather than the server's bin dir.
tool() { if [[ -x "$BIN/$1" ]]; then echo "$BIN/$1"; else command -v "$1" || die "$1 not found"; fi; }

# The cluster's owner runs its tools: the postgres system user when we are root.
as_owner() {
  if [[ $(id -u) -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}

pg_running() { [[ -f "$PGDATA/PG_VERSION" ]] && as_owner "$BIN/pg_ctl" -D "$PGDATA" status >/dev/null 2>&1; }

nats_pid() {
  local pid
  [[ -f "$NATSDIR/nats.pid" ]] || return 1
  pid=$(cat "$NATSDIR/nats.pid")
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  # A stale pid file's number may belong to another process by now.
  grep -qa nats-server "/proc/$pid/cmdline" 2>/dev/null || return 1
  echo "$pid"
}

# True once the server sends its INFO greeting.
nats_greets() {
  local line
  { exec 3<>"/dev/tcp/127.0.0.1/$NATS_PORT"; } 2>/dev/null || return 1
  read -r -t 2 line <&3 || { exec 3<&-; return 1; }
  exec 3<&- 3>&-
  [[ "$line" == INFO* ]]
}

start_pg() {
  mkdir -p "$PGDIR"
  if [[ $(id -u) -eq 0 ]]; then
    id postgres >/dev/null 2>&1 || die "running as root but there is no 'postgres' system user"
    chmod a+x "$DIR"
    chown postgres: "$PGDIR"
    chmod 700 "$PGDIR"
    as_owner test -w "$PGDIR" -a -x "$PGDIR" || die "user postgres cannot use $PGDIR (make its parent directories traversable)"
  fi
  if [[ ! -f "$PGDATA/PG_VERSION" ]]; then
    as_owner "$BIN/initdb" -D "$PGDATA" -U postgres --auth-local=trust --auth-host=trust --encoding=UTF8 --no-locale \
      >"$PGDIR/initdb.log" 2>&1 || die "initdb failed; see $PGDIR/initdb.log"
    {
      echo "# written by broker-servers.sh: only this machine's clients reach the server"
      echo "local all all trust"
      echo "host all all 127.0.0.1/32 trust"
      echo "host all all ::1/128 trust"
    } | as_owner tee "$PGDATA/pg_hba.conf" >/dev/null
  fi
  if pg_running; then
    echo "broker-servers.sh: PostgreSQL already running in $PGDATA" >&2
  else
    as_owner "$BIN/pg_ctl" -D "$PGDATA" -l "$PGDIR/postgres.log" -w -t "$WAIT" \
      -o "-p $PG_PORT -k $PGDIR -c listen_addresses=127.0.0.1 -c unix_socket_permissions=0770 -c max_wal_size=2GB" start >/dev/null \
      || { tail -n 5 "$PGDIR/postgres.log" >&2 2>/dev/null || true; die "PostgreSQL did not start; see $PGDIR/postgres.log"; }
  fi
  local deadline=$((SECONDS + WAIT))
  until as_owner "$(tool pg_isready)" -q -h "$PGDIR" -p "$PG_PORT" -U postgres; do
    (( SECONDS < deadline )) || die "PostgreSQL not ready after ${WAIT}s; see $PGDIR/postgres.log"
    sleep 0.2
  done
  local psql=(as_owner "$(tool psql)" -X -q -v ON_ERROR_STOP=1 -h "$PGDIR" -p "$PG_PORT" -U postgres -d postgres)
  [[ -n $("${psql[@]}" -tA -c "SELECT 1 FROM pg_roles WHERE rolname = 'flowtap'") ]] || "${psql[@]}" -c "CREATE ROLE flowtap LOGIN"
  [[ -n $("${psql[@]}" -tA -c "SELECT 1 FROM pg_database WHERE datname = 'flowtap'") ]] || "${psql[@]}" -c "CREATE DATABASE flowtap OWNER flowtap"
}

start_nats() {
  mkdir -p "$NATSDIR"
  local server started=
  server=$(nats_bin)
  if pid=$(nats_pid); then
    echo "broker-servers.sh: nats-server already running (pid $pid)" >&2
  else
    rm -f "$NATSDIR/nats.pid"
    [[ -f "$NATSDIR/nats.log" ]] && mv -f "$NATSDIR/nats.log" "$NATSDIR/nats.log.1"
    # setsid: the server outlives this script and its caller's process group.
    setsid "$server" -js -sd "$NATSDIR" -a 127.0.0.1 -p "$NATS_PORT" -P "$NATSDIR/nats.pid" -l "$NATSDIR/nats.log" \
      </dev/null >/dev/null 2>&1 &
    started=$!
  fi
  local deadline=$((SECONDS + WAIT))
  # Ours is ready when it logged so (another server could hold the port while ours fails).
  until nats_greets && { [[ -z "$started" ]] || grep -q "Server is ready" "$NATSDIR/nats.log" 2>/dev/null; }; do
    if [[ -n "$started" ]] && ! kill -0 "$started" 2>/dev/null; then
      tail -n 5 "$NATSDIR/nats.log" >&2 2>/dev/null || true
      die "nats-server exited during start; see $NATSDIR/nats.log"
    fi
    if (( SECONDS >= deadline )); then
      [[ -n "$started" ]] && kill -TERM "$started" 2>/dev/null || true
      die "nats-server not ready on 127.0.0.1:$NATS_PORT after ${WAIT}s; see $NATSDIR/nats.log"
    fi
    sleep 0.1
  done
}

stop_nats() {
  local pid
  pid=$(nats_pid) || return 0
  kill -TERM "$pid" 2>/dev/null || true
  local deadline=$((SECONDS + WAIT))
  while kill -0 "$pid" 2>/dev/null; do
    if (( SECONDS >= deadline )); then kill -KILL "$pid" 2>/dev/null || true; break; fi
    sleep 0.1
  done
  rm -f "$NATSDIR/nats.pid"
}

case "$CMD" in
  start)
    BIN=$(pg_bin)
    mkdir -p "$DIR"
    start_pg
    start_nats
    echo "FLOWTAP_TEST_PG=postgres://flowtap@127.0.0.1:$PG_PORT/flowtap"
    echo "FLOWTAP_TEST_NATS=nats://127.0.0.1:$NATS_PORT"
    ;;
  stop)
    BIN=$(pg_bin)
    stop_nats
    if pg_running; then as_owner "$BIN/pg_ctl" -D "$PGDATA" -m fast -w -t "$WAIT" stop >/dev/null || die "PostgreSQL did not stop"; fi
    ;;
  status)
    BIN=$(pg_bin)
    pg_running && nats_pid >/dev/null
    ;;
  *) usage ;;
esac
