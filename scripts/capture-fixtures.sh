#!/usr/bin/env bash
# Records the monitor's real-traffic fixtures (test/fixtures/pcap/*.pcap): the DVD-rental
# services, PostgreSQL and NATS run on this machine, each on its own loopback address, and
# tcpdump records the loopback interface while benign load and the FlowTap case-study attacks
# are sent. Needs root (tcpdump), PostgreSQL and nats-server (scripts/setup.sh installs them).
#
#   scripts/capture-fixtures.sh [OUT_DIR]        (default test/fixtures/pcap)
#
# Environment: BUILD_DIR (compiled tree with examples/dvd-rental; default: compile into
# .build/capture-fixtures), LOAD_REQUESTS (loadgen requests in benign.pcap, default 120).
#
# Addresses (test/fixtures/pcap/addressing.json says the same for the monitor):
#   127.0.0.1 external clients (curl, loadgen, psql)   127.0.0.5 user-update   127.0.0.8 db (PostgreSQL 5432)
#   127.0.0.2 contract-update   127.0.0.3 user-create   127.0.0.6 dvd-update    127.0.0.9 mq (NATS 4222)
#   127.0.0.4 dvd-return                                127.0.0.7 shipping      services: HTTP 8080
#
# Services listen on their own address (BIND) and, through a small preload module
# (FLOWTAP_SOURCE_ADDR), also connect FROM it: on loopback the kernel would otherwise use
# 127.0.0.1 as the source of every connection and the monitor could not tell the services apart.
# Attacks that play a compromised service send from that service's address the same way.
set -euo pipefail

die() { echo "capture-fixtures: $*" >&2; exit 1; }
[[ $(id -u) -eq 0 ]] || die "run as root (tcpdump needs it)"
for t in tcpdump node curl nc psql; do command -v "$t" >/dev/null || die "$t not found"; done

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUT=${1:-$ROOT/test/fixtures/pcap}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
REQUESTS=${LOAD_REQUESTS:-120}

if [[ -z "${BUILD_DIR:-}" ]]; then
  BUILD_DIR=$ROOT/.build/capture-fixtures
  (cd "$ROOT" && npx tsc -p tsconfig.json --outDir "$BUILD_DIR") || true
fi
MAIN=$BUILD_DIR/examples/dvd-rental/services/main.js
LOADGEN=$BUILD_DIR/examples/dvd-rental/loadgen/loadgen.js
[[ -f "$MAIN" && -f "$LOADGEN" ]] || die "compiled services not found under $BUILD_DIR"

declare -A IP=([contract-update]=127.0.0.2 [user-create]=127.0.0.3 [dvd-return]=127.0.0.4 [user-update]=127.0.0.5
  [dvd-update]=127.0.0.6 [shipping]=127.0.0.7 [db]=127.0.0.8 [mq]=127.0.0.9)

WORK=$(mktemp -d /tmp/flowtap-capture-XXXXXX)
chmod 755 "$WORK"
PIDS=()
TCPDUMP_PID=
PG_STARTED=
NATS_STARTED=

cleanup() {
  set +e
  [[ -n "$TCPDUMP_PID" ]] && kill -INT "$TCPDUMP_PID" 2>/dev/null && wait "$TCPDUMP_PID" 2>/dev/null
  for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
  [[ -n "$NATS_STARTED" ]] && bash "$ROOT/examples/dvd-rental/db/nats.sh" stop "$WORK/nats" >/dev/null 2>&1
  [[ -n "$PG_STARTED" ]] && bash "$ROOT/examples/dvd-rental/db/postgres.sh" stop "$WORK/pg" >/dev/null 2>&1
  rm -rf "$WORK"
}
trap cleanup EXIT

# --- helpers written into the work directory ------------------------------------------------

