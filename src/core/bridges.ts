// The Docker bridges as the ruleset's frame sees them: the interface
// patterns of bridges Docker may create (config dockerBridges) and the named
// bridges of managed networks they do not cover. Zones, unknown bridges, the
// established fast path and nat all depend on this set and on the config,
// never on any one network's policy or container.
import type { Config } from './config.js';
import type { Family } from './model.js';
import type { Policy } from './policy.js';
import { subnetsOf } from './rule-parts.js';

/** True when an iptables interface pattern (`br-+`) matches the name. */
export const matchesPattern = (pattern: string, name: string) => (pattern.endsWith('+') ? name.startsWith(pattern.slice(0, -1)) : name === pattern);

export interface Bridges {
  /** Every Docker bridge, known or not: the patterns, and the named bridges they do not cover. */
  readonly ifaces: readonly string[];
  /** Subnets of bridge networks whose interface name moat refuses to render. */
  readonly unnamedSubnets: readonly string[];
  /** Patterns no managed bridge is named exactly. */
  readonly unknown: readonly string[];
  /** Subnets of networks moat does not dispatch by bridge (macvlan, unrenderable bridges). */
  readonly routedSubnets: readonly string[];
}

export function bridgesOf(policy: Policy, config: Config, family: Family): Bridges {
  // Bridges Docker may create: one not in the snapshot yet is denied, not ignored.
  const patterns = config.dockerBridges;
  const coveredByPattern = (bridge: string) => patterns.some((p) => matchesPattern(p, bridge));
  const managedBridges = new Set(policy.networks.filter((n) => n.managed).map((n) => n.network.bridge!));
  return {
    ifaces: [...patterns, ...[...managedBridges].filter((b) => !coveredByPattern(b)).sort()],
    unnamedSubnets: [
      ...new Set(policy.networks.filter((n) => !n.managed && n.network.driver === 'bridge').flatMap((n) => subnetsOf(n.network, family))),
    ].sort(),
    unknown: patterns.filter((b) => !managedBridges.has(b)),
    routedSubnets: [...new Set(policy.networks.filter((n) => !n.managed).flatMap((n) => subnetsOf(n.network, family)))].sort(),
  };
}
