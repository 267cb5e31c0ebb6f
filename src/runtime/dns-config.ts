// The `dns` config key as the runtime reads it. Until CORE's config.ts (which
// adds and validates the key) merges, it is read here through a local type
// with the contract's defaults; afterwards this stays a one-place accessor.
import type { Config } from '../core/config.js';
import type { DnsSet } from '../core/dns-name.js';
import type { Desired } from '../core/desired.js';

export interface DnsConfig {
  readonly listen: string | null;
  readonly upstream: readonly string[];
  readonly ttlFloorS: number;
  readonly ttlCeilingS: number;
  readonly stateFile: string;
}

export const DNS_DEFAULTS: DnsConfig = { listen: null, upstream: [], ttlFloorS: 60, ttlCeilingS: 86_400, stateFile: '/var/lib/moat/dns-learned.json' };

export function dnsConfig(config: Config): DnsConfig {
  const dns = (config as { dns?: Partial<DnsConfig> }).dns ?? {};
  return { ...DNS_DEFAULTS, ...dns };
}

/** The sets the rendered rulesets reference (CORE's `Desired.dnsSets`; [] until it merges). */
export function desiredDnsSets(desired: Desired | null): readonly DnsSet[] {
  return (desired as { dnsSets?: readonly DnsSet[] } | null)?.dnsSets ?? [];
}
