// Snapshot + config -> the decisions the ruleset enforces, each with the
// reason (default, Docker option or label) that produced it.
import type { Config } from './config.js';
import type { Flow } from './flow.js';
import type { GrantOrigin } from './grant-origin.js';
import { createGrantsMemo, type GrantsMemo, resolveGrants } from './grants.js';
import { alignedMap, cached, changedIds } from './memo.js';
import type { Container, Family, Network, Problem, Snapshot } from './model.js';
import { labelOrigins, type OwnLabels, ownLabels } from './own-labels.js';

export interface Decision<T> {
  readonly value: T;
  /** Which default, option or label decided it; shown by status/explain. */
  readonly reason: string;
}

/**
 * What kind of thing made a decision, for explain to report without reading
 * the reason's wording: a default, a Docker network option, a config key, a
 * network or container label, or the network itself (internal). Kept beside
 * the decisions (`sources`), so that a Decision stays `{ value, reason }` in
 * `moat status --json`.
 */
export type DecisionSource = 'default' | 'option' | 'config' | 'label' | 'network';

export interface NetworkPolicy {
  readonly network: Network;
  /** The network's bridge is on this host and moat writes its chains. */
  readonly managed: boolean;
  readonly icc: Decision<boolean>;
  /** The network's default egress for its containers. */
  readonly egress: Decision<'world' | 'none'>;
  readonly nat: Decision<boolean>;
  /** The families masqueraded when `nat` is on: Docker 28's gateway_mode_ipvN=routed takes one out. Absent: both. */
  readonly natFamilies?: readonly Family[];
  readonly sources: { readonly icc: DecisionSource; readonly egress: DecisionSource; readonly nat: DecisionSource };
}

export interface ContainerPolicy {
  readonly container: Container;
  /** May open connections to `world` (its networks' default, minus its own `none`). */
  readonly world: Decision<boolean>;
  readonly sources: { readonly world: DecisionSource };
}

export interface Policy {
  readonly networks: readonly NetworkPolicy[];
  readonly containers: readonly ContainerPolicy[];
  /** Flows granted by labels and policy files, beyond the default matrix. */
  readonly flows: readonly Flow[];
  readonly problems: readonly Problem[];
}

/**
 * Kept across calls by the incremental path (desired.ts), for one config: a
 * network or container object seen before is not decided again.
 */
export interface PolicyMemo {
  readonly networks: WeakMap<Network, { readonly np: NetworkPolicy; readonly problems: readonly Problem[] }>;
  /** `cp`: the last policy made for the container, kept while its world decision stays the same. */
  readonly containers: WeakMap<Container, { readonly problems: readonly Problem[]; cp: ContainerPolicy | null }>;
  readonly grants: GrantsMemo;
  /** The last call's per-container results in snapshot order, reused for the containers found again (alignedMap). */
  last: {
    readonly containers: readonly Container[];
    readonly networks: readonly NetworkPolicy[];
    readonly own: readonly OwnLabels[];
    readonly cps: readonly ContainerPolicy[];
    readonly problems: readonly (readonly Problem[])[];
  } | null;
}

export const createPolicyMemo = (): PolicyMemo => ({ networks: new WeakMap(), containers: new WeakMap(), grants: createGrantsMemo(), last: null });

/** A decision and what made it. */
type Sourced<T> = readonly [Decision<T>, DecisionSource];

const NO_PROBLEMS: readonly Problem[] = [];

const UNFIREWALLED_DRIVERS = new Set(['macvlan', 'ipvlan', 'overlay']);

/**
 * Docker 28's per-family gateway mode (option
 * com.docker.network.bridge.gateway_mode_ipv4/ipv6): nat (the default),
 * nat-unprotected (Docker's opt-out of its own direct-routing protection:
 * moat's rules are the same as for nat), routed (no masquerade for that
 * family) or isolated (treated as internal, from-docker.ts).
 */
export function gatewayMode(net: Network, family: Family): string {
  return net.options[`com.docker.network.bridge.gateway_mode_ipv${family}`] ?? 'nat';
}

