// The nat table: POSTROUTING -> MOAT-POSTROUTING masquerades each network's
// traffic leaving by another interface (never towards a Docker bridge:
// container-to-container traffic keeps its real source address), and in
// dnat mode PREROUTING / OUTPUT -> MOAT-PREROUTING / MOAT-OUTPUT ->
// MOAT-DNAT rewrites published ports to their container.
import { parseCidr } from './addr.js';
import type { Bridges } from './bridges.js';
import type { Chain } from './chain.js';
import type { Config } from './config.js';
import { cidrDispatch, FANOUT, portDispatch } from './dispatch.js';
import { cached } from './memo.js';
import type { Family } from './model.js';
import { BUILTIN_JUMPS, DISPATCH_PREFIX, DNAT_CHAIN } from './names.js';
import type { NetworkPolicy } from './policy.js';
import type { Rule } from './rule.js';
import { fixed, ruleComment } from './rule-ids.js';
import { subnetsOf, unique } from './rule-parts.js';
import type { RulesetMemo } from './ruleset-memo.js';

/** The nat rules that depend on the set of bridges alone. */
export interface NatFrame {
  readonly noNat: readonly Rule[];
  readonly prerouting: readonly Rule[];
  readonly natOutput: readonly Rule[];
  readonly dnatFromDocker: readonly Rule[];
}

export function natFrame(b: Bridges, family: Family): NatFrame {
  const toDnat: Rule = { addrType: 'LOCAL', comment: fixed('published'), jump: DNAT_CHAIN };
  return {
    // Container-to-container traffic keeps its real source address.
    noNat: [
      ...b.ifaces.map((i): Rule => ({ out: i, comment: fixed('no-nat-between-networks'), jump: 'RETURN' })),
      ...b.routedSubnets.map((s): Rule => ({ dst: s, comment: fixed('no-nat-between-networks'), jump: 'RETURN' })),
    ],
    // Never a packet addressed to loopback from outside: once DNAT'ed it
    // would pass as routable, where the kernel drops it as martian.
    prerouting: [{ ...toDnat, notDst: family === 4 ? '127.0.0.0/8' : '::1/128' }],
    // Host-local clients too, except loopback (Docker's userland proxy serves 127.0.0.1).
    natOutput: [{ ...toDnat, notDst: family === 4 ? '127.0.0.0/8' : '::1/128' }],
    dnatFromDocker: b.ifaces.map((i): Rule => ({ in: i, comment: fixed('published:from-docker'), jump: 'RETURN' })),
  };
}

/** What the published ports add to the nat table (dnat mode). */
export interface NatPublished {
  /** For MOAT-DNAT's port dispatch. */
  readonly dnat: readonly Rule[];
  /** DNAT of granted sources inside Docker, first in MOAT-DNAT. */
  readonly fromDocker: readonly Rule[];
}

/** The nat chains in render order (before the assembler's identity pass) and the built-in chains that jump to them. */
export function natTable(
  managed: readonly NetworkPolicy[],
  frame: NatFrame,
  published: NatPublished,
  config: Config,
  family: Family,
  memo: RulesetMemo,
): { chains: Chain[]; jumps: Record<string, string> } {
  const { slots } = memo;
  const postrouting: Rule[] = [];
  const masqueradeChains: Chain[] = [];
  const masqueraded = managed.filter(
    (n) => n.nat.value && (n.natFamilies ?? [4, 6]).includes(family) && !n.network.internal && subnetsOf(n.network, family).length > 0,
  );
  if (masqueraded.length > 0) {
    const mqLeaves = masqueraded.flatMap((np) =>
      cached(memo.masquerade, np, () =>
        subnetsOf(np.network, family).map((s) => ({
          cidr: parseCidr(s)!,
          rule: { src: s, notOut: np.network.bridge!, comment: ruleComment({ kind: 'nat', network: np.network.id }), jump: 'MASQUERADE' },
        })),
      ),
    );
    const masquerade = slots.reuse('dispatch:masquerade', mqLeaves, () =>
      cidrDispatch(mqLeaves, 'src', DISPATCH_PREFIX.masquerade, FANOUT, memo.trees.masquerade),
    );
    postrouting.push(...frame.noNat, ...masquerade.rules);
    masqueradeChains.push(...masquerade.chains);
  }
  const chains: Chain[] = [{ name: BUILTIN_JUMPS.nat.POSTROUTING, rules: postrouting }];
  const jumps: Record<string, string> = { POSTROUTING: BUILTIN_JUMPS.nat.POSTROUTING };
  if (config.publishMode === 'dnat') {
    const dnatRules = published.dnat;
    const dnatDispatch = slots.reuse('dispatch:dnat', dnatRules, () => portDispatch(unique(dnatRules), DISPATCH_PREFIX.dnat));
    const dnatAll = [...published.fromDocker, ...frame.dnatFromDocker, ...dnatDispatch.rules];
    chains.push(
      { name: BUILTIN_JUMPS.nat.PREROUTING, rules: frame.prerouting },
      { name: BUILTIN_JUMPS.nat.OUTPUT, rules: frame.natOutput },
      { name: DNAT_CHAIN, rules: slots.reuse('unique:dnat', dnatAll, () => unique(dnatAll)) },
      ...dnatDispatch.chains,
    );
    jumps.PREROUTING = BUILTIN_JUMPS.nat.PREROUTING;
    jumps.OUTPUT = BUILTIN_JUMPS.nat.OUTPUT;
  }
  return { chains: [...chains, ...masqueradeChains], jumps };
}
