#!/usr/bin/env bash
# Records the HTTP fidelity fixtures (test/fixtures/pcap/http-*.pcap): real clients and servers
# on the loopback interface, each server on an address of its own so that only its traffic is
# recorded. Needs root (tcpdump), curl, python3 and nginx (Debian's nginx-light is enough).
#
#   scripts/capture-http-fixtures.sh [OUT_DIR]        (default test/fixtures/pcap)
#
#   http-python.pcap      python3 -m http.server (HTTP/1.0 replies) on 127.0.0.60:8080: curl GET,
#                         HEAD, 404, Basic auth, X-Forwarded-For, a %-escaped URI, a POST (501),
#                         a chunked upload; raw clients: loosely written request lines that the
#                         server accepts, and a head cut by the client's FIN that it still answers
#   http-nginx-gzip.pcap  nginx (gzip on, gzip_types *) on 127.0.0.61:8080: curl --compressed,
#                         three requests on one connection (gzip, chunked replies), a chunked upload
#   http-deflate.pcap     a python3 HTTP/1.1 server on 127.0.0.62:8080 answering with
#                         Content-Encoding deflate (zlib-wrapped), raw deflate and gzip
#   http-smuggling.pcap   Content-Length with Transfer-Encoding: against the keep-alive python3
#                         server of http-deflate (which reads Content-Length, so it serves the
#                         request hidden in the chunked body) and against nginx
set -euo pipefail

die() { echo "capture-http-fixtures: $*" >&2; exit 1; }
[[ $(id -u) -eq 0 ]] || die "run as root (tcpdump needs it)"
for t in tcpdump curl python3 nginx; do command -v "$t" >/dev/null || die "$t not found"; done

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUT=${1:-$ROOT/test/fixtures/pcap}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
WORK=$(mktemp -d /tmp/flowtap-http-capture.XXXXXX)
chmod 755 "$WORK"
PIDS=()
TCPDUMP_PID=
cleanup() {
  set +e
  [[ -n "$TCPDUMP_PID" ]] && kill -INT "$TCPDUMP_PID" 2>/dev/null && wait "$TCPDUMP_PID" 2>/dev/null
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
  [[ -f "$WORK/nginx.pid" ]] && kill "$(cat "$WORK/nginx.pid")" 2>/dev/null
  [[ -n "${KEEP_WORK:-}" ]] || rm -rf "$WORK"
}
trap cleanup EXIT

PY=127.0.0.60
NGX=127.0.0.61
DEF=127.0.0.62

# The site: deterministic content, so the tests know every body size.
SITE=$WORK/site
mkdir -p "$SITE/dir"
python3 - "$SITE" <<'EOF'
import sys, os
site = sys.argv[1]
open(os.path.join(site, 'hello.txt'), 'w').write('hello, flowtap\n')
open(os.path.join(site, 'a b.txt'), 'w').write('spaced name\n')
lines = ''.join(f'line {i:05d}: the quick brown fox jumps over the lazy dog\n' for i in range(400))
open(os.path.join(site, 'big.txt'), 'w').write(lines)
open(os.path.join(site, 'data.json'), 'w').write('[' + ','.join(f'{{"id":{i},"name":"item-{i}"}}' for i in range(300)) + ']')
open(os.path.join(site, 'upload.bin'), 'wb').write(bytes(range(256)) * 4)
EOF
chmod -R a+rX "$SITE"

start_capture() {
  tcpdump -i lo -s 0 -U --immediate-mode -w "$OUT/$1" "host $2 and tcp port 8080" 2>/dev/null &
  TCPDUMP_PID=$!
  sleep 1
}
stop_capture() {
  sleep 0.5
  kill -INT "$TCPDUMP_PID"
  wait "$TCPDUMP_PID" || true
  TCPDUMP_PID=
}
wait_port() {
  for _ in $(seq 50); do curl -s -o /dev/null "http://$1:8080/" && return 0; sleep 0.1; done
  die "nothing listens on $1:8080"
}

# A raw client: sends the bytes given (printf escapes), half-closes if asked, prints the answer.
raw() {
  python3 - "$@" <<'EOF'
import socket, sys
host, data, mode = sys.argv[1], sys.argv[2].encode('latin1').decode('unicode_escape').encode('latin1'), sys.argv[3]
s = socket.create_connection((host, 8080))
s.settimeout(3)
s.sendall(data)
if mode == 'shut':
    s.shutdown(socket.SHUT_WR)
out = b''
try:
    while True:
        b = s.recv(65536)
        if not b:
            break
        out += b
except socket.timeout:
    pass
s.close()
print(out.split(b'\r\n', 1)[0].decode('latin1'))
EOF
}

