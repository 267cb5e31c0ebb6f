// Rule pieces shared by the ruleset's builders (network-chains.ts,
// published.ts, world-rules.ts, nat.ts, deny-chains.ts, ...).
import type { Config } from './config.js';
import type { Family, Network } from './model.js';
import type { Rule } from './rule.js';
import { fixed } from './rule-ids.js';

export const ESTABLISHED: Rule = { ctstate: 'RELATED,ESTABLISHED', comment: fixed('established'), jump: 'ACCEPT' };

/** Neighbour solicitation and advertisement: IPv6 cannot resolve a neighbour without them. */
const NDP_TYPES = [135, 136];

export const ndp = (family: Family, extra: Partial<Rule>): Rule[] =>
  family === 6 ? NDP_TYPES.map((t) => ({ ...extra, proto: 'icmp', icmp6Type: t, comment: fixed('ndp'), jump: 'ACCEPT' })) : [];

export const hostAddr = (ip: string, family: Family) => `${ip}/${family === 4 ? 32 : 128}`;
export const subnetsOf = (net: Network, family: Family): readonly string[] => (family === 4 ? net.subnets4 : net.subnets6);

/** A rate-limited kernel log line (dmesg / journalctl -k) before a deny, when `logDenied` is on. */
export const logRule = (config: Config, prefix: string): Rule[] =>
  config.logDenied ? [{ limit: '10/min', comment: fixed('log-denied'), jump: 'LOG', jumpArgs: `--log-prefix "${prefix}: "` }] : [];

/** Every field of a rule, in a fixed order: equal keys, equal rules. */
const ruleKey = (r: Rule) =>
  `${r.src}|${r.dst}|${r.notDst}|${r.in}|${r.notIn}|${r.out}|${r.notOut}|${r.proto}|${r.dport}|${r.icmp6Type}|${r.addrType}|${r.limit}|${r.ctstate}|${r.comment}|${r.jump}|${r.jumpArgs}`;

/** Drops exact duplicates (e.g. a flow granted by both sides), keeping the first. */
export function unique(rules: readonly Rule[]): Rule[] {
  const seen = new Set<string>();
  return rules.filter((r) => {
    const key = ruleKey(r);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
