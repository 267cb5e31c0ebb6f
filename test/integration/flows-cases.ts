// The probe cases of flows-*.test.ts, built one way: who talks to whom, on
// which family, and what the server must have seen. A file states its table
// in these terms; check() (TCP) and checkOther() (UDP, ICMP) probe it.
//
// What every builder assumes of the bed (test/integration/testbed/topology.ts):
// containers are masqueraded towards lan and world unless a test says
// otherwise (`seen`); lan and world reach a container's address by routing,
// and moat drops what it denies there, so a closed inbound case is a 1 s
// timeout; a denied outbound or hairpin case is rejected at once (the
// default denyAction), so it is `refused`, check()'s default.
import { expect } from 'vitest';
import type { Bed } from './testbed/bed.js';
import type { Case } from './testbed/check.js';
import type { Moatd } from './testbed/moatd.js';
import { containerSource, netnsSource, type ProbeSource } from './testbed/probe.js';
import type { ServerContainer } from './testbed/server-container.js';

export type Family = 4 | 6;
export const BOTH: readonly Family[] = [4, 6];
export type Zone = 'lan' | 'world';
export type State = 'open' | 'closed';

/** The same case on IPv4 and IPv6. */
export const both = (make: (f: Family) => Case): Case[] => BOTH.map(make);

/** A table as it must be before moatd runs: every cell open, whatever address the server sees. */
export const allOpen = <T extends { readonly state: string }>(cases: readonly T[]): T[] =>
  cases.map((x) => ({ ...x, state: 'open', seen: undefined, reason: null }));

/** The first address of a /24 or a ::/64 subnet: the bridge's, as Docker picks it. */
export function gatewayOf(subnets: readonly string[], f: Family): string {
  const subnet = subnets.find((s) => s.includes(':') === (f === 6));
  if (f === 4 && subnet?.endsWith('.0/24')) return subnet.replace('.0/24', '.1');
  if (f === 6 && subnet?.endsWith('::/64')) return subnet.replace('::/64', '::1');
  throw new Error(`no IPv${f} /24 or ::/64 subnet to take a gateway from in ${JSON.stringify(subnets)}`);
}

/** Starts moatd with the flows tests' config (policy dir and control socket in the bed) and `extra`; waits for a good first reconcile. */
export async function startFlowsMoatd(bed: Bed, extra = ''): Promise<Moatd> {
  const path = await bed.writeFile('config.yaml', `policyDir: ${bed.dir}/policy.d\ncontrol: { socket: ${bed.dir}/moat.sock }\n${extra}`);
  const moatd = bed.startMoatd({ configPath: path });
  expect(await moatd.waitForEvent('reconcile', { timeoutMs: 20_000 })).toMatchObject({ ok: true });
  return moatd;
}

export interface Roster {
  /** The bed, once beforeAll has made it: the builders are made at describe time and called in the tests. */
  readonly bed: () => Bed;
  /** The test's containers by name; read at each call, so containers started later count. */
  readonly containers: Readonly<Record<string, ServerContainer>>;
  /** The network a container is probed on. */
  networkOf(name: string): string;
  /** Subnets by network, for gateways (the host's address on a bridge). */
  readonly subnets?: Readonly<Record<string, readonly string[]>>;
}

