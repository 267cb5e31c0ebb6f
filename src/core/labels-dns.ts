// The `dns:NAME` peer of the entry grammar (labels.ts; docs/policy.md#dns-names):
// the addresses moatd's DNS forwarder learned from the answers for NAME, a
// host name or `*.SUFFIX` (dns-name.ts says which). Egress only. The pattern
// never reaches a rule: the rules name the pattern's kernel set (dnsSetName:
// hex), and their comment the entry's flow id.
import { parseDnsName } from './dns-name.js';

export const DNS_PREFIX = 'dns:';

export interface DnsPeer {
  readonly kind: 'dns';
  /** Canonical (dns-name.ts): lower-case, no trailing dot, `*.` only in front. */
  readonly pattern: string;
}

/** Reported for a dns: entry in moat.ingress or a policy rule's ingress: answers name destinations, never sources. */
export const DNS_EGRESS_ONLY = 'dns: is egress only (answers name the addresses a container connects to, not who connects to it)';

/** The peer of `dns:NAME` (text: what follows `dns:`, up to the port), or why it is none. */
export function parseDnsPeer(text: string): DnsPeer | { readonly reason: string } {
  if (text.includes('/')) return { reason: `'/' in a DNS name ${JSON.stringify(text.slice(0, 64))} (dns:NAME[:PORT[-PORT]][/PROTO])` };
  const r = parseDnsName(text);
  return 'reason' in r ? r : { kind: 'dns', pattern: r.pattern };
}

/** The SAFE check's counterpart for a pattern: nothing but what parseDnsName lets through. */
export const dnsPeerSafe = (p: DnsPeer): boolean => /^(\*\.)?[a-z0-9_.-]{1,253}$/.test(p.pattern);

/** The reason for a character a dns: entry may not hold (firstBadChar's quoting). */
export const dnsBadChar = (bad: string): string =>
  `invalid character ${bad} in a DNS name entry; allowed: ASCII letters, digits and _ . - * : / (write an IDN in punycode, xn--...)`;
