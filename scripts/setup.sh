#!/usr/bin/env bash
# Installs everything flowtap's data plane, demo and tests need on a fresh Debian machine,
# then the npm dependencies and a build. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(nftables iproute2 tcpdump tshark iperf3 wrk postgresql nats-server iputils-ping netcat-openbsd curl procps conntrack bpftrace hping3 chromium libnetfilter-queue-dev iptables openvswitch-switch ethtool)
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup: missing Debian packages ${missing[*]}; run this script as root to install them" >&2
    exit 2
  fi
  echo "setup: installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# Debian's kubectl (kubernetes-client) for the tests against the stand-in API server. Where
# another package already owns /usr/bin/kubectl (a cloud SDK's), the Debian binary is unpacked
# into .tools/ instead of installed over it; the tests take .tools/kubectl first.
if [ ! -x .tools/kubectl ]; then
  if ! dpkg-query -W -f='${Status}' kubernetes-client 2>/dev/null | grep -q 'install ok installed'; then
    if [ -e /usr/bin/kubectl ]; then
      tmp=$(mktemp -d)
      (cd "$tmp" && apt-get download -qq kubernetes-client >/dev/null 2>&1 || { apt-get update -qq && apt-get download -qq kubernetes-client >/dev/null; })
      dpkg-deb -x "$tmp"/kubernetes-client_*.deb "$tmp/x"
      mkdir -p .tools && cp "$tmp/x/usr/bin/kubectl" .tools/kubectl
      rm -rf "$tmp"
    else
      apt-get update -qq
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends kubernetes-client >/dev/null
    fi
  fi
  if [ ! -x .tools/kubectl ]; then mkdir -p .tools && ln -sf "$(command -v kubectl)" .tools/kubectl; fi
fi
# Debian starts a cluster-wide PostgreSQL on install; flowtap runs its own inside a namespace.
if command -v systemctl >/dev/null 2>&1; then systemctl stop postgresql >/dev/null 2>&1 || true; fi

if [ -f package-lock.json ]; then npm ci --no-audit --no-fund; else npm install --no-audit --no-fund; fi
# The inline monitor's netfilter-queue addon, from our own C source, against this Node's headers
# (npm's bundled node-gyp; --nodedir keeps it from downloading headers).
node "$(dirname "$(readlink -f "$(command -v npm)")")/../node_modules/node-gyp/bin/node-gyp.js" rebuild \
  --directory native/nfqueue --nodedir="$(dirname "$(dirname "$(readlink -f "$(command -v node)")")")" >/dev/null
npm run build
