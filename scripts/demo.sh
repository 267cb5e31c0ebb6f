#!/usr/bin/env bash
# One command from a fresh Debian 12 machine to moat running for real: a
# private Docker engine in its own network namespace, containers, and the
# reachability before and after moatd. Nothing outside those namespaces is
# touched, and everything is torn down at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
npm run build
# npm scripts put node_modules/.bin (Node 24) first on PATH.
exec npm run --silent demo:run -- "$@"