# --- python3 http.server ---------------------------------------------------------------------
python3 -m http.server 8080 --bind "$PY" --directory "$SITE" >/dev/null 2>&1 &
PIDS+=($!)
wait_port "$PY"
start_capture http-python.pcap "$PY"
C="curl -s -o /dev/null"
$C "http://$PY:8080/hello.txt"
$C "http://$PY:8080/missing"
$C -I "http://$PY:8080/hello.txt"
$C --http1.0 "http://$PY:8080/dir/"
$C -u alice:s3cret -H 'X-Forwarded-For: 203.0.113.9' -H 'Referer: http://example.test/' "http://$PY:8080/hello.txt"
$C "http://$PY:8080/a%20b.txt"
$C -d 'name=flowtap&x=1' "http://$PY:8080/form"
$C -H 'Transfer-Encoding: chunked' --data-binary "@$SITE/upload.bin" "http://$PY:8080/upload"
raw "$PY" 'GET  /hello.txt   HTTP/1.1\r\nHost: loose\r\n\r\n' close
raw "$PY" 'GET /hello.txt HTTP/01.1\r\nHost: loose\r\n\r\n' close
raw "$PY" ' GET /hello.txt HTTP/1.1\r\nHost: loose\r\n\r\n' close
raw "$PY" 'PURGE /hello.txt HTTP/1.1\r\nHost: loose\r\n\r\n' close
raw "$PY" 'GET /dir/ HTTP/1.1\r\nHost: cut\r\nX-Trace: abc' shut
stop_capture
kill "${PIDS[-1]}"; unset 'PIDS[-1]'

# --- nginx with gzip --------------------------------------------------------------------------
cat >"$WORK/nginx.conf" <<EOF
daemon off;
worker_processes 1;
pid $WORK/nginx.pid;
error_log $WORK/nginx-error.log;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path $WORK/body;
  gzip on;
  gzip_types *;
  gzip_min_length 1;
  server {
    listen $NGX:8080;
    root $SITE;
    location /upload { client_max_body_size 1m; return 204; }
  }
}
EOF
nginx -c "$WORK/nginx.conf" &
PIDS+=($!)
wait_port "$NGX"
start_capture http-nginx-gzip.pcap "$NGX"
$C --compressed "http://$NGX:8080/big.txt" -o /dev/null "http://$NGX:8080/data.json" -o /dev/null "http://$NGX:8080/hello.txt"
$C "http://$NGX:8080/data.json"
$C -H 'Transfer-Encoding: chunked' --data-binary "@$SITE/upload.bin" "http://$NGX:8080/upload"
stop_capture

# --- deflate, raw deflate and gzip from a keep-alive python3 server ---------------------------
cat >"$WORK/coded.py" <<'EOF'
import sys, zlib, gzip
from http.server import BaseHTTPRequestHandler, HTTPServer
BODY = open(sys.argv[2], 'rb').read()
class H(BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'
    def log_message(self, *a): pass
    def reply(self, code, body, coding=None):
        self.send_response(code)
        if coding: self.send_header('Content-Encoding', coding)
        self.send_header('Content-Type', 'text/plain')
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        if self.command != 'HEAD': self.wfile.write(body)
    def do_GET(self):
        if self.path == '/deflate': self.reply(200, zlib.compress(BODY), 'deflate')
        elif self.path == '/rawdeflate':
            c = zlib.compressobj(wbits=-15); self.reply(200, c.compress(BODY) + c.flush(), 'deflate')
        elif self.path == '/gzip': self.reply(200, gzip.compress(BODY), 'x-gzip')
        else: self.reply(200 if self.path == '/' else 404, b'plain\n')
    def do_POST(self):
        # Reads the body by Content-Length only, as many simple servers do.
        n = int(self.headers.get('Content-Length', '0'))
        self.rfile.read(n)
        self.reply(200, b'posted\n')
HTTPServer((sys.argv[1], 8080), H).serve_forever()
EOF
python3 "$WORK/coded.py" "$DEF" "$SITE/big.txt" &
PIDS+=($!)
wait_port "$DEF"
start_capture http-deflate.pcap "$DEF"
$C "http://$DEF:8080/deflate" -o /dev/null "http://$DEF:8080/rawdeflate" -o /dev/null "http://$DEF:8080/gzip"
stop_capture

# --- request smuggling: Content-Length and Transfer-Encoding together --------------------------
start_capture http-smuggling.pcap "$DEF or host $NGX"
echo "python server: $(raw "$DEF" 'POST /upload HTTP/1.1\r\nHost: front\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n2a\r\nGET /admin/secret HTTP/1.1\r\nHost: back\r\n\r\n\r\n0\r\n\r\n' close)"
echo "nginx: $(raw "$NGX" 'POST /upload HTTP/1.1\r\nHost: front\r\nContent-Length: 47\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /admin/secret HTTP/1.1\r\nHost: back\r\n\r\n' close)"
stop_capture

ls -l "$OUT"/http-*.pcap
