#!/usr/bin/env bash
# Installs what moat's demo and tests need on Debian 12 (run as root):
# Debian's Docker engine, iptables, busybox-static (the offline probe image),
# conntrack, ipset, docker-compose; Docker 26.1 and 28.5 unpacked for the
# test bed (scripts/fetch-engines.sh); then the npm packages (Node 24 among them).
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive
# Installing docker.io must not start an engine in the root namespace: the
# demo and the tests run their own engines inside network namespaces.
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
  chmod +x /usr/sbin/policy-rc.d
  trap 'rm -f /usr/sbin/policy-rc.d' EXIT
fi
apt-get update -qq
apt-get install -y -qq --no-install-recommends \
  docker.io iptables nftables busybox-static conntrack ipset iproute2 docker-compose python3 \
  curl ca-certificates debootstrap systemd >/dev/null
# Docker 26.1 and 28.5 for the test bed, unpacked beside the system's 20.10
# (not installed; cached in /var/cache/moat-engines between runs).
bash scripts/fetch-engines.sh
# Node 24 comes from the npm registry as a dev dependency (package "node");
# npm scripts then run on it. The system npm only installs.
npm ci --no-audit --no-fund
