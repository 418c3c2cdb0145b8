#!/usr/bin/env bash
# Records the fixtures of the monitor's protocol detection (test/fixtures/pcap/detect-*.pcap):
# real clients and servers on ports that do not tell their protocol, recorded on the loopback
# interface. Needs root (tcpdump; PostgreSQL runs as the postgres user), PostgreSQL server
# binaries, nats-server, openssl, curl, python3 and node (the NATS client is the project's own
# @nats-io/transport-node dependency).
#
#   scripts/capture-detect-fixtures.sh [OUT_DIR]        (default test/fixtures/pcap)
#
#   detect-http.pcap      python3 -m http.server on 127.0.0.1:5555; two curl GETs
#   detect-postgres.pcap  a throwaway PostgreSQL on 127.0.0.1:6000 (trust, ssl on with a self-signed
#                         certificate): psql with sslmode=disable (StartupMessage, two queries),
#                         sslmode=require (SSLRequest, then TLS), and a pg_sleep cancelled by SIGINT
#                         (CancelRequest on a connection of its own)
#   detect-nats.pcap      nats-server on 127.0.0.1:7422; a node NATS client (SUB, PUB, MSG) and a
#                         client that sends nothing (the server's INFO alone)
#   detect-tls.pcap       openssl s_server on 127.0.0.1:8443 and on 127.0.0.1:8080 (a port that
#                         promises HTTP); openssl s_client to each
#   detect-mismatch.pcap  for the DVD-rental model (addressing.json): HTTP (python3 http.server) on
#                         db-0's PostgreSQL port 127.0.0.8:5432, curl from user-update-0's address;
#                         TLS (openssl s_server) on contract-update-0's HTTP port 127.0.0.2:8080
set -euo pipefail

die() { echo "capture-detect-fixtures: $*" >&2; exit 1; }
[[ $(id -u) -eq 0 ]] || die "run as root (tcpdump needs it)"
for t in tcpdump node curl nc psql openssl python3 nats-server runuser; do command -v "$t" >/dev/null || die "$t not found"; done
PG_BIN=${PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)}
[[ -x "$PG_BIN/pg_ctl" ]] || die "PostgreSQL server binaries not found (set PG_BIN)"

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUT=${1:-$ROOT/test/fixtures/pcap}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
WORK=$(mktemp -d /tmp/flowtap-detect-capture.XXXXXX)
chmod 755 "$WORK"
PIDS=()
TCPDUMP_PID=
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  [[ -n "$TCPDUMP_PID" ]] && kill -INT "$TCPDUMP_PID" 2>/dev/null || true
  [[ -f "$WORK/pg/data/postmaster.pid" ]] && runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$WORK/pg/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT

start_tcpdump() {
  local file=$1 filter=$2
  rm -f "$WORK/tcpdump.err"
  tcpdump -i lo -U -s 0 -n -w "$file" "$filter" 2>"$WORK/tcpdump.err" &
  TCPDUMP_PID=$!
  for _ in $(seq 50); do grep -q "listening on" "$WORK/tcpdump.err" 2>/dev/null && return 0; sleep 0.1; done
  die "tcpdump did not start: $(cat "$WORK/tcpdump.err")"
}

stop_tcpdump() {
  sleep 0.5
  kill -INT "$TCPDUMP_PID" && wait "$TCPDUMP_PID" || true
  TCPDUMP_PID=
  grep -E "captured" "$WORK/tcpdump.err" | sed 's/^/   tcpdump: /' || true
}

