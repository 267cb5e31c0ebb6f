#!/bin/sh
# Entrypoint of the moat image. The container shares the host's network
# namespace (--network host), so its iptables must be the backend the host
# uses: rules written through the other one are in a table set nobody else
# reads (nft) or one that mixes badly with it (legacy). Like kube-proxy's
# iptables-wrapper, it looks at which backend holds rules, then puts a
# directory of iptables* links to that backend first on PATH (no
# update-alternatives: works on a read-only root file system too).
#
#   MOAT_IPTABLES_BACKEND=nft|legacy   skip detection
#
# With no arguments, or options first, it runs moatd; otherwise the command
# given (e.g. `moat plan`) with the same PATH.
set -eu

say() { echo "moat-entrypoint: $*" >&2; }

# Rules a backend holds, IPv4 + IPv6; 0 when it does not work.
lines() {
  { "iptables-$1-save" || true; "ip6tables-$1-save" || true; } 2>/dev/null | grep -c '^-' || true
}
works() { "iptables-$1-save" -t filter >/dev/null 2>&1; }
moat_chains() {
  { "iptables-$1-save" || true; "ip6tables-$1-save" || true; } 2>/dev/null | grep -c '^:MOAT-' || true
}

backend=${MOAT_IPTABLES_BACKEND:-}
case "$backend" in
  nft|legacy) why="MOAT_IPTABLES_BACKEND" ;;
  '')
    nft_moat=$(moat_chains nft); legacy_moat=$(moat_chains legacy)
    nft=$(lines nft); legacy=$(lines legacy)
    if [ "$nft_moat" -gt 0 ] && [ "$legacy_moat" -eq 0 ]; then
      backend=nft; why="moat's chains are in nft (moat lockdown or an earlier moatd)"
    elif [ "$legacy_moat" -gt 0 ] && [ "$nft_moat" -eq 0 ]; then
      backend=legacy; why="moat's chains are in legacy (moat lockdown or an earlier moatd)"
    elif [ "$legacy" -gt "$nft" ]; then
      backend=legacy; why="the host's rules are there (legacy $legacy lines, nft $nft)"
    elif [ "$nft" -gt "$legacy" ]; then
      backend=nft; why="the host's rules are there (nft $nft lines, legacy $legacy)"
    elif works nft; then
      backend=nft; why="no rules in either (nft $nft, legacy $legacy): nft is the default"
    elif works legacy; then
      backend=legacy; why="iptables-nft does not work here, iptables-legacy does"
    else
      backend=nft; why="neither backend works here (run with --cap-add NET_ADMIN --cap-add NET_RAW)"
    fi
    ;;
  *) say "MOAT_IPTABLES_BACKEND must be nft or legacy, not '$backend'"; exit 2 ;;
esac

links=$(mktemp -d "${TMPDIR:-/tmp}/moat-iptables.XXXXXX")
for tool in iptables ip6tables; do
  for suffix in '' -save -restore; do
    target=$(command -v "$tool-$backend$suffix" || true)
    [ -n "$target" ] || { say "$tool-$backend$suffix is not in this image (BASE needs iptables >= 1.8 with both backends)"; exit 2; }
    ln -s "$target" "$links/$tool$suffix"
  done
done
PATH="$links:$PATH"
export PATH
say "using iptables-$backend: $why"

if [ $# -eq 0 ] || [ "${1#-}" != "$1" ]; then
  exec moatd "$@"
fi
exec "$@"
