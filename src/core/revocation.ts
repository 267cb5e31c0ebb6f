// Revoking a flow cuts the live connections it allowed (docs/policy.md#revocation; mechanism docs/design.md#revocation-cuts-conntrack): an
// allowing rule that names a container address and is gone from the new
// ruleset becomes conntrack filters. Deleting an entry only makes the next
// packet face the rules again, so a connection that is still allowed by
// another rule survives (it is picked up again), while a revoked one is cut.
import type { Family } from './model.js';
import type { Rule } from './rule.js';
import type { Ruleset } from './ruleset.js';

export interface ConntrackFilter {
  readonly family: Family;
  /** conntrack(8) arguments after `-D`, e.g. ['-s', '172.18.0.2', '-p', 'tcp', '--dport', '80']. */
  readonly args: readonly string[];
}

const ALLOW_JUMPS = /^(ACCEPT|MOAT-TO-|MOAT-FROM-)/;
const REVOCABLE_CHAINS = /^MOAT-(OUT|IN|HOST|FROMHOST)-|^MOAT-OUTPUT$|^MOAT-INPUT$/;

const host = (cidr: string | undefined, family: Family) => {
  if (!cidr) return null;
  const [addr, prefix] = cidr.split('/');
  return prefix === String(family === 4 ? 32 : 128) ? addr! : null;
};

/**
 * The allowing rules that name at least one single address, keyed without
 * their comment; only in the chains `only` names, when given (a chain that
 * did not change cannot have lost a rule).
 */
export function revocableRules(ruleset: Ruleset, only?: ReadonlySet<string>): Map<string, Rule> {
  const out = new Map<string, Rule>();
  for (const chain of ruleset.tables.filter.chains) {
    if (!REVOCABLE_CHAINS.test(chain.name) || (only && !only.has(chain.name))) continue;
    for (const rule of chain.rules) {
      if (!ALLOW_JUMPS.test(rule.jump) || rule.ctstate === 'RELATED,ESTABLISHED') continue;
      if (!host(rule.src, ruleset.family) && !host(rule.dst, ruleset.family)) continue;
      const { comment: _comment, ...match } = rule;
      out.set(`${chain.name} ${JSON.stringify(match)}`, rule);
    }
  }
  return out;
}

/**
 * conntrack filters for every allowing rule in `before` that `after` no
 * longer has; `changed`: the filter chains that differ between the two, when
 * the caller knows them (the others are skipped).
 */
export function revokedFilters(before: Ruleset, after: Ruleset, changed?: ReadonlySet<string>): ConntrackFilter[] {
  const kept = revocableRules(after, changed);
  const filters = new Map<string, ConntrackFilter>();
  for (const [key, rule] of revocableRules(before, changed)) {
    if (kept.has(key)) continue;
    const family = before.family;
    const proto: string[] = [];
    if (rule.proto) proto.push('-p', rule.proto === 'icmp' && family === 6 ? 'icmpv6' : rule.proto);
    if (rule.dport && /^\d+$/.test(rule.dport)) proto.push('--dport', rule.dport);
    const src = host(rule.src, family);
    const dst = host(rule.dst, family);
    const variants: string[][] = [];
    if (src && dst) variants.push(['-s', src, '-d', dst, ...proto]);
    else if (src) variants.push(['-s', src, ...proto]);
    // A destination may have been reached through DNAT: match the reply source too.
    else if (dst) variants.push(['-d', dst, ...proto], ['--reply-src', dst, ...(rule.proto ? ['-p', proto[1]!] : [])]);
    for (const args of variants) filters.set(`${family} ${args.join(' ')}`, { family, args });
  }
  return [...filters.values()];
}