listening() { ss -ltnH "src $1 and sport = :$2" | grep -q LISTEN; }
wait_listening() {
  for _ in $(seq 100); do listening "$1" "$2" && return 0; sleep 0.1; done
  die "nothing listens on $1:$2"
}
stop_pid() { kill "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; }

openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=flowtap-test \
  -keyout "$WORK/key.pem" -out "$WORK/cert.pem" 2>/dev/null

echo "== detect-http"
mkdir -p "$WORK/www" && echo "hello from an odd port" >"$WORK/www/index.txt"
start_tcpdump "$OUT/detect-http.pcap" 'tcp port 5555'
python3 -m http.server 5555 --bind 127.0.0.1 --directory "$WORK/www" >"$WORK/http.log" 2>&1 &
HTTP_PID=$!
wait_listening 127.0.0.1 5555
curl -s -o /dev/null http://127.0.0.1:5555/index.txt
curl -s -o /dev/null -H 'user-agent: flowtap-detect' http://127.0.0.1:5555/missing
stop_pid "$HTTP_PID"
stop_tcpdump

echo "== detect-postgres"
mkdir -p "$WORK/pg"
cp "$WORK/cert.pem" "$WORK/key.pem" "$WORK/pg/"
chown -R postgres "$WORK/pg"
chmod 600 "$WORK/pg/key.pem"
runuser -u postgres -- "$PG_BIN/initdb" -D "$WORK/pg/data" -A trust -U postgres >/dev/null
cat >>"$WORK/pg/data/postgresql.conf" <<EOF
listen_addresses = '127.0.0.1'
port = 6000
unix_socket_directories = '$WORK/pg'
ssl = on
ssl_cert_file = '$WORK/pg/cert.pem'
ssl_key_file = '$WORK/pg/key.pem'
EOF
runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$WORK/pg/data" -l "$WORK/pg/postgres.log" -w start >/dev/null
start_tcpdump "$OUT/detect-postgres.pcap" 'tcp port 6000'
psql "host=127.0.0.1 port=6000 user=postgres dbname=postgres sslmode=disable gssencmode=disable" -qAt \
  -c 'SELECT 1' -c 'SELECT count(*) FROM pg_class WHERE relkind = $$r$$' >/dev/null
psql "host=127.0.0.1 port=6000 user=postgres dbname=postgres sslmode=require gssencmode=disable" -qAt -c 'SELECT 2' >/dev/null
psql "host=127.0.0.1 port=6000 user=postgres dbname=postgres sslmode=disable gssencmode=disable" -qAt -c 'SELECT pg_sleep(5)' >/dev/null 2>&1 &
SLEEP_PID=$!
sleep 1
kill -INT "$SLEEP_PID"
wait "$SLEEP_PID" || true
stop_tcpdump
runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$WORK/pg/data" -m fast -w stop >/dev/null

echo "== detect-nats"
start_tcpdump "$OUT/detect-nats.pcap" 'tcp port 7422'
nats-server -a 127.0.0.1 -p 7422 >"$WORK/nats.log" 2>&1 &
NATS_PID=$!
wait_listening 127.0.0.1 7422
cat >"$WORK/nats-client.mjs" <<'EOF'
import { createRequire } from 'node:module';
const { connect } = createRequire(`${process.argv[2]}/package.json`)('@nats-io/transport-node');
const nc = await connect({ servers: 'nats://127.0.0.1:7422', name: 'flowtap-detect' });
const sub = nc.subscribe('orders.*', { max: 2 });
const got = (async () => { for await (const m of sub) console.log('   got', m.subject, m.string()); })();
nc.publish('orders.created', '{"id":1}');
nc.publish('orders.paid', '{"id":1}');
await got;
await nc.drain();
EOF
node "$WORK/nats-client.mjs" "$ROOT"
# A client that never speaks: the server's INFO is all there is.
nc -w 1 127.0.0.1 7422 </dev/null >/dev/null || true
stop_pid "$NATS_PID"
stop_tcpdump

echo "== detect-tls"
start_tcpdump "$OUT/detect-tls.pcap" 'host 127.0.0.1 and (tcp port 8443 or tcp port 8080)'
PIDS=()
for port in 8443 8080; do
  openssl s_server -quiet -accept "127.0.0.1:$port" -cert "$WORK/cert.pem" -key "$WORK/key.pem" -naccept 1 >/dev/null 2>&1 &
  PIDS+=($!)
  wait_listening 127.0.0.1 "$port"
  echo | openssl s_client -quiet -connect "127.0.0.1:$port" -servername flowtap-test >/dev/null 2>&1 || true
done
for p in "${PIDS[@]}"; do stop_pid "$p"; done
PIDS=()
stop_tcpdump

echo "== detect-mismatch"
start_tcpdump "$OUT/detect-mismatch.pcap" '(host 127.0.0.8 and tcp port 5432) or (host 127.0.0.2 and tcp port 8080)'
python3 -m http.server 5432 --bind 127.0.0.8 --directory "$WORK/www" >"$WORK/http-db.log" 2>&1 &
HTTP_PID=$!
wait_listening 127.0.0.8 5432
curl -s -o /dev/null --interface 127.0.0.5 http://127.0.0.8:5432/index.txt
stop_pid "$HTTP_PID"
openssl s_server -quiet -accept 127.0.0.2:8080 -cert "$WORK/cert.pem" -key "$WORK/key.pem" -naccept 1 >/dev/null 2>&1 &
TLS_PID=$!
wait_listening 127.0.0.2 8080
echo | openssl s_client -quiet -connect 127.0.0.2:8080 >/dev/null 2>&1 || true
stop_pid "$TLS_PID"
stop_tcpdump

ls -l "$OUT"/detect-*.pcap
