// Granted flows -> ACCEPT rules, placed in the chain that sees the packet:
// MOAT-OUT-<net> for traffic leaving a container through its bridge,
// MOAT-IN-<net> for traffic arriving from outside Docker, MOAT-HOST-<net>
// for traffic to the host, MOAT-OUTPUT for host -> container (when denied).
import { assertNever } from './assert-never.js';
import type { Config } from './config.js';
import { dnsSetName } from './dns-name.js';
import { type Flow, type Side, sideAddress } from './flow.js';
import { pushOne } from './maps.js';
import { alignedMap, changedIds, SEP } from './memo.js';
import type { Family } from './model.js';
import { FROM_LAN_CHAIN, FROM_WORLD_CHAIN, TO_EXTERNAL_CHAIN, TO_LAN_CHAIN, TO_WORLD_CHAIN } from './names.js';
import type { NetworkPolicy } from './policy.js';
import type { Rule } from './rule.js';
import { ruleComment } from './rule-ids.js';

export interface FlowRules {
  readonly out: Map<string, Rule[]>;
  readonly in: Map<string, Rule[]>;
  readonly host: Map<string, Rule[]>;
  /** Keyed by bridge name. */
  readonly output: Map<string, Rule[]>;
}

interface Ep {
  readonly ip: string;
  readonly net: NetworkPolicy;
}

function match(flow: Flow): Pick<Rule, 'proto' | 'dport'> {
  if (flow.proto === null) return {};
  if (flow.proto === 'icmp' || flow.ports === null) return { proto: flow.proto };
  const { lo, hi } = flow.ports;
  return { proto: flow.proto, dport: lo === hi ? String(lo) : `${lo}:${hi}` };
}

const familyOfCidr = (cidr: string): Family => (cidr.includes(':') ? 6 : 4);

type Add = readonly [keyof FlowRules, string, Rule];

/**
 * The rules each flow added, with the network policies they were placed by,
 * for one config and family (see desired.ts): a flow object seen before
 * whose endpoints' networks are the same adds the very same rules.
 */
export interface FlowRulesMemo {
  readonly byFlow: WeakMap<Flow, { readonly deps: readonly unknown[]; readonly adds: readonly Add[] }>;
  /** The last call's flows and what each added, for the flows found again at their place while the network policies are the same list. */
  last: { readonly flows: readonly Flow[]; readonly networks: readonly NetworkPolicy[]; readonly adds: readonly (readonly Add[])[] } | null;
}

export const createFlowRulesMemo = (): FlowRulesMemo => ({ byFlow: new WeakMap(), last: null });

/** Shared by every flow that adds nothing in a family (most flows, in a family their containers have no address of). */
const NO_ADDS: readonly Add[] = [];

export function flowRules(
  flows: readonly Flow[],
  networks: readonly NetworkPolicy[],
  config: Config,
  family: Family,
  memo: FlowRulesMemo = createFlowRulesMemo(),
): FlowRules {
  const byId = new Map(networks.filter((n) => n.managed).map((n) => [n.network.id, n]));
  const rules: FlowRules = { out: new Map(), in: new Map(), host: new Map(), output: new Map() };
  // Everything a flow's rules read besides the flow: the policy of each network its sides touch.
  const sideDeps = (side: Side, deps: unknown[]) => {
    switch (side.kind) {
      case 'container':
        for (const e of side.container.endpoints) deps.push(byId.get(e.networkId));
        return;
      case 'network':
        deps.push(byId.get(side.network.id));
        return;
      case 'world':
      case 'lan':
      case 'host':
      case 'cidr':
      case 'dns':
        return;
      default:
        return assertNever(side);
    }
  };
  // The same check without building the list: this runs for every flow of the host on every event.
  const sameSideDeps = (side: Side, deps: readonly unknown[], at: number): number => {
    switch (side.kind) {
      case 'container':
        for (const e of side.container.endpoints) if (deps[at++] !== byId.get(e.networkId)) return -1;
        return at;
      case 'network':
        return deps[at++] !== byId.get(side.network.id) ? -1 : at;
      case 'world':
      case 'lan':
      case 'host':
      case 'cidr':
      case 'dns':
        return at;
      default:
        return assertNever(side);
    }
  };
  const keptDeps = (flow: Flow, deps: readonly unknown[]) => {
    const mid = sameSideDeps(flow.from, deps, 0);
    if (mid < 0 || deps[mid] !== SEP) return false;
    return sameSideDeps(flow.to, deps, mid + 1) === deps.length;
  };
  const addsOf = (flow: Flow): readonly Add[] => {
    let kept = memo.byFlow.get(flow);
    if (!kept || !keptDeps(flow, kept.deps)) {
      const deps: unknown[] = [];
      sideDeps(flow.from, deps);
      deps.push(SEP);
      sideDeps(flow.to, deps);
      const adds = flowAdds(flow, byId, config, family);
      kept = { deps, adds: adds.length > 0 ? adds : NO_ADDS };
      memo.byFlow.set(flow, kept);
    }
    return kept.adds;
  };
  const last = memo.last;
  memo.last = null;
  // A flow with a side on a network that came, went or changed is placed again.
  const changed = last ? changedIds(last.networks, networks) : null;
  const touches = (side: Side): boolean => {
    switch (side.kind) {
      case 'container':
        return side.container.endpoints.some((e) => changed!.has(e.networkId));
      case 'network':
        return changed!.has(side.network.id);
      case 'world':
      case 'lan':
      case 'host':
      case 'cidr':
      case 'dns':
        return false;
      default:
        return assertNever(side);
    }
  };
  const keep = changed && changed.size > 0 ? (flow: Flow) => !touches(flow.from) && !touches(flow.to) : undefined;
  const adds = alignedMap(last && changed ? { items: last.flows, results: last.adds } : null, flows, addsOf, keep);
  for (const list of adds) for (const [table, key, rule] of list) pushOne(rules[table], key, rule);
  memo.last = { flows, networks, adds };
  return rules;
}

