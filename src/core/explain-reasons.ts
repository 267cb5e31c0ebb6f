// The deciding rule's `moat:<id>` comment -> what produced it: the label
// entry or policy-file line (the flow with that id), the network option or
// label behind ICC and egress, the config key, or the default. The comment
// is parsed by rule-ids.ts, which formats it for the ruleset too, and every id
// it knows is handled here (the switch is exhaustive).
import type { Cidr } from './addr.js';
import { assertNever } from './assert-never.js';
import type { Config } from './config.js';
import type { AddrSet, RuleRef } from './explain-walk.js';
import type { Container } from './model.js';
import { networkOfChain } from './names.js';
import type { NetworkPolicy, Policy } from './policy.js';
import { flowOrigin, parseRuleComment, type RuleId, zoneComment } from './rule-ids.js';

export type DecisionKind = 'label' | 'policy' | 'default' | 'option' | 'config' | 'network' | 'routing' | 'unfiltered';

type Reason = Pick<Decision, 'kind' | 'reason'>;

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

function netOfChain(policy: Policy, chain: string): NetworkPolicy | null {
  const id = networkOfChain(chain);
  return id === null ? null : (policy.networks.find((n) => n.network.id.startsWith(id)) ?? null);
}

const inRange = (c: Cidr, r: Cidr) => c.family === r.family && c.prefix >= r.prefix && c.addr.match(r.addr, r.prefix);

/** Maps the deciding rule (and the helper-chain rules that finished it, `via`) back to what produced it. */
export function ruleReason(ref: RuleRef, via: readonly string[], ends: Ends, ctx: ReasonContext): Decision {
  const at = { rule: ref.comment, table: ref.table, chain: ref.chain };
  const id = parseRuleComment(ref.comment);
  const why = id ? reasonOf(id, ref, via, ends, ctx) : null;
  return { ...(why ?? { kind: 'default', reason: ref.comment }), ...at };
}

/** What produced a rule with this id; null when the id alone says nothing more than the comment. */
function reasonOf(id: RuleId, ref: RuleRef, via: readonly string[], ends: Ends, ctx: ReasonContext): Reason | null {
  const { policy, config } = ctx;
  const chainNet = () => netOfChain(policy, ref.chain);
  switch (id.kind) {
    case 'flow': {
      const flow = policy.flows.find((f) => f.id === id.flow);
      return flow ? { kind: flowOrigin(id.flow), reason: flow.reason } : null;
    }
    case 'icc':
    case 'icc-off': {
      const np = chainNet() ?? ends.srcNet;
      const reason = np ? `network ${np.network.name}: containers on it ${np.icc.value ? 'reach' : 'do not reach'} each other (${np.icc.reason})` : 'ICC';
      return { kind: np?.sources.icc ?? 'default', reason };
    }
    case 'world': {
      const c = policy.containers.find((x) => x.container.id.startsWith(id.container));
      const np = chainNet() ?? ends.srcNet;
      return {
        kind: np?.sources.egress ?? 'default',
        reason: `${c?.container.name ?? id.container} may reach world: network ${np?.network.name} egress world (${np?.egress.reason})`,
      };
    }
    case 'internal':
      return {
        kind: 'network',
        reason: `network ${chainNet()?.network.name ?? '?'} is internal: its containers reach only each other, never lan, world or the host`,
      };
    case 'host':
      return { kind: 'default', reason: 'default: containers may not connect to the host' };
    case 'inbound':
      return { kind: 'default', reason: 'default: from outside Docker, containers are reached only through published ports' };
    case 'unknown-bridge':
      return { kind: 'default', reason: 'a Docker bridge moat does not know yet is denied until the next reconcile' };
    case 'host-to-containers':
      return { kind: 'config', reason: 'config hostToContainers: deny' };
    case 'dns-forwarder':
      return { kind: 'config', reason: `config dns.listen: ${config.dns.listen ?? '?'} port 53 (udp, tcp) is moat's DNS forwarder, open to every container` };
    case 'published-port': {
      const c = policy.containers.find((x) => x.container.id.startsWith(id.container))?.container;
      const name = c?.name ?? id.container;
      const port = `${id.port}/${id.proto}`;
      if (id.unlisted)
        return { kind: 'config', reason: `published: labelled, and the source is not named in ${name}'s ${config.labelPrefix}.ingress for ${port}` };
      const hp = c?.ports.find((x) => x.containerPort === id.port && x.proto === id.proto)?.hostPort;
      if (hp === undefined && c?.routedPorts?.some((x) => x.containerPort === id.port && x.proto === id.proto)) {
        return {
          kind: 'config',
          reason: `published in routed mode (no host port): ${name}:${port} is reached by direct routing (config published: ${config.published})`,
        };
      }
      return {
        kind: 'config',
        reason: `published port ${hp ?? '?'} -> ${name}:${port} (config published: ${config.published}, publishMode: ${config.publishMode})`,
      };
    }
    case 'default-deny':
      return defaultDeny(via, ends, ctx);
    // Rules that never decide a verdict on their own (their caller or the
    // chain they lead to does), or whose comment says it all.
    case 'established':
    case 'ndp':
    case 'log-denied':
    case 'deny':
    case 'dispatch':
    case 'lockdown':
    case 'unrenderable-bridge':
    case 'no-nat-between-networks':
    case 'published':
    case 'published:from-docker':
    case 'zone':
    case 'net':
    case 'nat':
      return null;
    default:
      return assertNever(id);
  }
}

/** `moat:default-deny` decides many things: say which default it was for this packet. */
function defaultDeny(via: readonly string[], ends: Ends, ctx: ReasonContext): Reason {
  if (ends.dstKind === 'docker') return { kind: 'default', reason: 'default: containers on different networks do not reach each other' };
  if (ends.dstKind === 'host') return { kind: 'default', reason: 'default: containers may not connect to the host' };
  const set = ends.dstSet;
  const isLan = set.kind === 'zone' ? set.zone === 'lan' : set.kind === 'ip' && ctx.protectedRanges.some((r) => inRange(set.cidr, r));
  if (isLan || via.includes(zoneComment('lan')))
    return { kind: 'default', reason: `default: containers may not reach lan (protectedNetworks: ${ctx.protectedRanges.map((r) => r.text).join(', ')})` };
  const cp = ends.srcContainer ? ctx.policy.containers.find((c) => c.container.id === ends.srcContainer!.id) : undefined;
  if (cp && !cp.world.value) {
    if (cp.sources.world === 'label') return { kind: 'label', reason: `${cp.world.reason} on ${cp.container.name}` };
    const nets = cp.container.endpoints.map((e) => ctx.nets.get(e.networkId)).filter((n): n is NetworkPolicy => n !== undefined);
    const why = nets.map((n) => `network ${n.network.name}: egress ${n.egress.value} (${n.egress.reason})`).join('; ');
    const kinds = nets.map((n) => n.sources.egress);
    return { kind: kinds.includes('label') ? 'label' : (kinds[0] ?? 'default'), reason: `${cp.container.name} may not reach world: ${why}` };
  }
  return { kind: 'default', reason: 'default: denied' };
}
