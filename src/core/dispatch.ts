// Dispatch on the interface name in a tree of chains, so that finding a
// bridge's chain costs a number of rule evaluations that grows with the
// logarithm of the number of bridges, not with the number itself.
//
// Up to FANOUT bridges: one rule each, in the calling chain (small hosts see
// the flat list they expect). Beyond: bridges are grouped by the next
// character of their name after the prefix they share (Docker's `br-<hex>`
// names split 16 ways per level); a group of one stays a direct rule, a larger
// group gets its own chain, entered by the iptables wildcard `<prefix>+`.
// Groups are disjoint, so the order of the direct rules is kept within every
// chain and a name no rule matches falls through to the caller's next rule
// (the unknown-bridge deny).
import ipaddr from 'ipaddr.js';
import { type Cidr, parseCidr } from './addr.js';
import type { Chain } from './chain.js';
import { pushTo } from './maps.js';
import { sameItems } from './memo.js';
import type { Rule } from './rule.js';
import { fixed } from './rule-ids.js';

export const FANOUT = 16;

const DISPATCH = fixed('dispatch');

export interface Leaf {
  /** The interface the rule matches exactly. */
  readonly iface: string;
  readonly rule: Rule;
}

export interface Dispatch {
  /** Rules for the calling chain. */
  readonly rules: Rule[];
  /** The dispatch chains, named `<chainPrefix><shared name prefix>`. */
  readonly chains: Chain[];
}

/**
 * The subtrees one tree built before, by the chain they are entered by, with
 * their members (see ruleset-memo.ts): a subtree whose members are the same
 * leaves is handed back as it was. One memo per tree (side, prefix, fanout).
 */
export type DispatchMemo = Map<string, { readonly members: readonly unknown[]; readonly chains: readonly Chain[]; readonly rule: Rule }>;

function commonPrefix(names: readonly string[]): string {
  let p = names[0]!;
  for (const n of names) while (!n.startsWith(p)) p = p.slice(0, -1);
  return p;
}

/** `side`: which interface the leaves match (`in` for -i, `out` for -o). */
export function dispatch(leaves: readonly Leaf[], side: 'in' | 'out', chainPrefix: string, fanout = FANOUT, memo?: DispatchMemo): Dispatch {
  const chains: Chain[] = [];
  const build = (prefix: string, members: readonly Leaf[]): Rule[] => {
    if (members.length <= fanout) return members.map((l) => l.rule);
    const rules = members.filter((l) => l.iface === prefix).map((l) => l.rule);
    const groups = new Map<string, Leaf[]>();
    for (const l of members) {
      if (l.iface === prefix) continue;
      const c = l.iface[prefix.length]!;
      pushTo(groups, c, l);
    }
    for (const c of [...groups.keys()].sort()) {
      const group = groups.get(c)!;
      if (group.length === 1) {
        rules.push(group[0]!.rule);
        continue;
      }
      // Names are at most 15 characters and distinct, so a shared prefix is at most 14 and `<prefix>+` fits.
      const shared = commonPrefix(group.map((l) => l.iface));
      const name = `${chainPrefix}${shared}`;
      const kept = memo?.get(name);
      if (kept && sameItems(kept.members, group)) {
        chains.push(...kept.chains);
        rules.push(kept.rule);
        continue;
      }
      const start = chains.length;
      chains.push({ name, rules: build(shared, group) }); // its subtrees' chains first, then its own
      const rule: Rule = { [side]: `${shared}+`, comment: DISPATCH, jump: name };
      rules.push(rule);
      memo?.set(name, { members: group, chains: chains.slice(start), rule });
    }
    return rules;
  };
  const rules = build('', leaves);
  return { rules, chains };
}

/**
 * Rules that each match one protocol and one port (published ports), grouped
 * by protocol and then by up to FANOUT contiguous port ranges per level
 * (`-p tcp --dport lo:hi` into `<chainPrefix><proto>-<lo>-<hi>`). A packet
 * has one port, so regrouping keeps every verdict; the rules of one port
 * keep their order.
 */