function flowAdds(flow: Flow, byId: ReadonlyMap<string, NetworkPolicy>, config: Config, family: Family): Add[] {
  const adds: Add[] = [];
  const bits = family === 4 ? 32 : 128;
  const add = (table: keyof FlowRules, key: string, r: Rule) => adds.push([table, key, r]);

  const endpoints = (side: Side): Ep[] => {
    if (side.kind !== 'container') return [];
    const eps: Ep[] = [];
    for (const e of side.container.endpoints) {
      const ip = sideAddress(side, e, family);
      const net = byId.get(e.networkId);
      if (ip && net) eps.push({ ip: `${ip}/${bits}`, net });
    }
    return eps;
  };
  // Internal networks never reach, nor are reached from, lan, world or the host.
  const outside = (ep: Ep) => !ep.net.network.internal;

  const m = match(flow);
  const comment = ruleComment({ kind: 'flow', flow: flow.id });
  const { from, to } = flow;
  if (from.kind === 'container') {
    for (const a of endpoints(from)) {
      const chain = a.net.network.id;
      switch (to.kind) {
        case 'container':
          for (const b of endpoints(to)) add('out', chain, { src: a.ip, dst: b.ip, ...m, comment, jump: 'ACCEPT' });
          break;
        case 'network': {
          const target = byId.get(to.network.id);
          if (target) add('out', chain, { src: a.ip, out: target.network.bridge!, ...m, comment, jump: 'ACCEPT' });
          break;
        }
        case 'world':
          if (outside(a)) add('out', chain, { src: a.ip, ...m, comment, jump: TO_WORLD_CHAIN });
          break;
        case 'lan':
          if (outside(a)) add('out', chain, { src: a.ip, ...m, comment, jump: TO_LAN_CHAIN });
          break;
        case 'cidr':
          if (outside(a) && to.family === family) add('out', chain, { src: a.ip, dst: to.cidr, ...m, comment, jump: TO_EXTERNAL_CHAIN });
          break;
        case 'host':
          if (outside(a)) add('host', chain, { src: a.ip, ...m, comment, jump: 'ACCEPT' });
          break;
        case 'dns':
          // The learned addresses, outside Docker only (MOAT-TO-EXTERNAL, as a CIDR grant): an answer never opens a container or the host.
          if (outside(a)) add('out', chain, { src: a.ip, dstSet: dnsSetName(to.pattern, family), ...m, comment, jump: TO_EXTERNAL_CHAIN });
          break;
        default:
          assertNever(to);
      }
    }
    return adds;
  }
  // Ingress: the destination is a container.
  for (const b of endpoints(to)) {
    const chain = b.net.network.id;
    switch (from.kind) {
      case 'network': {
        const source = byId.get(from.network.id);
        if (source) add('out', source.network.id, { dst: b.ip, ...m, comment, jump: 'ACCEPT' });
        break;
      }
      case 'world':
        if (outside(b)) add('in', chain, { dst: b.ip, ...m, comment, jump: FROM_WORLD_CHAIN });
        break;
      case 'lan':
        if (outside(b)) add('in', chain, { dst: b.ip, ...m, comment, jump: FROM_LAN_CHAIN });
        break;
      case 'cidr':
        if (outside(b) && familyOfCidr(from.cidr) === family) add('in', chain, { src: from.cidr, dst: b.ip, ...m, comment, jump: 'ACCEPT' });
        break;
      case 'host':
        if (outside(b) && config.hostToContainers === 'deny')
          add('output', b.net.network.bridge!, { dst: b.ip, out: b.net.network.bridge!, ...m, comment, jump: 'ACCEPT' });
        break;
      case 'dns': // never a source: labels.ts refuses dns: in ingress
        break;
      default:
        assertNever(from);
    }
  }
  return adds;
}
