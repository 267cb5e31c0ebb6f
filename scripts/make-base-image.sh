#!/bin/sh
# Builds a BASE image for moat's Dockerfile without any registry: a Debian
# bookworm minbase root file system (debootstrap, from Debian's package
# mirror) with iptables (nft and legacy) and conntrack, plus the Node binary the
# repository already has (node_modules/node/bin/node), then `docker import`.
#
# usage: sudo scripts/make-base-image.sh [TAG]          (default moat-base:test)
#   DOCKER_HOST         engine to import into (e.g. unix:///tmp/x/sock)
#   MOAT_BASE_CACHE     debootstrap cache (default /var/cache/moat-base): the
#                       first run takes a few minutes, later runs seconds
#   MOAT_DEBIAN_MIRROR  default http://deb.debian.org/debian
#   MOAT_NODE           node binary to put in the image (default: the repo's)
#   MOAT_BASE_INCLUDE   extra Debian packages, comma-separated (e.g.
#                       systemd,systemd-sysv,dbus for the unit sandbox test);
#                       each set gets its own cache directory
set -eu

tag=${1:-moat-base:test}
here=$(cd "$(dirname "$0")/.." && pwd)
cache=${MOAT_BASE_CACHE:-/var/cache/moat-base}
mirror=${MOAT_DEBIAN_MIRROR:-http://deb.debian.org/debian}
node=${MOAT_NODE:-$here/node_modules/node/bin/node}
include=iptables,conntrack,libstdc++6${MOAT_BASE_INCLUDE:+,$MOAT_BASE_INCLUDE}
rootfs=$cache/bookworm-minbase-$(echo "$include" | tr ',' '-')

[ "$(id -u)" = 0 ] || { echo "make-base-image: debootstrap needs root" >&2; exit 1; }
command -v debootstrap >/dev/null || { echo "make-base-image: apt-get install debootstrap" >&2; exit 1; }
[ -x "$node" ] || { echo "make-base-image: no node binary at $node (run npm ci, or set MOAT_NODE)" >&2; exit 1; }

# A half-finished debootstrap (interrupted run) is thrown away, never reused;
# concurrent runs wait for each other instead of sharing one.
mkdir -p "$cache"
exec 9>"$rootfs.lock"
flock 9
if [ ! -f "$rootfs/.moat-complete" ]; then
  rm -rf "$rootfs"
  echo "make-base-image: debootstrap bookworm into $rootfs (first run: about a minute)" >&2
  debootstrap --variant=minbase --include="$include" bookworm "$rootfs" "$mirror" >&2
  rm -rf "$rootfs/var/cache/apt/archives/"*.deb "$rootfs/var/lib/apt/lists/"*
  touch "$rootfs/.moat-complete"
else
  echo "make-base-image: reusing $rootfs" >&2
fi

# The node binary is laid over the cached tree in a scratch copy so the cache
# stays a pure debootstrap result.
stage=$(mktemp -d "${TMPDIR:-/tmp}/moat-base.XXXXXX")
trap 'rm -rf "$stage"' EXIT INT TERM
cp -a "$rootfs/." "$stage/"
rm -f "$stage/.moat-complete"
install -m 0755 "$(readlink -f "$node")" "$stage/usr/local/bin/node"
tar -C "$stage" --numeric-owner -c . | docker import \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'CMD ["/bin/sh"]' \
  - "$tag" >&2
echo "$tag"