function boolLabel(net: Network, key: string, problems: Problem[]): boolean | null {
  const value = net.labels[key];
  if (value === undefined) return null;
  if (value === 'true' || value === 'false') return value === 'true';
  problems.push({ kind: 'label_invalid', subject: `network ${net.name}`, key, value: value.slice(0, 200), reason: 'expected true or false' });
  return null;
}

function networkPolicy(net: Network, config: Config, problems: Problem[]): NetworkPolicy {
  const p = config.labelPrefix;
  const managed = net.bridge !== null;
  if (UNFIREWALLED_DRIVERS.has(net.driver)) {
    problems.push({
      kind: 'not_firewalled',
      subject: `network ${net.name}`,
      reason: `${net.driver} traffic bypasses the host's netfilter: moat cannot firewall it`,
    });
  }

  const iccLabel = boolLabel(net, `${p}.icc`, problems);
  const [icc, iccSource]: Sourced<boolean> = !net.icc
    ? [{ value: false, reason: 'option com.docker.network.bridge.enable_icc=false' }, 'option']
    : iccLabel === false
      ? [{ value: false, reason: `network label ${p}.icc=false` }, 'label']
      : [{ value: true, reason: 'default: same network allowed' }, 'default'];

  const natLabel = boolLabel(net, `${p}.nat`, problems);
  const routed = ([4, 6] as const).filter((f) => gatewayMode(net, f) === 'routed');
  const natFamilies = ([4, 6] as const).filter((f) => !routed.includes(f));
  const routedOption = routed.map((f) => `gateway_mode_ipv${f}=routed`).join(' and ');
  // The engine reports enable_ip_masquerade=false for the default bridge
  // whenever "iptables" is false (moby's verifyDaemonSettings turns ip-masq
  // off with it): not the operator's word. Their word is defaultBridgeNat.
  const defaultBridge = net.options['com.docker.network.bridge.default_bridge'] === 'true';
  const [nat, natSource]: Sourced<boolean> =
    defaultBridge && !config.defaultBridgeNat
      ? [{ value: false, reason: 'config defaultBridgeNat: false' }, 'config']
      : !net.nat && !defaultBridge
        ? [{ value: false, reason: 'option com.docker.network.bridge.enable_ip_masquerade=false' }, 'option']
        : natLabel === false
          ? [{ value: false, reason: `network label ${p}.nat=false` }, 'label']
          : natFamilies.length === 0
            ? [{ value: false, reason: `option ${routedOption}` }, 'option']
            : routed.length > 0
              ? [{ value: true, reason: `default: masquerade, IPv${natFamilies[0]} only (option ${routedOption})` }, 'default']
              : [
                  { value: true, reason: defaultBridge ? 'default: masquerade (default bridge, config defaultBridgeNat: true)' : 'default: masquerade' },
                  'default',
                ];

  let [egress, egressSource]: Sourced<'world' | 'none'> = [{ value: config.defaultEgress, reason: `config defaultEgress: ${config.defaultEgress}` }, 'config'];
  const egressLabel = net.labels[`${p}.egress`];
  if (egressLabel === 'world' || egressLabel === 'none') {
    [egress, egressSource] = [{ value: egressLabel, reason: `network label ${p}.egress=${egressLabel}` }, 'label'];
  } else if (egressLabel !== undefined) {
    problems.push({
      kind: 'label_invalid',
      subject: `network ${net.name}`,
      key: `${p}.egress`,
      value: egressLabel.slice(0, 200),
      reason: 'expected world or none',
    });
  }
  if (net.internal) {
    if (egress.value === 'world' && egressLabel === 'world') {
      problems.push({
        kind: 'label_ignored',
        subject: `network ${net.name}`,
        key: `${p}.egress`,
        value: 'world',
        reason: 'internal networks never reach world, lan or the host',
      });
    }
    [egress, egressSource] = [{ value: 'none', reason: 'internal network' }, 'network'];
  }
  return { network: net, managed, icc, egress, nat, natFamilies, sources: { icc: iccSource, egress: egressSource, nat: natSource } };
}

