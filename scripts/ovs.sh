#!/usr/bin/env bash
# Open vSwitch for the OVS data plane (userspace datapath: these machines have no kernel
# module), without systemd: Debian's own start is refused here, so ovs-ctl is run directly.
#
#   ovs.sh start    start ovsdb-server and ovs-vswitchd (idempotent), wait until they answer
#   ovs.sh stop     stop both by their pid files (idempotent), wait until gone
#   ovs.sh status   exit 0 when both run and answer
#
# Debian's default locations are kept (/etc/openvswitch/conf.db, /var/run/openvswitch), so
# ovs-vsctl and ovs-ofctl need no environment, and everyone on the machine shares one switch:
# flowtap names its bridges so they do not clash (see src/dataplane/ovs/).
# Environment: OVS_WAIT_SECONDS (20).
set -euo pipefail

die() { echo "ovs.sh: $*" >&2; exit 1; }
[[ $# -eq 1 ]] || die "usage: ovs.sh start | stop | status"
CTL=/usr/share/openvswitch/scripts/ovs-ctl
RUN=/var/run/openvswitch
WAIT=${OVS_WAIT_SECONDS:-20}
[[ "$WAIT" =~ ^[0-9]+$ ]] || die "OVS_WAIT_SECONDS must be a whole number, got '$WAIT'"

pid_alive() { [[ -f "$RUN/$1.pid" ]] && kill -0 "$(cat "$RUN/$1.pid")" 2>/dev/null; }
answers() { ovs-vsctl --timeout=2 show >/dev/null 2>&1; }
running() { pid_alive ovsdb-server && pid_alive ovs-vswitchd && answers; }

case "$1" in
  start)
    [[ -x "$CTL" ]] || die "Open vSwitch is not installed (run scripts/setup.sh: package openvswitch-switch)"
    [[ $(id -u) -eq 0 ]] || die "must run as root"
    if running; then exit 0; fi
    # --no-mlockall: the userspace datapath in a container may not lock memory; nothing here needs it.
    "$CTL" start --system-id=random --no-mlockall >/dev/null || die "ovs-ctl start failed"
    for _ in $(seq 1 $((WAIT * 10))); do
      if running; then exit 0; fi
      sleep 0.1
    done
    die "Open vSwitch did not answer within ${WAIT}s (see /var/log/openvswitch/)"
    ;;
  stop)
    for d in ovs-vswitchd ovsdb-server; do
      if pid_alive "$d"; then kill "$(cat "$RUN/$d.pid")" 2>/dev/null || true; fi
    done
    for _ in $(seq 1 $((WAIT * 10))); do
      if ! pid_alive ovs-vswitchd && ! pid_alive ovsdb-server; then exit 0; fi
      sleep 0.1
    done
    die "Open vSwitch daemons still alive after ${WAIT}s"
    ;;
  status)
    running
    ;;
  *) die "usage: ovs.sh start | stop | status" ;;
esac
