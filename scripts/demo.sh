#!/usr/bin/env bash
# The main job: on a fresh Debian machine (as root), install what flowtap needs, then deploy the
# DVD-rental application on network namespaces, protected end to end, drive real traffic through
# it, show an attack being stopped and seen, and tear everything down again.
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" -eq 0 ] || { echo "demo: run as root (network namespaces and nftables need it)" >&2; exit 2; }

[ "${FLOWTAP_SKIP_SETUP:-0}" = 1 ] || bash scripts/setup.sh
export FLOWTAP_STATE_DIR=${FLOWTAP_STATE_DIR:-/var/lib/flowtap}
ft() { node bin/flowtap.js "$@"; }
APP=examples/dvd-rental
P=$APP/policies
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

cleanup() {
  ft down dvd-rental >/dev/null 2>&1 || true
  [ -n "${BROKER_DIR:-}" ] && bash scripts/broker-servers.sh stop "$BROKER_DIR" >/dev/null 2>&1
  true
}
trap cleanup EXIT
cleanup
# A fresh run: the application's data (its database, logs) from an earlier demo would change what the load generator sees.
rm -rf "${FLOWTAP_STATE_DIR:?}/dvd-rental"

step "1. the descriptor, the inferred firewall and its verification"
ft validate $APP
ft verify $APP | tail -n 3

step "2. monitoring policies compiled into FlowTap contracts (ftc) and placed on monitors"
ft taps $APP --policy $P/public-http.dl --policy $P/database.dl --policy $P/message-queue.dl

step "3. deploy on network namespaces: nodes, instances, monitors, firewall and taps"
# The broker's bus is NATS JetStream (flowtap's own server, started here): notices reach the controller in milliseconds.
# Ports of the demo's own, so that servers the tests started elsewhere do not stand in the way.
BROKER_DIR=${FLOWTAP_STATE_DIR}/broker-servers
export FLOWTAP_PG_PORT=55442 FLOWTAP_NATS_PORT=54232
eval "$(bash scripts/broker-servers.sh start "$BROKER_DIR")"
# With the security controller (flowtap serve), following notices from the start with the reference reaction rules.
ft up $APP --policy $P/public-http.dl --policy $P/database.dl --policy $P/message-queue.dl --policy $P/connection-attempts.dl \
  --bus "$FLOWTAP_TEST_NATS?stream=FT_DEMO&prefix=ftdemo" --controller --rules $APP/reactions.dl

step "4. the live probe matrix equals the required connectivity (the controller knows it is flowtap's own scan)"
ft verify $APP --live

EXT=ft-dvd-rental-external
addr() { ft status dvd-rental --json | node -e "let s='';process.stdin.on('data',d=>s+=d).on('end',()=>console.log(JSON.parse(s).addressing.instances['$1'].ip))"; }
CU=$(addr contract-update-0); UC=$(addr user-create-0); DR=$(addr dvd-return-0); DB=$(addr db-0)

step "5. customers: the load generator rents and returns DVDs from outside"
ip netns exec $EXT node dist/examples/dvd-rental/loadgen/loadgen.js \
  --contract-update http://$CU:8080 --user-create http://$UC:8080 --dvd-return http://$DR:8080 \
  --requests 300 --rate 100 --concurrency 8

step "6. the security controller, started by up, has reacted to nothing so far"
ft reactions dvd-rental
# The id of the latest reaction to ACTION on TARGET, once there is one.
reaction() {
  for _ in $(seq 1 50); do
    id=$(ft reactions dvd-rental --json | node -e "let s='';process.stdin.on('data',d=>s+=d).on('end',()=>{const r=JSON.parse(s).filter(x=>x.action.kind==='$1'&&(x.action.instance==='$2'||x.action.source==='$2'));console.log(r.length?r[r.length-1].id:'')})")
    [ -n "$id" ] && { echo "$id"; return; }
    sleep 0.2
  done
  echo "no reaction to $1 $2" >&2; return 1
}

step "7. attacks, each seen by the monitors and answered by the controller"
T=4bf92f3577b34da6a3ce929d0e0e4736
echo "- a customer signs up (the renter of the third attack):"
ip netns exec $EXT curl -sS -m 5 -X POST -H 'content-type: application/json' -H 'x-user-id: 2000001' http://$UC:8080/users -d '{"name":"Ann","email":"ann@example.test"}'; echo
echo "- a compromised shipping reaches for the database (dropped by the firewall, seen by its connection-attempt tap;"
echo "  the probe matrix of step 4 tried the same pair from its own source ports, which hide nothing):"
ip netns exec ft-dvd-rental-i-shipping-0 nc -z -w 2 "$DB" 5432 && { echo "shipping reached the database: NOT PROTECTED" >&2; exit 1; } || true
SHIP=$(reaction quarantine shipping-0); sleep 2.5
ft why dvd-rental "$SHIP"
echo "- a compromised user-create reads the users table (it may only INSERT):"
ip netns exec ft-dvd-rental-i-user-create-0 env PGPASSWORD=dvdrental psql -h "$DB" -U dvdrental -d dvdrental -tAc "select count(*) from users"
UCQ=$(reaction quarantine user-create-0)
echo "  user-create has one instance (min_healthy 1 for front services), so its quarantine waits for an operator:"
ft reactions dvd-rental | grep "$UCQ"
ft approve dvd-rental "$UCQ"
echo "- a compromised contract-update bills another user than the one renting (same trace):"
ip netns exec $EXT curl -sS -m 5 -X POST -H 'content-type: application/json' -H 'x-user-id: 2000001' \
  -H "traceparent: 00-$T-00f067aa0ba902b7-01" http://$CU:8080/contracts -d '{"user":2000001,"dvd":7}'; echo
