// The deciding rule's `moat:<id>` comment -> what produced it: the label
// entry or policy-file line (the flow with that id), the network option or
// label behind ICC and egress, the config key, or the default. Every comment
// ruleset.ts and flow-rules.ts write is covered here.
import type { Cidr } from './addr.js';
import type { Config } from './config.js';
import type { AddrSet, RuleRef } from './explain-walk.js';
import type { Container } from './model.js';
import type { NetworkPolicy, Policy } from './policy.js';

export type DecisionKind = 'label' | 'policy' | 'default' | 'option' | 'config' | 'network' | 'routing' | 'unfiltered';

export interface Decision {
  readonly kind: DecisionKind;
  /** Which label entry, policy line, default, config key or network option decided. */
  readonly reason: string;
  /** The `moat:<id>` comment of the deciding rule; null when no moat rule decided. */
  readonly rule: string | null;
  readonly table: string | null;
  readonly chain: string | null;
}

/** The two ends of the packet, as far as reasons need them. */
export interface Ends {
  readonly srcNet: NetworkPolicy | null;
  readonly srcContainer: Container | null;
  readonly dstKind: 'docker' | 'host' | 'zone';
  readonly dstSet: AddrSet;
}

export interface ReasonContext {
  readonly policy: Policy;
  readonly config: Config;
  readonly nets: ReadonlyMap<string, NetworkPolicy>;
  /** protectedNetworks of the packet's family. */
  readonly protectedRanges: readonly Cidr[];
}

/** Decision kind of a Decision<T>.reason from policy.ts. */
export function kindOf(reason: string): DecisionKind {
  if (reason.startsWith('option')) return 'option';
  if (reason.startsWith('config')) return 'config';
  if (reason.startsWith('network label') || reason.startsWith('container label')) return 'label';
  if (reason.startsWith('internal')) return 'network';
  return 'default';
}

function netOfChain(policy: Policy, chain: string): NetworkPolicy | null {
  const m = /^MOAT-(?:OUT|IN|HOST)-([0-9a-f]{12})$/.exec(chain);
  if (!m) return null;
  return policy.networks.find((n) => n.network.id.startsWith(m[1]!)) ?? null;
}

const inRange = (c: Cidr, r: Cidr) => c.family === r.family && c.prefix >= r.prefix && c.addr.match(r.addr, r.prefix);

/** Maps the deciding rule (and the helper-chain rules that finished it, `via`) back to what produced it. */
export function ruleReason(ref: RuleRef, via: readonly string[], ends: Ends, ctx: ReasonContext): Decision {
  const { policy, config } = ctx;
  const at = { rule: ref.comment, table: ref.table, chain: ref.chain };
  const id = ref.comment.replace(/^moat:/, '');
  const chainNet = netOfChain(policy, ref.chain);
  const flow = policy.flows.find((f) => f.id === id);
  if (flow) return { kind: id.startsWith('policy:') ? 'policy' : 'label', reason: flow.reason, ...at };
  if (id === 'icc' || id === 'icc-off') {
    const np = chainNet ?? ends.srcNet;
    const reason = np ? `network ${np.network.name}: containers on it ${np.icc.value ? 'reach' : 'do not reach'} each other (${np.icc.reason})` : 'ICC';
    return { kind: kindOf(np?.icc.reason ?? 'default'), reason, ...at };
  }
  const world = /^world:([0-9a-f]{12})$/.exec(id);
  if (world) {
    const c = policy.containers.find((x) => x.container.id.startsWith(world[1]!));
    const np = chainNet ?? ends.srcNet;
    return { kind: kindOf(np?.egress.reason ?? 'default'), reason: `${c?.container.name ?? world[1]} may reach world: network ${np?.network.name} egress world (${np?.egress.reason})`, ...at };
  }
  if (id === 'internal') return { kind: 'network', reason: `network ${chainNet?.network.name ?? '?'} is internal: its containers reach only each other, never lan, world or the host`, ...at };
  if (id === 'host') return { kind: 'default', reason: 'default: containers may not connect to the host', ...at };
  if (id === 'inbound') return { kind: 'default', reason: 'default: from outside Docker, containers are reached only through published ports', ...at };
  if (id === 'unknown-bridge') return { kind: 'default', reason: 'a Docker bridge moat does not know yet is denied until the next reconcile', ...at };
  if (id === 'host-to-containers') return { kind: 'config', reason: 'config hostToContainers: deny', ...at };
  const pub = /^published:([0-9a-f]{12}):(\d+)\/(\w+)(:unlisted)?$/.exec(id);
  if (pub) {
    const c = policy.containers.find((x) => x.container.id.startsWith(pub[1]!))?.container;
    const name = c?.name ?? pub[1]!;
    if (pub[4]) return { kind: 'config', reason: `published: labelled, and the source is not named in ${name}'s ${config.labelPrefix}.ingress for ${pub[2]}/${pub[3]}`, ...at };
    const hp = c?.ports.find((x) => String(x.containerPort) === pub[2] && x.proto === pub[3])?.hostPort;
    if (hp === undefined && c?.routedPorts?.some((x) => String(x.containerPort) === pub[2] && x.proto === pub[3])) {
      return { kind: 'config', reason: `published in routed mode (no host port): ${name}:${pub[2]}/${pub[3]} is reached by direct routing (config published: ${config.published})`, ...at };
    }
    return { kind: 'config', reason: `published port ${hp ?? '?'} -> ${name}:${pub[2]}/${pub[3]} (config published: ${config.published}, publishMode: ${config.publishMode})`, ...at };
  }
  if (id === 'default-deny') return { ...defaultDeny(via, ends, ctx), ...at };
  return { kind: 'default', reason: ref.comment, ...at };
}

/** `moat:default-deny` decides many things: say which default it was for this packet. */
function defaultDeny(via: readonly string[], ends: Ends, ctx: ReasonContext): Pick<Decision, 'kind' | 'reason'> {
  if (ends.dstKind === 'docker') return { kind: 'default', reason: 'default: containers on different networks do not reach each other' };
  if (ends.dstKind === 'host') return { kind: 'default', reason: 'default: containers may not connect to the host' };
  const set = ends.dstSet;
  const isLan = set.kind === 'zone' ? set.zone === 'lan' : set.kind === 'ip' && ctx.protectedRanges.some((r) => inRange(set.cidr, r));
  if (isLan || via.includes('moat:zone:lan')) return { kind: 'default', reason: `default: containers may not reach lan (protectedNetworks: ${ctx.protectedRanges.map((r) => r.text).join(', ')})` };
  const cp = ends.srcContainer ? ctx.policy.containers.find((c) => c.container.id === ends.srcContainer!.id) : undefined;
  if (cp && !cp.world.value) {
    if (cp.world.reason.startsWith('container label')) return { kind: 'label', reason: `${cp.world.reason} on ${cp.container.name}` };
    const nets = cp.container.endpoints.map((e) => ctx.nets.get(e.networkId)).filter((n): n is NetworkPolicy => n !== undefined);
    const why = nets.map((n) => `network ${n.network.name}: egress ${n.egress.value} (${n.egress.reason})`).join('; ');
    const kinds = nets.map((n) => kindOf(n.egress.reason));
    return { kind: kinds.includes('label') ? 'label' : (kinds[0] ?? 'default'), reason: `${cp.container.name} may not reach world: ${why}` };
  }
  return { kind: 'default', reason: 'default: denied' };
}
