// A packet walked through moat's own Ruleset data, the way the kernel walks
// the rendered rules: first match wins, user chains are called and return,
// MOAT-DENY and the zone chains are helpers whose verdict belongs to the rule
// that jumped there. `explain` reads the comment of the deciding rule.
//
// A query may leave a dimension open (no port, no protocol, `lan`/`world`
// without an address). A rule that matches only part of what is open is a
// *partial* match: when it decides, that part is reported as an exception and
// the walk goes on for the rest, so the last outcome is the general answer.
import { cidrContains, cidrOverlaps, parseCidr, type Cidr } from './addr.js';
import type { PortRange, Proto } from './labels.js';
import type { Family } from './model.js';
import { DENY_CHAIN, FROM_LAN_CHAIN, FROM_WORLD_CHAIN, TO_EXTERNAL_CHAIN, TO_LAN_CHAIN, TO_WORLD_CHAIN, type TableName } from './names.js';
import type { Rule } from './rule.js';
import { isZoneComment } from './rule-ids.js';
import { matchesPattern } from './bridges.js';
import type { Ruleset } from './chain.js';

/** The interface name standing for the host's uplinks (never a Docker bridge). */
export const UPLINK = '(uplink)';

/** Where an address side of the packet may be: one address, or a zone left open (optionally narrowed). */
export type AddrSet =
  | { readonly kind: 'ip'; readonly cidr: Cidr }
  | { readonly kind: 'zone'; readonly zone: 'lan' | 'world'; readonly within: Cidr | null }
  | { readonly kind: 'host'; readonly within: Cidr | null };

export interface Packet {
  readonly family: Family;
  readonly src: AddrSet;
  readonly dst: AddrSet;
  /** Input interface: a bridge, UPLINK, or null (locally generated). */
  readonly in: string | null;
  /** Output interface: a bridge, UPLINK, or null (delivered to the host). */
  readonly out: string | null;
  /** null: every protocol (then `ports` is null too). */
  readonly proto: Proto | null;
  /** null: every port. */
  readonly ports: PortRange | null;
  /** The destination is one of the host's own addresses (addrtype LOCAL). */
  readonly dstLocal: boolean;
  /** The connection was DNATed on the way (conntrack state DNAT). */
  readonly dnat: boolean;
}

export type Result =
  | { readonly kind: 'accept' }
  | { readonly kind: 'deny'; readonly action: 'reject' | 'drop' }
  | { readonly kind: 'return' }
  | { readonly kind: 'dnat'; readonly to: string };

export interface RuleRef {
  readonly table: TableName;
  readonly chain: string;
  readonly comment: string;
}

export interface Outcome {
  /** The part of the packet this outcome is about (narrower than the query when `partial`). */
  readonly pkt: Packet;
  readonly partial: boolean;
  readonly result: Result;
  /** The rule that decided; null when the chain fell through. */
  readonly rule: RuleRef | null;
  /** Helper-chain rules that finished the decision (e.g. moat:zone:world). */
  readonly via: readonly string[];
  readonly trace: readonly RuleRef[];
}

export interface WalkContext {
  readonly ruleset: Ruleset;
  /** Docker subnets of the packet's family: never `lan` or `world`. */
  readonly dockerSubnets: readonly Cidr[];
  /** protectedNetworks of the packet's family: `lan`. */
  readonly protectedRanges: readonly Cidr[];
  /**
   * Is the address in the kernel set (a dns: grant's learned addresses)? A rule on a set matches only when
   * this says true: for an address it cannot know, the caller decides what to assume (explain-dns.ts).
   */
  readonly inSet?: (set: string, address: Cidr) => boolean;
}

const HELPERS = new Set([DENY_CHAIN, TO_WORLD_CHAIN, TO_LAN_CHAIN, TO_EXTERNAL_CHAIN, FROM_WORLD_CHAIN, FROM_LAN_CHAIN]);

type Match = { readonly pkt: Packet; readonly partial: boolean } | null;
type AddrMatch = { readonly set: AddrSet; readonly partial: boolean } | null;

const within = (a: Cidr, b: Cidr) => cidrContains(b, a);

function matchAddr(set: AddrSet, c: Cidr, zoneRule: boolean, ctx: WalkContext): AddrMatch {
  if (set.kind === 'ip') return cidrContains(c, set.cidr) ? { set, partial: false } : null;
  if (set.within) {
    if (within(set.within, c)) return { set, partial: false };
    if (within(c, set.within)) return { set: { ...set, within: c }, partial: true };
    return null;
  }
  if (set.kind === 'host') return c.prefix === 0 ? { set, partial: false } : { set: { ...set, within: c }, partial: true };
  // A zone is never a Docker address.
  if (ctx.dockerSubnets.some((d) => within(c, d))) return null;
  if (set.zone === 'lan') {
    const inRange = ctx.protectedRanges.some((r) => within(c, r));
    if (zoneRule && ctx.protectedRanges.some((r) => r.text === c.text)) return { set, partial: false };
    if (ctx.protectedRanges.length > 0 && ctx.protectedRanges.every((r) => within(r, c))) return { set, partial: false };
    if (inRange || ctx.protectedRanges.some((r) => cidrOverlaps(r, c))) return { set: { ...set, within: c }, partial: true };
    return null;
  }
  if (ctx.protectedRanges.some((r) => within(c, r))) return null;
  if (c.prefix === 0) return { set, partial: false };
  return { set: { ...set, within: c }, partial: true };
}

