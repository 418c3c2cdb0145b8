#!/usr/bin/env bash
# Runs the DVD-rental PostgreSQL server without systemd, so it also works inside a network
# namespace (`ip netns exec NS postgres.sh start ...`).
#
#   postgres.sh start DATADIR PORT [LISTEN_ADDR]   initdb if needed, start, wait, create db + role, load schema
#   postgres.sh stop  DATADIR                      fast shutdown, waits until stopped
#   postgres.sh status DATADIR                     exit 0 when running
#
# Layout: the cluster lives in DATADIR/pgdata; the Unix socket and postgres.log in DATADIR.
# LISTEN_ADDR defaults to 127.0.0.1 ('*' for all addresses).
#
# Authentication (choice): the local Unix socket is `trust` (only this script and root-level
# operators use it, for administration); TCP connections — the application network — use
# scram-sha-256 with a password, so the tapped traffic shows a real authentication exchange
# and a stray client cannot connect without the secret. Set PG_HOST_AUTH=trust|md5 to change.
# The connection string for the services is printed on stdout as DATABASE_URL=...
#
# Environment: PG_BIN (directory of initdb/pg_ctl; default: newest /usr/lib/postgresql/*/bin),
# PG_DB (dvdrental), PG_USER (dvdrental), PG_PASSWORD (dvdrental), PG_HOST_AUTH
# (scram-sha-256), PG_ALLOW_CIDR (all: 0.0.0.0/0 and ::/0), PG_WAIT_SECONDS (30),
# PG_LOG_STATEMENTS=1 (log every statement with its parameters to DATADIR/postgres.log).
# When run as root the server runs as the `postgres` system user and DATADIR is given to it.
set -euo pipefail

die() { echo "postgres.sh: $*" >&2; exit 1; }
usage() { die "usage: postgres.sh start DATADIR PORT [LISTEN_ADDR] | stop DATADIR | status DATADIR"; }

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SCHEMA="$SCRIPT_DIR/schema.sql"
DB=${PG_DB:-dvdrental}
APP_USER=${PG_USER:-dvdrental}
APP_PASSWORD=${PG_PASSWORD:-dvdrental}
HOST_AUTH=${PG_HOST_AUTH:-scram-sha-256}
WAIT=${PG_WAIT_SECONDS:-30}

find_bin() {
  if [[ -n "${PG_BIN:-}" ]]; then echo "$PG_BIN"; return; fi
  local dir
  dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
  if [[ -n "$dir" ]]; then echo "$dir"; return; fi
  dir=$(dirname "$(command -v pg_ctl 2>/dev/null || echo /nonexistent/pg_ctl)")
  [[ -x "$dir/pg_ctl" ]] || die "PostgreSQL server binaries not found (install postgresql, or set PG_BIN)"
  echo "$dir"
}

