#!/usr/bin/env bash
# The integration tests on each Docker engine the test bed runs (see
# test/integration/testbed/engine-choice.ts), one engine at a time:
#
#   28.5   the whole integration suite
#   26.1   every test that runs moat against an engine: flows-* (flows-dns* too), faults-*, start-gate*,
#   20.10  default-matrix, the default bridge, doctor, status, lockdown, IPv6 fail-closed,
#          golden rules in the kernel, policy files, the bed itself and its DNS (testbed-dns)
#          (not: shipping/, examples, cli-consistency, which test packaging
#          and the CLI's agreement with itself, not the engine)
#   legacy the legacy iptables backend (scripts/with-iptables-legacy.sh), on 28.5:
#          golden-kernel (every golden ruleset restored and read back) and
#          flows-published, flows-gateway (moatd's commits, DNAT and published
#          ports by real connections), flows-dns (rules that match ipsets);
#          a minute or two
#
# Every engine runs even when one fails; each run opens with a banner naming
# the engine, and the summary at the end names the engines and the tests that failed.
# Usage: scripts/test-integration.sh [ENGINE...]  (default: 28.5 26.1 20.10 legacy)
set -uo pipefail
cd "$(dirname "$0")/.."
ENGINE_SET=(flows- faults- start-gate default-matrix default-bridge testbed.test testbed-dns lockdown ipv6-fail-closed cli-doctor cli-status golden-kernel policy-files)
LEGACY_SET=(golden-kernel flows-published flows-gateway flows-dns.test)

engines=("$@")
[ ${#engines[@]} -gt 0 ] || engines=(28.5 26.1 20.10 legacy)
failed=()
summary=()
for engine in "${engines[@]}"; do
  run=(env MOAT_ENGINE="$engine")
  if [ "$engine" = legacy ]; then files=("${LEGACY_SET[@]}"); what="legacy iptables backend: ${LEGACY_SET[*]}"; run=(scripts/with-iptables-legacy.sh env MOAT_ENGINE=28.5)
  elif [ "$engine" = 28.5 ]; then files=(); what='whole integration suite'; else files=("${ENGINE_SET[@]}"); what='engine set (flows, faults, doctor…)'; fi
  label="Docker $engine"; [ "$engine" = legacy ] && label='Docker 28.5, iptables-legacy'
  echo
  echo "=================== integration tests on $label: $what ==================="
  start=$SECONDS
  log=$(mktemp)
  if "${run[@]}" npx vitest run --project integration "${files[@]}" 2>&1 | tee "$log"; then status=passed; else status=FAILED; failed+=("$label"); fi
  summary+=("$label ($what): $status in $((SECONDS - start)) s")
  # The tests that failed, by name: CI keeps only the end of the output.
  if [ "$status" = FAILED ]; then
    while IFS= read -r line; do summary+=("    $line"); done < <(sed 's/\x1b\[[0-9;]*m//g' "$log" | grep -E '^ *(FAIL|×) ' | sort -u | head -20)
  fi
  rm -f "$log"
  echo "=================== $label: $status ==================="
done
echo
printf '%s\n' "${summary[@]}"
if [ ${#failed[@]} -gt 0 ]; then
  echo "integration tests FAILED on: ${failed[*]}"
  exit 1
fi