function matchIface(actual: string | null, pattern: string): boolean {
  return actual !== null && actual !== UPLINK && matchesPattern(pattern, actual);
}

function matchPorts(have: PortRange | null, spec: string): { ports: PortRange; partial: boolean } | null {
  const [loText, hiText] = spec.split(':');
  const lo = Number(loText);
  const hi = Number(hiText ?? loText);
  if (have === null) return { ports: { lo, hi }, partial: true };
  if (have.lo >= lo && have.hi <= hi) return { ports: have, partial: false };
  const l = Math.max(lo, have.lo);
  const h = Math.min(hi, have.hi);
  return l <= h ? { ports: { lo: l, hi: h }, partial: true } : null;
}

/** Does `rule` match `pkt`: not at all, fully, or for a narrower part of it? */
function matchRule(rule: Rule, pkt: Packet, ctx: WalkContext): Match {
  let p: Packet = pkt;
  let partial = false;
  const zoneRule = isZoneComment(rule.comment);
  for (const side of ['src', 'dst'] as const) {
    const text = rule[side];
    if (!text) continue;
    const c = parseCidr(text);
    if (!c || c.family !== pkt.family) return null;
    const m = matchAddr(p[side], c, zoneRule, ctx);
    if (!m) return null;
    p = { ...p, [side]: m.set };
    partial ||= m.partial;
  }
  if (rule.notDst) {
    const c = parseCidr(rule.notDst);
    // Only loopback is ever negated: no zone, container or routed host address is in it.
    if (c && p.dst.kind === 'ip' && cidrContains(c, p.dst.cidr)) return null;
  }
  if (rule.in && !matchIface(p.in, rule.in)) return null;
  if (rule.notIn && p.in !== null && p.in !== UPLINK && matchesPattern(rule.notIn, p.in)) return null;
  if (rule.out && !matchIface(p.out, rule.out)) return null;
  if (rule.notOut && p.out !== null && p.out !== UPLINK && matchesPattern(rule.notOut, p.out)) return null;
  if (rule.proto) {
    if (p.proto === null) {
      p = { ...p, proto: rule.proto };
      partial = true;
    } else if (p.proto !== rule.proto) return null;
    // NDP types only: a connection attempt is never one.
    if (rule.icmp6Type !== undefined) return null;
    if (rule.dport) {
      const m = matchPorts(p.ports, rule.dport);
      if (!m) return null;
      p = { ...p, ports: m.ports };
      partial ||= m.partial;
    }
  }
  // A set holds single learned addresses: a zone left open is never wholly in one (explain notes it).
  if (rule.dstSet !== undefined && (p.dst.kind !== 'ip' || ctx.inSet?.(rule.dstSet, p.dst.cidr) !== true)) return null;
  if (rule.addrType === 'LOCAL' && !p.dstLocal) return null;
  if (rule.ctstate === 'RELATED,ESTABLISHED') return null; // explain is about new connections
  if (rule.ctstate === 'DNAT' && !p.dnat) return null;
  return { pkt: p, partial };
}

function targetResult(rule: Rule): Result | null {
  switch (rule.jump) {
    case 'ACCEPT':
      return { kind: 'accept' };
    case 'DROP':
      return { kind: 'deny', action: 'drop' };
    case 'REJECT':
      return { kind: 'deny', action: 'reject' };
    case 'RETURN':
      return { kind: 'return' };
    case 'DNAT':
      return { kind: 'dnat', to: /--to-destination (\S+)/.exec(rule.jumpArgs ?? '')?.[1] ?? '' };
    default:
      return null;
  }
}

/** Walks `chain`; the last outcome is the general one, earlier ones are partial exceptions. */
export function walk(ctx: WalkContext, table: TableName, chain: string, pkt: Packet, depth = 0): Outcome[] {
  const out: Outcome[] = [];
  const general = (o: Outcome) => !o.partial && o.result.kind !== 'return';
  const rules = ctx.ruleset.tables[table].chains.find((c) => c.name === chain)?.rules ?? [];
  if (depth > 16) throw new Error(`chain loop at ${chain}`);
  for (const rule of rules) {
    const m = matchRule(rule, pkt, ctx);
    if (!m) continue;
    const ref: RuleRef = { table, chain, comment: rule.comment };
    const direct = targetResult(rule);
    let results: Outcome[];
    if (direct?.kind === 'return') {
      if (m.partial) continue; // that part returns early; the rest, as the general packet, decides below
      out.push({ pkt, partial: false, result: direct, rule: ref, via: [], trace: [ref] });
      return out;
    }
    if (direct) {
      results = [{ pkt: m.pkt, partial: m.partial, result: direct, rule: ref, via: [], trace: [ref] }];
    } else if (ctx.ruleset.tables[table].chains.some((c) => c.name === rule.jump)) {
      const helper = HELPERS.has(rule.jump);
      results = walk(ctx, table, rule.jump, m.pkt, depth + 1).map((o) => ({
        ...o,
        partial: o.partial || m.partial,
        rule: helper && o.result.kind !== 'return' ? ref : o.rule,
        via: helper && o.rule ? [o.rule.comment, ...o.via] : o.via,
        trace: [ref, ...o.trace],
      }));
    } else {
      continue; // MASQUERADE and other non-deciding targets
    }
    for (const o of results) {
      if (o.result.kind === 'return') continue; // the called chain returned: the rest of this chain decides
      out.push(o);
      if (general(o)) return out;
    }
  }
  out.push({ pkt, partial: false, result: { kind: 'return' }, rule: null, via: [], trace: [] });
  return out;
}
