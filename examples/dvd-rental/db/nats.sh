#!/usr/bin/env bash
# Runs the DVD-rental NATS server without systemd, so it also works inside a network
# namespace (`ip netns exec NS nats.sh start ...`).
#
#   nats.sh start DIR PORT [LISTEN_ADDR]   start nats-server in the background, wait until it greets
#   nats.sh stop  DIR                      SIGTERM, wait until gone (SIGKILL after NATS_WAIT_SECONDS)
#   nats.sh status DIR                     exit 0 when running
#
# DIR holds nats.pid and nats.log. LISTEN_ADDR defaults to 127.0.0.1. The server URL for the
# services is printed on stdout as NATS_URL=...
# Environment: NATS_SERVER (binary; default nats-server on PATH or /usr/sbin/nats-server),
# NATS_WAIT_SECONDS (10).
set -euo pipefail

die() { echo "nats.sh: $*" >&2; exit 1; }
usage() { die "usage: nats.sh start DIR PORT [LISTEN_ADDR] | stop DIR | status DIR"; }

WAIT=${NATS_WAIT_SECONDS:-10}

find_server() {
  if [[ -n "${NATS_SERVER:-}" ]]; then echo "$NATS_SERVER"; return; fi
  local s
  s=$(command -v nats-server 2>/dev/null || true)
  [[ -z "$s" && -x /usr/sbin/nats-server ]] && s=/usr/sbin/nats-server
  [[ -n "$s" ]] || die "nats-server not found (install nats-server, or set NATS_SERVER)"
  echo "$s"
}

running_pid() {
  local pidfile="$1/nats.pid" pid
  [[ -f "$pidfile" ]] || return 1
  pid=$(cat "$pidfile")
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  # The pid file may be stale and the number reused: check that it is still a nats-server.
  grep -qa nats-server "/proc/$pid/cmdline" 2>/dev/null || return 1
  echo "$pid"
}

# Alive unless gone or a zombie. (Not the cmdline: it reads empty for an instant while the
# process execs, which made a starting server look dead.)
alive() {
  local stat
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  stat=${stat##*) }
  [[ -n "$stat" && "${stat:0:1}" != Z && "${stat:0:1}" != X ]]
}

# True once the server sends its INFO greeting on the client port.
greets() {
  local host=$1 port=$2 line
  { exec 3<>"/dev/tcp/$host/$port"; } 2>/dev/null || return 1
  read -r -t 2 line <&3 || { exec 3<&-; return 1; }
  exec 3<&- 3>&-
  [[ "$line" == INFO* ]]
}

[[ $# -ge 2 ]] || usage
CMD=$1
DIR=$2
[[ "$DIR" = /* ]] || DIR="$(pwd)/$DIR"

case "$CMD" in
  start)
    [[ $# -ge 3 && $# -le 4 ]] || usage
    PORT=$3
    LISTEN=${4:-127.0.0.1}
    [[ "$PORT" =~ ^[0-9]+$ && "$PORT" -ge 1 && "$PORT" -le 65535 ]] || die "PORT must be 1-65535, got '$PORT'"
    [[ "$LISTEN" =~ ^[0-9a-fA-F.:]+$ ]] || die "LISTEN_ADDR must be an IP address, got '$LISTEN'"
    SERVER=$(find_server)
    mkdir -p "$DIR"
    started=
    if pid=$(running_pid "$DIR"); then
      echo "nats.sh: already running (pid $pid)" >&2
    else
      rm -f "$DIR/nats.pid"
      # A fresh log, so readiness below is judged on this run's "Server is ready" line.
      [[ -f "$DIR/nats.log" ]] && mv -f "$DIR/nats.log" "$DIR/nats.log.1"
      # setsid: the server outlives this script and the caller's process group.
      setsid "$SERVER" -a "$LISTEN" -p "$PORT" -P "$DIR/nats.pid" -l "$DIR/nats.log" </dev/null >/dev/null 2>&1 &
      started=$!
    fi
    HOST=$LISTEN
    [[ "$HOST" = "0.0.0.0" ]] && HOST=127.0.0.1
    [[ "$HOST" = "::" ]] && HOST=::1
    deadline=$((SECONDS + WAIT))
    # Ready when the server answers on the port and, if we started it, our process is the one
    # that logged readiness (another server may hold the port while ours fails to bind).
    until greets "$HOST" "$PORT" && { [[ -z "$started" ]] || grep -q "Server is ready" "$DIR/nats.log" 2>/dev/null; }; do
      if [[ -n "$started" ]] && ! alive "$started"; then
        tail -n 5 "$DIR/nats.log" >&2 2>/dev/null || true
        die "nats-server exited during start; see $DIR/nats.log"
      fi
      if (( SECONDS >= deadline )); then
        tail -n 5 "$DIR/nats.log" >&2 2>/dev/null || true
        # Leave nothing behind: a caller that sees the failure has no pid to stop.
        [[ -n "$started" ]] && kill -TERM "$started" 2>/dev/null || true
        die "nats-server not ready on $HOST:$PORT after ${WAIT}s; see $DIR/nats.log"
      fi
      sleep 0.1
    done
    [[ "$HOST" = *:* ]] && HOST="[$HOST]"
    echo "NATS_URL=nats://$HOST:$PORT"
    ;;
  stop)
    [[ $# -eq 2 ]] || usage
    pid=$(running_pid "$DIR") || exit 0
    kill -TERM "$pid" 2>/dev/null || true
    deadline=$((SECONDS + WAIT))
    while kill -0 "$pid" 2>/dev/null; do
      if (( SECONDS >= deadline )); then kill -KILL "$pid" 2>/dev/null || true; break; fi
      sleep 0.1
    done
    rm -f "$DIR/nats.pid"
    ;;
  status)
    [[ $# -eq 2 ]] || usage
    running_pid "$DIR" >/dev/null
    ;;
  *) usage ;;
esac
