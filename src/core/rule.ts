// One iptables rule as data, and its canonical text: exactly what
// iptables-save prints back (nft backend), so live and desired compare equal.
import type { Family } from './model.js';

export type Proto = 'tcp' | 'udp' | 'sctp' | 'icmp';

export interface Rule {
  readonly src?: string;
  readonly dst?: string;
  readonly notDst?: string;
  readonly in?: string;
  readonly notIn?: string;
  readonly out?: string;
  readonly notOut?: string;
  readonly proto?: Proto;
  /** A port or "lo:hi" range; only with tcp, udp or sctp. */
  readonly dport?: string;
  /** An ipset the destination must be in (`-m set --match-set NAME dst`): a dns: grant's learned addresses. */
  readonly dstSet?: string;
  readonly icmp6Type?: number;
  readonly addrType?: 'LOCAL';
  /** Rate limit, e.g. '10/min' (burst 20): for LOG rules. */
  readonly limit?: string;
  readonly ctstate?: 'RELATED,ESTABLISHED' | 'NEW' | 'DNAT';
  /** Maps the rule back to the default, option or label that produced it (see explain). */
  readonly comment: string;
  readonly jump: string;
  readonly jumpArgs?: string;
}

export const COMMENT = /^moat:[A-Za-z0-9_.:/=-]{1,200}$/;
/** The only set names moat writes (dns-name.ts dnsSetName). */
export const DNS_SET = /^moat-dns[46]-[0-9a-f]{16}$/;

/** Renders a rule body (what follows "-A CHAIN "). Throws on a value the core should never produce. */
export function renderRule(rule: Rule, family: Family): string {
  const parts: string[] = [];
  if (rule.src) parts.push('-s', rule.src);
  if (rule.dst) parts.push('-d', rule.dst);
  if (rule.notDst) parts.push('!', '-d', rule.notDst);
  if (rule.in) parts.push('-i', rule.in);
  if (rule.notIn) parts.push('!', '-i', rule.notIn);
  if (rule.out) parts.push('-o', rule.out);
  if (rule.notOut) parts.push('!', '-o', rule.notOut);
  if (rule.proto === 'icmp') {
    parts.push('-p', family === 4 ? 'icmp' : 'ipv6-icmp');
    if (rule.icmp6Type !== undefined) parts.push('-m', 'icmp6', '--icmpv6-type', String(rule.icmp6Type));
  } else if (rule.proto) {
    parts.push('-p', rule.proto);
    if (rule.dport) parts.push('-m', rule.proto, '--dport', rule.dport);
  }
  if (rule.dstSet !== undefined) {
    if (!DNS_SET.test(rule.dstSet)) throw new Error(`refusing to render set name ${JSON.stringify(rule.dstSet)}`);
    parts.push('-m', 'set', '--match-set', rule.dstSet, 'dst');
  }
  if (rule.addrType) parts.push('-m', 'addrtype', '--dst-type', rule.addrType);
  if (rule.limit) parts.push('-m', 'limit', '--limit', rule.limit, '--limit-burst', '20');
  if (rule.ctstate) parts.push('-m', 'conntrack', '--ctstate', rule.ctstate);
  if (!COMMENT.test(rule.comment)) throw new Error(`refusing to render comment ${JSON.stringify(rule.comment)}`);
  parts.push('-m', 'comment', '--comment', `"${rule.comment}"`);
  parts.push('-j', rule.jump);
  if (rule.jumpArgs) parts.push(rule.jumpArgs);
  return parts.join(' ');
}