ip netns exec ft-dvd-rental-i-contract-update-0 curl -sS -m 5 -X POST -H 'content-type: application/json' -H 'x-user-id: 2000002' \
  -H "traceparent: 00-$T-1111111111111111-01" "http://$(addr user-update-0):8080/users/2000002/bill" -d '{"amount":3.99,"contract":"c-evil"}'; echo
CUQ=$(reaction quarantine contract-update-0)
echo "- a SYN flood on a public service from an outside address:"
ip -n $EXT addr add 10.250.0.201/24 dev eth0 2>/dev/null || true
ip netns exec $EXT hping3 -q -S -p 8080 -i u2000 -c 600 -a 10.250.0.201 "$DR" 2>/dev/null || true
FLOOD=$(reaction restrict 10.250.0.201); sleep 2.5
echo "- what the controller did, would do, or waits to do:"
ft reactions dvd-rental
echo "- every reaction is undone (its inverse is stored with it); the waiting one too:"
for id in "$SHIP" "$UCQ" "$CUQ" "$FLOOD"; do ft undo dvd-rental "$id"; done
echo "- notices (the probe matrix's denied attempts of step 4 are among them: a scan, seen by the taps before the firewall drops it):"
ft notices dvd-rental | tail -n 8

step "7b. an administrator's change, through the controller: only the nodes that change, each through its agent, then the probe"
ft reconfigure $APP --policy $P/public-http.dl --policy $P/database.dl --policy $P/message-queue.dl
ft reconfigure $APP --policy $P/public-http.dl --policy $P/database.dl --policy $P/message-queue.dl --policy $P/connection-attempts.dl

step "8. security context: the node agents ship it to the broker, at a depth changed at run time"
ft records dvd-rental --kind agent-cost --node node1 --limit 4
ft verbosity dvd-rental --node node1 4 --period 2
# More customers while node1 collects at level 4. This second run of the generator meets the rentals and
# users of step 5 in the same database, so some of its returns and sign-ups fail by the application's rules.
ip netns exec $EXT node dist/examples/dvd-rental/loadgen/loadgen.js \
  --contract-update http://$CU:8080 --user-create http://$UC:8080 --dvd-return http://$DR:8080 \
  --requests 200 --rate 50 --concurrency 4 --seed 7 --max-error-rate 0.2 | grep -E '"(requests|ok|errors|return:404|create-user:409)"'
ft records dvd-rental --node node1 --kind flow,log,monitor-log,syscall --since 10s --limit 8
ft verbosity dvd-rental --node node1 1 --period 5

step "8b. quarantine an instance by hand, then release it"
ft isolate $APP user-update-0
ip netns exec ft-dvd-rental-i-contract-update-0 nc -z -w 1 "$(addr user-update-0)" 8080 && echo "still reachable?!" || echo "user-update-0 is cut off"
ft release $APP user-update-0

step "8c. the API, the metrics and the dashboard (flowtap serve --listen), one tenant's token"
TOKEN=$(ft token issue demo-acme --tenant acme 2>/dev/null)
# Started directly (not through the ft function): $! is then the server itself, which kill stops.
node bin/flowtap.js serve --listen 127.0.0.1:18080 2>"$FLOWTAP_STATE_DIR/api.log" &
API=$!
for _ in $(seq 1 50); do curl -s -o /dev/null http://127.0.0.1:18080/openapi.json && break; sleep 0.2; done
curl -s -H "Authorization: Bearer $TOKEN" http://127.0.0.1:18080/api/v1/apps | node -e "let s='';process.stdin.on('data',d=>s+=d).on('end',()=>{for(const a of JSON.parse(s).apps)console.log(a.name,a.tenant,a.mode,a.nodes.join(','),a.instances+' instances','controller '+(a.controller.running?'running':'stopped'))})"
curl -s -H "Authorization: Bearer $TOKEN" http://127.0.0.1:18080/metrics | grep -E '^flowtap_(notices|reactions)' | head -n 8
FLOWTAP_TOKEN=$TOKEN ft reactions dvd-rental --server http://127.0.0.1:18080 | head -n 4
echo "dashboard: http://127.0.0.1:18080/ (log in with the token above)"
kill $API; wait $API 2>/dev/null || true

step "9. what ran, with the firewall counters"
ft status dvd-rental | head -n 40

step "10. tear down"
ft down dvd-rental
bash scripts/broker-servers.sh stop "$BROKER_DIR" >/dev/null
trap - EXIT
ip netns list | grep -c '^ft-dvd-rental-' || echo "no namespace left"
