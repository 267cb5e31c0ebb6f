// Every container's published ports (published.ts builds one container's):
// the port dispatch MOAT-INPUT reaches them by (proxy mode), the DNAT rules
// and DNAT'ed Docker sources for the nat table, and by network the MOAT-IN
// rules that let the DNAT'ed packets in (dnat mode).
import type { Chain } from './chain.js';
import type { Config } from './config.js';
import { portDispatch } from './dispatch.js';
import { pushTo } from './maps.js';
import type { Family } from './model.js';
import { DISPATCH_PREFIX } from './names.js';
import type { ContainerPolicy, NetworkPolicy, Policy } from './policy.js';
import { publishedDeps, publishedRules } from './published.js';
import type { Rule } from './rule.js';
import type { RulesetMemo } from './ruleset-memo.js';

export interface PublishedPorts {
  /** MOAT-INPUT's port dispatch: its rules go last in MOAT-INPUT. */
  readonly input: { readonly rules: readonly Rule[]; readonly chains: readonly Chain[] };
  /** For MOAT-DNAT's port dispatch. */
  readonly dnat: readonly Rule[];
  /** DNAT of granted sources inside Docker, first in MOAT-DNAT. */
  readonly fromDocker: readonly Rule[];
  /** Network id -> acceptance of the DNAT'ed packets, for that network's MOAT-IN. */
  readonly inbound: ReadonlyMap<string, readonly Rule[]>;
}

export function publishedPorts(
  publishers: readonly ContainerPolicy[],
  policy: Policy,
  managedById: ReadonlyMap<string, NetworkPolicy>,
  config: Config,
  family: Family,
  memo: RulesetMemo,
): PublishedPorts {
  const dnat: Rule[] = [];
  const fromDocker: Rule[] = [];
  const inbound = new Map<string, Rule[]>();
  const input: Rule[] = [];
  for (const cp of publishers) {
    const p = memo.slots.reuse(`published:${cp.container.id}`, publishedDeps(cp, policy, managedById), () =>
      publishedRules(cp, policy, managedById, config, family),
    );
    input.push(...p.input);
    dnat.push(...p.dnat);
    fromDocker.push(...p.fromDocker);
    for (const [networkId, rules] of p.inbound) pushTo(inbound, networkId, ...rules);
  }
  return { input: memo.slots.reuse('dispatch:published', input, () => portDispatch(input, DISPATCH_PREFIX.published)), dnat, fromDocker, inbound };
}