function containerProblems(c: Container, config: Config): readonly Problem[] {
  const p = config.labelPrefix;
  const problems: Problem[] = [];
  if (c.networkMode === 'host') {
    problems.push({ kind: 'not_isolatable', subject: `container ${c.name}`, reason: 'host network mode: a host firewall cannot isolate it' });
  }
  if (c.networkMode.startsWith('container:')) {
    const own = Object.keys(c.labels).filter((k) => k.startsWith(`${p}.`));
    for (const key of own) {
      problems.push({
        kind: 'label_ignored',
        subject: `container ${c.name}`,
        key,
        reason: `shares the network namespace of ${c.networkMode.slice(10, 22)}: that container's policy applies`,
      });
    }
  }
  return problems.length > 0 ? problems : NO_PROBLEMS;
}

function worldOf(c: Container, nets: ReadonlyMap<string, NetworkPolicy>, egressNone: ReadonlySet<string>, config: Config): Sourced<boolean> {
  const p = config.labelPrefix;
  const optedOut = egressNone.has(c.id);
  const anyWorldNet = c.endpoints.some((e) => nets.get(e.networkId)?.egress.value === 'world');
  return optedOut
    ? [{ value: false, reason: `container label ${p}.egress=none` }, 'label']
    : anyWorldNet
      ? [{ value: true, reason: 'network egress world' }, 'default']
      : [{ value: false, reason: 'no network with world egress' }, 'default'];
}

/** `extraOrigins` are grants from policy files, resolved exactly like labels. */
export function buildPolicy(snapshot: Snapshot, config: Config, extraOrigins: readonly GrantOrigin[] = [], memo: PolicyMemo = createPolicyMemo()): Policy {
  const problems: Problem[] = [];
  const networks = snapshot.networks.map((n) => {
    const kept = cached(memo.networks, n, () => {
      const own: Problem[] = [];
      return { np: networkPolicy(n, config, own), problems: own };
    });
    problems.push(...kept.problems);
    return kept.np;
  });
  const byId = new Map(networks.map((n) => [n.network.id, n]));
  // A container found again at its place keeps its results: its labels' and
  // its problems always (they depend on it alone), its policy while the
  // network policies are the same.
  const last = memo.last;
  memo.last = null;
  const was = <R>(results: readonly R[] | undefined) => (last && results ? { items: last.containers, results } : null);
  const own = alignedMap(was(last?.own), snapshot.containers, (c) => cached(memo.grants.labels, c, () => ownLabels(c, config)));
  const { origins, egressNone } = labelOrigins(snapshot, config, problems, memo.grants, own);
  const kept = (c: Container) => cached(memo.containers, c, () => ({ problems: containerProblems(c, config), cp: null }));
  const containerProblemsList = alignedMap(was(last?.problems), snapshot.containers, (c) => kept(c).problems);
  for (const list of containerProblemsList) for (const p of list) problems.push(p);
  // A network that came, went or changed: the containers on it decide again.
  const changed = last ? changedIds(last.networks, networks) : null;
  const offChanged = changed && changed.size > 0 ? (c: Container) => !c.endpoints.some((e) => changed.has(e.networkId)) : undefined;
  const containers = alignedMap(
    changed ? was(last?.cps) : null,
    snapshot.containers,
    (c) => {
      const k = kept(c);
      const [world, source] = worldOf(c, byId, egressNone, config);
      if (k.cp?.world.reason !== world.reason) k.cp = { container: c, world, sources: { world: source } };
      return k.cp;
    },
    offChanged,
  );
  memo.last = { containers: snapshot.containers, networks, own, cps: containers, problems: containerProblemsList };
  const flows = resolveGrants(snapshot, [...origins, ...extraOrigins], problems, memo.grants, config.dns.listen !== null);
  return { networks, containers, flows, problems };
}