# Preload: every outgoing TCP connection to a loopback address leaves from FLOWTAP_SOURCE_ADDR.
cat >"$WORK/bind-source.mjs" <<'EOF'
import net from 'node:net';
const source = process.env.FLOWTAP_SOURCE_ADDR;
if (source) {
  const connect = net.Socket.prototype.connect;
  const pin = (o) => {
    if (o && typeof o === 'object' && !o.path && !o.localAddress && /^127\./.test(String(o.host ?? '127.0.0.1'))) o.localAddress = source;
  };
  net.Socket.prototype.connect = function (...args) {
    // net.connect hands over already-normalised [options, callback]; others pass (options) or (port, host, cb).
    if (Array.isArray(args[0])) pin(args[0][0]);
    else if (args[0] !== null && typeof args[0] === 'object') pin(args[0]);
    else if (typeof args[0] === 'number' || (typeof args[0] === 'string' && /^\d+$/.test(args[0]))) {
      const cb = args.find((a) => typeof a === 'function');
      const o = { port: Number(args[0]), host: typeof args[1] === 'string' ? args[1] : '127.0.0.1' };
      pin(o);
      return connect.call(this, o, cb);
    }
    return connect.apply(this, args);
  };
}
EOF

# A PostgreSQL client that runs SQL from a given address (a compromised service's view).
cat >"$WORK/sql-as.mjs" <<EOF
import { createRequire } from 'node:module';
const pg = createRequire('$ROOT/package.json')('pg');
const [url, ...statements] = process.argv.slice(2);
const client = new pg.Client({ connectionString: url });
try {
  await client.connect();
  for (const s of statements) {
    const r = await client.query(s);
    console.log(s, '->', r.rowCount);
  }
} catch (e) {
  console.log('refused or failed:', e.message);
} finally {
  await client.end().catch(() => {});
}
EOF

# Many connection attempts at once to a closed port: each is refused (SYN, RST), conn_state REJ.
cat >"$WORK/syn-burst.mjs" <<'EOF'
import net from 'node:net';
const [host, port, count] = [process.argv[2], Number(process.argv[3]), Number(process.argv[4])];
let refused = 0;
await Promise.all(Array.from({ length: count }, () => new Promise((resolve) => {
  const s = net.connect({ host, port });
  s.on('error', () => { refused++; resolve(); });
  s.on('connect', () => { s.destroy(); resolve(); });
})));
console.log(`${refused} of ${count} connection attempts refused`);
EOF

start_tcpdump() {
  local file=$1
  rm -f "$WORK/tcpdump.err"
  # Only the app's addresses, so other loopback traffic on this machine stays out of the fixture.
  tcpdump -i lo -U -s 0 -n -w "$file" 'tcp and net 127.0.0.0/28 and not (src host 127.0.0.1 and dst host 127.0.0.1)' 2>"$WORK/tcpdump.err" &
  TCPDUMP_PID=$!
  for _ in $(seq 50); do grep -q "listening on" "$WORK/tcpdump.err" 2>/dev/null && return 0; sleep 0.1; done
  die "tcpdump did not start: $(cat "$WORK/tcpdump.err")"
}

stop_tcpdump() {
  sleep 0.5
  kill -INT "$TCPDUMP_PID" && wait "$TCPDUMP_PID" || true
  TCPDUMP_PID=
  grep -E "captured|dropped" "$WORK/tcpdump.err" | sed 's/^/   tcpdump: /' || true
}

listening() { ss -ltnH "src $1 and sport = :$2" | grep -q LISTEN; }