# Runs a command as the server's owner: the postgres system user when we are root.
as_owner() {
  if [[ $(id -u) -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}

valid_ident() { [[ "$1" =~ ^[a-z_][a-z0-9_]{0,62}$ ]]; }

[[ $# -ge 2 ]] || usage
CMD=$1
DATADIR=$2
[[ "$DATADIR" = /* ]] || DATADIR="$(pwd)/$DATADIR"
PGDATA="$DATADIR/pgdata"
BIN=$(find_bin)
for tool in initdb pg_ctl pg_isready psql; do
  [[ -x "$BIN/$tool" || -x "$(command -v "$tool" 2>/dev/null)" ]] || die "$tool not found in $BIN"
done
# psql and pg_isready may live in /usr/bin (client package) rather than the server's bin dir.
tool() { if [[ -x "$BIN/$1" ]]; then echo "$BIN/$1"; else command -v "$1"; fi; }

case "$CMD" in
  start)
    [[ $# -ge 3 && $# -le 4 ]] || usage
    PORT=$3
    LISTEN=${4:-127.0.0.1}
    [[ "$PORT" =~ ^[0-9]+$ && "$PORT" -ge 1 && "$PORT" -le 65535 ]] || die "PORT must be 1-65535, got '$PORT'"
    [[ "$LISTEN" =~ ^[0-9a-fA-F.:*]+$ ]] || die "LISTEN_ADDR must be an IP address or '*', got '$LISTEN'"
    case "$HOST_AUTH" in trust|md5|scram-sha-256) ;; *) die "PG_HOST_AUTH must be trust, md5 or scram-sha-256";; esac
    valid_ident "$DB" || die "PG_DB must be a lowercase SQL identifier"
    valid_ident "$APP_USER" || die "PG_USER must be a lowercase SQL identifier"
    [[ -r "$SCHEMA" ]] || die "schema not found: $SCHEMA"

    mkdir -p "$DATADIR"
    if [[ $(id -u) -eq 0 ]]; then
      id postgres >/dev/null 2>&1 || die "running as root but there is no 'postgres' system user"
      chown postgres: "$DATADIR"
      chmod 700 "$DATADIR"
      as_owner test -w "$DATADIR" -a -x "$DATADIR" || die "user postgres cannot use $DATADIR (check the permissions of its parent directories)"
    fi

    if [[ ! -f "$PGDATA/PG_VERSION" ]]; then
      as_owner "$BIN/initdb" -D "$PGDATA" -U postgres --auth-local=trust --auth-host="$HOST_AUTH" \
        --encoding=UTF8 --no-locale >"$DATADIR/initdb.log" 2>&1 \
        || die "initdb failed; see $DATADIR/initdb.log"
      {
        echo "# written by postgres.sh: admin over the socket, the app network with $HOST_AUTH"
        echo "local all all trust"
        if [[ -n "${PG_ALLOW_CIDR:-}" ]]; then
          echo "host all all $PG_ALLOW_CIDR $HOST_AUTH"
        else
          echo "host all all 0.0.0.0/0 $HOST_AUTH"
          echo "host all all ::/0 $HOST_AUTH"
        fi
      } | as_owner tee "$PGDATA/pg_hba.conf" >/dev/null
    fi

    if as_owner "$BIN/pg_ctl" -D "$PGDATA" status >/dev/null 2>&1; then
      echo "postgres.sh: already running in $PGDATA" >&2
    else
      OPTS="-p $PORT -k $DATADIR -c listen_addresses='$LISTEN' -c unix_socket_permissions=0700"
      [[ "${PG_LOG_STATEMENTS:-0}" = 1 ]] && OPTS="$OPTS -c log_statement=all"
      as_owner "$BIN/pg_ctl" -D "$PGDATA" -l "$DATADIR/postgres.log" -w -t "$WAIT" -o "$OPTS" start >/dev/null \
        || die "server did not start; see $DATADIR/postgres.log"
    fi

    PSQL=(as_owner "$(tool psql)" -X -q -v ON_ERROR_STOP=1 -h "$DATADIR" -p "$PORT" -U postgres)
    deadline=$((SECONDS + WAIT))
    until as_owner "$(tool pg_isready)" -q -h "$DATADIR" -p "$PORT" -U postgres; do
      (( SECONDS < deadline )) || die "server not ready after ${WAIT}s; see $DATADIR/postgres.log"
      sleep 0.2
    done

    if [[ -z $("${PSQL[@]}" -d postgres -tA -c "SELECT 1 FROM pg_roles WHERE rolname = '$APP_USER'") ]]; then
      "${PSQL[@]}" -d postgres -v pw="$APP_PASSWORD" <<SQL
CREATE ROLE $APP_USER LOGIN PASSWORD :'pw';
SQL
    fi
    if [[ -z $("${PSQL[@]}" -d postgres -tA -c "SELECT 1 FROM pg_database WHERE datname = '$DB'") ]]; then
      "${PSQL[@]}" -d postgres -c "CREATE DATABASE $DB OWNER $APP_USER"
      # Loaded as the application role so it owns its tables; stdin keeps the repo private to root.
      "${PSQL[@]}" -d "$DB" -c "SET ROLE $APP_USER" -f - <"$SCHEMA" || die "loading $SCHEMA failed"
    fi

    HOST=$LISTEN
    [[ "$HOST" = "*" || "$HOST" = "0.0.0.0" ]] && HOST=127.0.0.1
    [[ "$HOST" = *:* ]] && HOST="[$HOST]"
    echo "DATABASE_URL=postgres://$APP_USER:$APP_PASSWORD@$HOST:$PORT/$DB"
    ;;
  stop)
    [[ $# -eq 2 ]] || usage
    [[ -f "$PGDATA/PG_VERSION" ]] || die "no cluster in $PGDATA"
    if as_owner "$BIN/pg_ctl" -D "$PGDATA" status >/dev/null 2>&1; then
      as_owner "$BIN/pg_ctl" -D "$PGDATA" -m fast -w -t "$WAIT" stop >/dev/null || die "server did not stop"
    fi
    ;;
  status)
    [[ $# -eq 2 ]] || usage
    as_owner "$BIN/pg_ctl" -D "$PGDATA" status >/dev/null 2>&1
    ;;
  *) usage ;;
esac