export function portDispatch(rules: readonly Rule[], chainPrefix: string, fanout = FANOUT): Dispatch {
  if (rules.length <= fanout) return { rules: [...rules], chains: [] };
  const chains: Chain[] = [];
  const byPort = new Map<string, Map<number, Rule[]>>();
  for (const r of rules) {
    if (!r.proto || !r.dport || !/^\d+$/.test(r.dport)) throw new Error(`portDispatch: rule without a single port: ${r.comment}`);
    const ports = byPort.get(r.proto) ?? new Map<number, Rule[]>();
    byPort.set(r.proto, ports);
    const port = Number(r.dport);
    pushTo(ports, port, r);
  }
  const build = (proto: string, ports: readonly number[], of: Map<number, Rule[]>): Rule[] => {
    const count = ports.reduce((n, p) => n + of.get(p)!.length, 0);
    if (count <= fanout || ports.length === 1) return ports.flatMap((p) => of.get(p)!);
    const out: Rule[] = [];
    const size = Math.ceil(ports.length / Math.max(2, fanout)); // at least two buckets: each is smaller
    for (let i = 0; i < ports.length; i += size) {
      const bucket = ports.slice(i, i + size);
      const lo = bucket[0]!;
      const hi = bucket[bucket.length - 1]!;
      if (bucket.length === 1 && of.get(lo)!.length === 1) {
        out.push(...of.get(lo)!);
        continue;
      }
      const name = `${chainPrefix}${proto}-${lo}-${hi}`;
      chains.push({ name, rules: build(proto, bucket, of) });
      out.push({ proto: proto as Rule['proto'], dport: lo === hi ? String(lo) : `${lo}:${hi}`, comment: DISPATCH, jump: name });
    }
    return out;
  };
  const out: Rule[] = [];
  for (const proto of [...byPort.keys()].sort()) {
    const of = byPort.get(proto)!;
    out.push(
      ...build(
        proto,
        [...of.keys()].sort((a, b) => a - b),
        of,
      ),
    );
  }
  return { rules: out, chains };
}

export interface CidrLeaf {
  readonly cidr: Cidr;
  readonly rule: Rule;
}

const bitsOf = (c: Cidr) => (c.family === 4 ? 32 : 128);
/** Each subnet's address as a number, computed once per Cidr object (a rebuilt tree asks again for every leaf). */
const values = new WeakMap<Cidr, bigint>();
const valueOf = (c: Cidr) => {
  let v = values.get(c);
  if (v === undefined) values.set(c, (v = c.addr.toByteArray().reduce((acc, b) => (acc << 8n) | BigInt(b), 0n)));
  return v;
};

function cidrText(value: bigint, prefix: number, family: 4 | 6): string {
  const bytes: number[] = [];
  for (let i = (family === 4 ? 4 : 16) - 1, v = value; i >= 0; i--, v >>= 8n) bytes[i] = Number(v & 255n);
  return parseCidr(`${ipaddr.fromByteArray(bytes).toString()}/${prefix}`)!.text;
}

/**
 * Rules that each match one source (or destination) subnet and whose order
 * does not matter (the same verdict, e.g. MASQUERADE per network), grouped
 * by the next 4 address bits after the prefix they share: `-s <supernet>`
 * into `<chainPrefix><hex bits>-<prefix length>`.
 */
export function cidrDispatch(leaves: readonly CidrLeaf[], side: 'src' | 'dst', chainPrefix: string, fanout = FANOUT, memo?: DispatchMemo): Dispatch {
  const chains: Chain[] = [];
  const build = (members: readonly CidrLeaf[]): Rule[] => {
    if (members.length <= fanout) return members.map((l) => l.rule);
    const bits = bitsOf(members[0]!.cidr);
    const values = members.map((l) => valueOf(l.cidr));
    let shared = Math.min(...members.map((l) => l.cidr.prefix));
    for (const v of values) {
      while (shared > 0 && v >> BigInt(bits - shared) !== values[0]! >> BigInt(bits - shared)) shared--;
    }
    const next = shared + 4;
    const out: Rule[] = [];
    const groups = new Map<bigint, CidrLeaf[]>();
    members.forEach((l, i) => {
      if (l.cidr.prefix < next) out.push(l.rule);
      else {
        const key = values[i]! >> BigInt(bits - next);
        pushTo(groups, key, l);
      }
    });
    for (const key of [...groups.keys()].sort((a, b) => (a < b ? -1 : 1))) {
      const group = groups.get(key)!;
      const name = `${chainPrefix}${key.toString(16)}-${next}`;
      if (group.length === 1 || name.length > 28) {
        out.push(...group.map((l) => l.rule));
        continue;
      }
      const kept = memo?.get(name);
      if (kept && sameItems(kept.members, group)) {
        chains.push(...kept.chains);
        out.push(kept.rule);
        continue;
      }
      const start = chains.length;
      chains.push({ name, rules: build(group) }); // its subtrees' chains first, then its own
      const rule: Rule = { [side]: cidrText(key << BigInt(bits - next), next, members[0]!.cidr.family), comment: DISPATCH, jump: name };
      out.push(rule);
      memo?.set(name, { members: group, chains: chains.slice(start), rule });
    }
    return out;
  };
  return { rules: build(leaves), chains };
}