start_services() {
  local db="postgres://dvdrental:dvdrental@${IP[db]}:5432/dvdrental" nats="nats://${IP[mq]}:4222"
  declare -A ENV=(
    [shipping]=""
    [user-update]="DATABASE_URL=$db"
    [user-create]="DATABASE_URL=$db"
    [dvd-update]="DATABASE_URL=$db NATS_URL=$nats SHIPPING_URL=http://${IP[shipping]}:8080"
    [contract-update]="USER_UPDATE_URL=http://${IP[user-update]}:8080 NATS_URL=$nats"
    [dvd-return]="DVD_UPDATE_URL=http://${IP[dvd-update]}:8080"
  )
  PIDS=()
  for s in shipping user-update user-create dvd-update contract-update dvd-return; do
    # shellcheck disable=SC2086
    env -i PATH="$PATH" SERVICE="$s" PORT=8080 BIND="${IP[$s]}" FLOWTAP_SOURCE_ADDR="${IP[$s]}" \
      NODE_OPTIONS="--import=file://$WORK/bind-source.mjs" ${ENV[$s]} node "$MAIN" >"$WORK/$s.log" 2>&1 &
    PIDS+=($!)
  done
  # Readiness from the socket table, not /healthz: a probe from outside would be traffic the model forbids.
  for s in shipping user-update user-create dvd-update contract-update dvd-return; do
    for _ in $(seq 100); do listening "${IP[$s]}" 8080 && break; sleep 0.1; done
    listening "${IP[$s]}" 8080 || die "$s did not start: $(tail -n 5 "$WORK/$s.log")"
  done
}

stop_services() {
  for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  PIDS=()
}

# One fixture: fresh services, everything from their start to their shutdown recorded.
scenario() {
  local name=$1
  shift
  echo "== $name"
  start_tcpdump "$WORK/$name.pcap"
  start_services
  "$@"
  stop_services
  stop_tcpdump
  cp "$WORK/$name.pcap" "$OUT/$name.pcap"
  echo "   $(stat -c %s "$OUT/$name.pcap") bytes"
}

post() { # post URL USER TRACEPARENT BODY [--interface ADDR]
  local url=$1 user=$2 tp=$3 body=$4
  shift 4
  curl -sS -o /dev/null -w "   %{http_code} POST $url\n" "$@" -H 'content-type: application/json' ${user:+-H "x-user-id: $user"} \
    ${tp:+-H "traceparent: $tp"} --data "$body" "$url"
}

as_service() { FLOWTAP_SOURCE_ADDR=${IP[$1]} NODE_OPTIONS="--import=file://$WORK/bind-source.mjs" "${@:2}"; }

nats_raw() { # nats_raw FROM_ADDR PROTOCOL_LINES...
  local from=$1
  shift
  { printf '%s\r\n' "$@"; sleep 0.5; } | nc -q 1 -s "$from" "${IP[mq]}" 4222 >/dev/null || true
}

# --- scenarios ---------------------------------------------------------------------------------

benign() {
  local u=$((2000000 + RANDOM * 10))
  post "http://${IP[user-create]}:8080/users" "$u" "" '{"name":"Ann","email":"ann-'$u'@example.test"}'
  post "http://${IP[contract-update]}:8080/contracts" "$u" "" '{"user":'$u',"dvd":1}'
  post "http://${IP[dvd-return]}:8080/returns" "$u" "" '{"rental":"no-such-rental"}'
  node "$LOADGEN" --contract-update "http://${IP[contract-update]}:8080" --user-create "http://${IP[user-create]}:8080" \
    --dvd-return "http://${IP[dvd-return]}:8080" --requests "$REQUESTS" --concurrency 4 --seed 7 --return-after 200 \
    --max-error-rate 0.5 >"$WORK/loadgen.json" || die "loadgen failed: $(cat "$WORK/loadgen.json")"
  node -e 'const s=require(process.argv[1]); console.log(`   loadgen: ${s.requests} requests, ${s.errors} errors`)' "$WORK/loadgen.json"
  # contract-update's own announcement, as a raw NATS client from its address (allowed).
  nats_raw "${IP[contract-update]}" 'CONNECT {"verbose":false,"headers":true}' 'PUB rentals.created 17' '{"contract":"x1"}' 'PING'
  sleep 1
}