export interface FlowCases {
  /** The container as a probe source. */
  src(name: string): ProbeSource;
  /** The container's address on its network. */
  addr(name: string, f?: Family): string;
  /** The host's address on a network's bridge. */
  gateway(network: string, f?: Family): string;
  /** container -> container; open: the server sees the source's own address. */
  cc(from: string, to: string, port: number, state: State, f?: Family): Case;
  /** container -> lan/world peer; open: the peer sees `seen`, by default the host's address on its link (masquerade). */
  toPeer(from: string, kind: Zone, port: number, state: State, o?: { f?: Family; seen?: string }): Case;
  /** lan/world peer -> the container's address (routed); open: the server sees the peer's own address. */
  fromPeer(kind: Zone, to: string, port: number, state: State, f?: Family): Case;
  /** container -> the host, at its gateway or at its end of the lan/world link; open: `seen` when given. */
  toHost(from: string, via: 'gateway' | Zone, port: number, state: State, o?: { f?: Family; seen?: string }): Case;
  /** lan/world peer -> the host's address on its link; open: `seen` when given; closed: a timeout unless `reason` says. */
  peerToHost(kind: Zone, port: number, state: State, o?: { f?: Family; seen?: string; reason?: Case['reason'] }): Case;
  /** the host's namespace -> a container; open: the server sees the host's address on the container's bridge. */
  hostTo(to: string, port: number, state: State, f?: Family): Case;
}

export function flowCases(r: Roster): FlowCases {
  const container = (name: string): ServerContainer => {
    const c = r.containers[name];
    if (!c) throw new Error(`no container named ${name} in this test`);
    return c;
  };
  const src = (name: string) => containerSource(r.bed().engine.docker, container(name).id, name);
  const addr = (name: string, f: Family = 4) => (f === 4 ? container(name).ipv4(r.networkOf(name)) : container(name).ipv6(r.networkOf(name)));
  const gateway = (network: string, f: Family = 4) => {
    const subnets = r.subnets?.[network];
    if (!subnets) throw new Error(`no subnets given for network ${network}`);
    return gatewayOf(subnets, f);
  };
  const peer = (kind: Zone) => r.bed().topology[kind];
  const peerAddr = (kind: Zone, f: Family) => (f === 4 ? peer(kind).ipv4 : peer(kind).ipv6);
  const hostAddr = (kind: Zone, f: Family) => (f === 4 ? peer(kind).hostIpv4 : peer(kind).hostIpv6);
  const dropped = { reason: 'timeout', timeoutS: 1 } as const;
  return {
    src,
    addr,
    gateway,
    cc: (from, to, port, state, f = 4) => ({
      name: `v${f} ${from} -> ${to}:${port}`,
      from: src(from),
      to: addr(to, f),
      port,
      state,
      ...(state === 'open' ? { seen: addr(from, f) } : {}),
    }),
    toPeer: (from, kind, port, state, { f = 4, seen = hostAddr(kind, f) } = {}) => ({
      name: `v${f} ${from} -> ${kind}:${port}`,
      from: src(from),
      to: peerAddr(kind, f),
      port,
      state,
      ...(state === 'open' ? { seen } : {}),
    }),
    fromPeer: (kind, to, port, state, f = 4) => ({
      name: `v${f} ${kind} -> ${to}:${port}`,
      from: netnsSource(peer(kind).netns, kind),
      to: addr(to, f),
      port,
      state,
      ...(state === 'open' ? { seen: peerAddr(kind, f) } : dropped),
    }),
    toHost: (from, via, port, state, { f = 4, seen } = {}) => ({
      name: `v${f} ${from} -> host (${via === 'gateway' ? via : `${via} uplink`}):${port}`,
      from: src(from),
      to: via === 'gateway' ? gateway(r.networkOf(from), f) : hostAddr(via, f),
      port,
      state,
      ...(state === 'open' ? { seen } : {}),
    }),
    peerToHost: (kind, port, state, { f = 4, seen, reason } = {}) => ({
      name: `v${f} ${kind} -> host:${port}`,
      from: netnsSource(peer(kind).netns, kind),
      to: hostAddr(kind, f),
      port,
      state,
      ...(state === 'open' ? { seen } : reason === undefined || reason === 'timeout' ? dropped : { reason }),
    }),
    hostTo: (to, port, state, f = 4) => ({
      name: `v${f} host -> ${to}:${port}`,
      from: netnsSource(r.bed().topology.host, 'host'),
      to: addr(to, f),
      port,
      state,
      ...(state === 'open' ? { seen: gateway(r.networkOf(to), f) } : {}),
    }),
  };
}
