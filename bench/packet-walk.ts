// Per-packet cost, computed from the ruleset itself: walk one packet through
// moat's chains the way netfilter does (rules in order, jumps descend, RETURN
// or the end of a chain goes back, ACCEPT/DROP/REJECT/MASQUERADE end it) and
// count every rule whose matches the kernel evaluates. Only moat's rules are
// counted: the jump from the built-in chain, then everything below it. A walk
// that falls out of moat (no verdict) is reported as such.
import { cidrContains, parseCidr } from '../src/core/addr.js';
import type { Rule } from '../src/core/rule.js';
import type { Chain } from '../src/core/chain.js';
import type { Ruleset } from '../src/core/ruleset.js';

export interface Packet {
  readonly in?: string;
  readonly out?: string;
  readonly src: string;
  readonly dst: string;
  readonly proto: 'tcp' | 'udp' | 'icmp';
  readonly dport?: number;
  /** Conntrack state of the packet: the first packet of a flow is NEW. */
  readonly state: 'NEW' | 'ESTABLISHED';
  /** The destination is one of the host's addresses (addrtype LOCAL). */
  readonly local?: boolean;
}

export interface Walk {
  readonly rules: number;
  readonly verdict: string;
  /** The chains entered, in order. */
  readonly path: readonly string[];
}

const TERMINAL = new Set(['ACCEPT', 'DROP', 'REJECT', 'MASQUERADE', 'DNAT']);

const ifaceMatches = (pattern: string, iface: string | undefined) =>
  iface !== undefined && (pattern.endsWith('+') ? iface.startsWith(pattern.slice(0, -1)) : iface === pattern);

const cache = new Map<string, ReturnType<typeof parseCidr>>();
const cidr = (text: string) => {
  if (!cache.has(text)) cache.set(text, parseCidr(text));
  return cache.get(text)!;
};
const inCidr = (addr: string, range: string) => {
  const a = cidr(addr);
  const r = cidr(range);
  return a !== null && r !== null && a.family === r.family && cidrContains(r, a);
};

function matches(rule: Rule, p: Packet): boolean {
  if (rule.src && !inCidr(p.src, rule.src)) return false;
  if (rule.dst && !inCidr(p.dst, rule.dst)) return false;
  if (rule.notDst && inCidr(p.dst, rule.notDst)) return false;
  if (rule.in && !ifaceMatches(rule.in, p.in)) return false;
  if (rule.notIn && ifaceMatches(rule.notIn, p.in)) return false;
  if (rule.out && !ifaceMatches(rule.out, p.out)) return false;
  if (rule.notOut && ifaceMatches(rule.notOut, p.out)) return false;
  if (rule.proto && rule.proto !== p.proto) return false;
  if (rule.dport) {
    const [lo, hi = lo] = rule.dport.split(':').map(Number);
    if (p.dport === undefined || p.dport < lo! || p.dport > hi!) return false;
  }
  if (rule.icmp6Type !== undefined) return false;
  if (rule.addrType === 'LOCAL' && !p.local) return false;
  if (rule.ctstate === 'RELATED,ESTABLISHED' && p.state !== 'ESTABLISHED') return false;
  if (rule.ctstate === 'NEW' && p.state !== 'NEW') return false;
  if (rule.ctstate === 'DNAT') return false;
  return true;
}

/** Walks `packet` from built-in chain `builtin` of `table` (e.g. filter FORWARD). */
export function walk(ruleset: Ruleset, table: 'filter' | 'nat', builtin: string, packet: Packet): Walk {
  const t = ruleset.tables[table];
  const chains = new Map<string, Chain>(t.chains.map((c) => [c.name, c]));
  const entry = t.jumps[builtin];
  if (!entry) return { rules: 0, verdict: 'not hooked', path: [] };
  let rules = 1; // the jump from the built-in chain, always first
  const path: string[] = [];
  const descend = (name: string, depth: number): string | null => {
    if (depth > 16) throw new Error(`chain loop at ${name}`);
    const chain = chains.get(name);
    if (!chain) throw new Error(`jump to undefined chain ${name}`);
    path.push(name);
    for (const rule of chain.rules) {
      rules++;
      if (!matches(rule, packet)) continue;
      if (rule.jump === 'RETURN') return null;
      if (TERMINAL.has(rule.jump)) return `${rule.jump} (${rule.comment})`;
      const verdict = descend(rule.jump, depth + 1);
      if (verdict !== null) return verdict;
    }
    return null;
  };
  const verdict = descend(entry, 0);
  return { rules, verdict: verdict ?? `falls through moat (${builtin} policy decides)`, path };
}