unauthorized_db() {
  local db="postgres://dvdrental:dvdrental@${IP[db]}:5432/dvdrental"
  # shipping and dvd-return have no database access; an external client neither.
  as_service shipping node "$WORK/sql-as.mjs" "$db" 'SELECT id, email FROM users LIMIT 5'
  as_service dvd-return node "$WORK/sql-as.mjs" "$db" "UPDATE rentals SET returned_at = now() WHERE contract = 'x'"
  PGPASSWORD=dvdrental psql -h "${IP[db]}" -p 5432 -U dvdrental -d dvdrental -tA -c 'SELECT count(*) FROM users' || true
}

user_create_select() {
  local db="postgres://dvdrental:dvdrental@${IP[db]}:5432/dvdrental"
  # user-create may only INSERT into users; here it reads the whole table.
  as_service user-create node "$WORK/sql-as.mjs" "$db" 'BEGIN' 'SELECT id, name, email, balance FROM users' 'COMMIT'
}

identity_mismatch() {
  local a=$((3000000 + RANDOM * 10)) b
  b=$((a + 1))
  post "http://${IP[user-create]}:8080/users" "$a" "" '{"name":"Alice","email":"alice-'$a'@example.test"}'
  post "http://${IP[user-create]}:8080/users" "$b" "" '{"name":"Bob","email":"bob-'$b'@example.test"}'
  local trace=4bf92f3577b34da6a3ce929d0e0e$(printf '%04x' $((RANDOM % 65536)))
  # Alice rents a DVD (the real chain: contract-update bills her through user-update)...
  post "http://${IP[contract-update]}:8080/contracts" "$a" "00-$trace-00f067aa0ba902b7-01" '{"user":'$a',"dvd":2}'
  # ...and the compromised contract-update, within Alice's trace, bills Bob.
  post "http://${IP[user-update]}:8080/users/$b/bill" "$b" "00-$trace-b7ad6b7169203331-01" '{"amount":3.99,"contract":"forged"}' \
    --interface "${IP[contract-update]}"
}

nats_subjects() {
  # contract-update may publish rentals.created only; dvd-update may subscribe under rentals.>;
  # dvd-return has no business on the queue.
  nats_raw "${IP[contract-update]}" 'CONNECT {"verbose":false}' 'PUB rentals.deleted 2' 'hi' 'PING'
  nats_raw "${IP[dvd-update]}" 'CONNECT {"verbose":false}' 'SUB > 9' 'PING'
  nats_raw "${IP[dvd-return]}" 'CONNECT {"verbose":false}' 'SUB rentals.> 1' 'PING'
}

disallowed_http() {
  local u=$((4000000 + RANDOM * 10))
  curl -sS -o /dev/null -w '   %{http_code} GET /contracts\n' -H "x-user-id: $u" "http://${IP[contract-update]}:8080/contracts" || true
  curl -sS -o /dev/null -w '   %{http_code} DELETE /users/1\n' -X DELETE "http://${IP[user-create]}:8080/users/1" || true
  # user-update is internal: reachable only from contract-update.
  post "http://${IP[user-update]}:8080/users/$u/bill" "$u" "" '{"amount":0.01,"contract":"direct"}'
}

syn_flood() {
  # Refused attempts (conn_state REJ) at a closed port of shipping's address.
  node "$WORK/syn-burst.mjs" "${IP[shipping]}" 9 400
}

# --- run -----------------------------------------------------------------------------------------

echo "== starting PostgreSQL on ${IP[db]}:5432 and NATS on ${IP[mq]}:4222"
PG_STARTED=1
bash "$ROOT/examples/dvd-rental/db/postgres.sh" start "$WORK/pg" 5432 "${IP[db]}" >/dev/null
NATS_STARTED=1
bash "$ROOT/examples/dvd-rental/db/nats.sh" start "$WORK/nats" 4222 "${IP[mq]}" >/dev/null

# SCENARIOS="identity-mismatch syn-flood" records only those.
for s in ${SCENARIOS:-benign unauthorized-db user-create-select identity-mismatch nats-subjects disallowed-http syn-flood}; do
  scenario "$s" "${s//-/_}"
done
echo "fixtures written to $OUT"
