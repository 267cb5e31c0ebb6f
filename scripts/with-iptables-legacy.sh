#!/usr/bin/env bash
# Runs a command with the legacy iptables backend first on PATH: a private
# directory of iptables, iptables-save, iptables-restore and their ip6tables
# siblings, linked to the *-legacy tools (the way moat's container
# entrypoint picks a backend, without update-alternatives). Everything the
# command starts inherits it: the test bed's own rule reads, and moatd,
# which then writes with iptables-legacy-restore and polls for drift (nft
# monitor sees nothing of the legacy backend). The bed checks the choice
# (MOAT_IPTABLES_BACKEND) and prints it beside the engine line.
#
# Usage: scripts/with-iptables-legacy.sh COMMAND [ARG...]
#   e.g. scripts/with-iptables-legacy.sh npx vitest run --project integration golden-kernel
set -euo pipefail
[ $# -gt 0 ] || { echo "usage: $0 COMMAND [ARG...]" >&2; exit 2; }
dir=$(mktemp -d /tmp/moat-legacy-bin.XXXXXX)
trap 'rm -rf "$dir"' EXIT
for tool in iptables ip6tables; do
  for suffix in '' -save -restore; do
    target=$(command -v "$tool-legacy$suffix") || { echo "$tool-legacy$suffix not found (Debian: apt-get install iptables)" >&2; exit 1; }
    ln -s "$target" "$dir/$tool$suffix"
  done
done
PATH="$dir:$PATH" MOAT_IPTABLES_BACKEND=legacy "$@"
