#!/usr/bin/env bash
# Fetches the newer Docker engines the test bed runs beside the system's
# Docker 20.10 (bookworm): Debian's docker.io 26.1 (trixie, with trixie's
# containerd 1.7) and 28.5 (sid, with sid's containerd 2.1). They are not
# installed: `apt-get download` with a private sources list, lists and cache
# directory (the system's apt sources and state stay as they were), then
# `dpkg-deb -x` into $MOAT_ENGINES_DIR/<version>. The test bed puts that
# tree's usr/sbin and usr/bin first on its dockerd's PATH (see
# test/integration/testbed/engine-choice.ts); the system runc serves both.
#
# An engine already unpacked (its .complete file exists) is reused; delete
# the directory to fetch again. Run as root.
set -euo pipefail
root=${MOAT_ENGINES_DIR:-/var/cache/moat-engines}
keyring=/usr/share/keyrings/debian-archive-keyring.gpg

# The Debian mirror the machine's own apt configuration uses for its release
# (deb822 or one-line sources alike); no host name is written here.
. /etc/os-release
mirror=$(apt-get indextargets --format '$(REPO_URI) $(RELEASE) $(TARGET_OF)' \
  | awk -v c="$VERSION_CODENAME" '$2 == c && $3 == "deb" { print $1; exit }')
if [ -z "$mirror" ]; then
  echo "fetch-engines: no apt source for $VERSION_CODENAME found to take the Debian mirror from" >&2
  exit 1
fi

# fetch VERSION SUITE DOCKER_PREFIX CONTAINERD_PREFIX
fetch() {
  local version=$1 suite=$2 docker_prefix=$3 containerd_prefix=$4
  local dest=$root/$version
  if [ -e "$dest/.complete" ]; then
    echo "fetch-engines: $version cached in $dest ($(tr '\n' ' ' < "$dest/.complete"))"
    return
  fi
  local apt=$root/apt/$suite
  rm -rf "$apt" "$dest"
  mkdir -p "$apt/lists/partial" "$apt/cache/archives/partial" "$apt/empty" "$apt/debs"
  # apt downloads as its sandbox user _apt, which must be able to write there.
  if id _apt >/dev/null 2>&1; then chown _apt "$apt/debs" "$apt/lists/partial" "$apt/cache/archives/partial"; fi
  echo "deb [signed-by=$keyring] $mirror $suite main" > "$apt/sources.list"
  local opts=(
    -o "Dir::Etc::sourcelist=$apt/sources.list" -o Dir::Etc::sourceparts=-
    -o "Dir::Etc::preferences=$apt/empty/none" -o "Dir::Etc::preferencesparts=$apt/empty"
    -o "Dir::State::Lists=$apt/lists" -o "Dir::Cache=$apt/cache"
  )
  apt-get "${opts[@]}" update -qq
  local pkg candidate
  for pkg in docker.io docker-cli containerd; do
    candidate=$(apt-cache "${opts[@]}" policy "$pkg" | awk '/Candidate:/ { print $2 }')
    case "$pkg:$candidate" in
      docker.io:"$docker_prefix"* | docker-cli:"$docker_prefix"* | containerd:"$containerd_prefix"*) ;;
      *)
        echo "fetch-engines: $suite offers $pkg '$candidate', not $docker_prefix* / $containerd_prefix*; the engine matrix needs updating" >&2
        exit 1
        ;;
    esac
    (cd "$apt/debs" && apt-get "${opts[@]}" download -qq "$pkg=$candidate")
  done
  mkdir -p "$dest"
  for deb in "$apt/debs"/*.deb; do dpkg-deb -x "$deb" "$dest"; done
  "$dest/usr/sbin/dockerd" --version
  (cd "$apt/debs" && ls) > "$dest/.complete"
  rm -rf "$apt"
  echo "fetch-engines: $version unpacked in $dest"
}

fetch 26.1 trixie 26.1. 1.7.
fetch 28.5 sid 28.5. 2.1.
