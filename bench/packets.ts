// Representative packets for the per-packet cost at one synthetic size. A
// packet that depends on the network it comes from is walked from every
// network and the worst walk is reported: the bridge dispatch is a tree, so
// no single network is the worst case for every packet.
import type { Config } from '../src/core/config.js';
import { fromDocker } from '../src/core/from-docker.js';
import { buildPolicy } from '../src/core/policy.js';
import { buildRuleset } from '../src/core/ruleset.js';
import { walk, type Packet, type Walk } from './packet-walk.js';
import { addressOn, containerSpec, hexId, type DockerLists, type SyntheticSpec } from './synthetic.js';

export type PacketWalks = Record<string, { readonly rules: number; readonly verdict: string; readonly table: string }>;

const WORLD = '203.0.113.2';
const UPLINK = 'world0';
const HOST_ADDR = '203.0.113.1';

export function packetWalks(lists: DockerLists, spec: SyntheticSpec, config: Config): PacketWalks {
  const policy = buildPolicy(fromDocker(lists).result, config);
  const rs = buildRuleset(policy, config, 4);
  const bridge = (i: number) => `br-${hexId(`net-${i}`).slice(0, 12)}`;
  const n = spec.networks;
  const last = n - 1;
  // Container i sits on network i (default world egress), container n+i beside it.
  const x = (i: number) => addressOn(i, 2);
  const peer = (i: number) => addressOn(i, 3);
  const extra = addressOn(last, 250); // extraContainer: moat.egress c00000:80
  const c0 = addressOn(0, 2);
  // The published port that comes last in the rules.
  let lastPublished = 0;
  for (let j = 0; j < spec.containers; j++) lastPublished = containerSpec(j, spec).publish ?? lastPublished;

  type Case = [table: 'filter' | 'nat', builtin: string, p: (i: number) => Packet];
  // Cases that depend on the network are walked from every network: the worst is reported (dispatch
  // order differs per network, so no single network is the worst case for every packet).
  const perNetwork: Record<string, Case> = {
    'container -> world (NEW)': ['filter', 'FORWARD', (i) => ({ in: bridge(i), out: UPLINK, src: x(i), dst: WORLD, proto: 'tcp', dport: 443, state: 'NEW' })],
    'container -> same-network peer (NEW, bridged)': [
      'filter',
      'FORWARD',
      (i) => ({ in: bridge(i), out: bridge(i), src: x(i), dst: peer(i), proto: 'tcp', dport: 80, state: 'NEW' }),
    ],
    'container -> other network, not granted (NEW, denied)': [
      'filter',
      'FORWARD',
      (i) => ({ in: bridge(i), out: bridge((i + 1) % n), src: x(i), dst: x((i + 1) % n), proto: 'tcp', dport: 80, state: 'NEW' }),
    ],
    'any packet of an established flow, outbound': [
      'filter',
      'FORWARD',
      (i) => ({ in: bridge(i), out: UPLINK, src: x(i), dst: WORLD, proto: 'tcp', dport: 443, state: 'ESTABLISHED' }),
    ],
    'reply from world (ESTABLISHED, inbound)': [
      'filter',
      'FORWARD',
      (i) => ({ in: UPLINK, out: bridge(i), src: WORLD, dst: x(i), proto: 'tcp', state: 'ESTABLISHED' }),
    ],
    'container -> host service, not granted (NEW, INPUT)': [
      'filter',
      'INPUT',
      (i) => ({ in: bridge(i), src: x(i), dst: addressOn(i, 1), proto: 'tcp', dport: 22, state: 'NEW', local: true }),
    ],
    'nat: container -> world, first packet (POSTROUTING)': [
      'nat',
      'POSTROUTING',
      (i) => ({ in: bridge(i), out: UPLINK, src: x(i), dst: WORLD, proto: 'tcp', dport: 443, state: 'NEW' }),
    ],
  };
  const once: Record<string, Case> = {
    'granted peer on another network (NEW)': [
      'filter',
      'FORWARD',
      () => ({ in: bridge(last), out: bridge(0), src: extra, dst: c0, proto: 'tcp', dport: 80, state: 'NEW' }),
    ],
    'world -> last published port (NEW, INPUT, userland proxy)': [
      'filter',
      'INPUT',
      () => ({ in: UPLINK, src: WORLD, dst: HOST_ADDR, proto: 'tcp', dport: lastPublished, state: 'NEW', local: true }),
    ],
    'host service on the uplink, not Docker (NEW, INPUT)': [
      'filter',
      'INPUT',
      () => ({ in: UPLINK, src: WORLD, dst: HOST_ADDR, proto: 'tcp', dport: 22, state: 'NEW', local: true }),
    ],
  };
  const out: Record<string, { rules: number; verdict: string; table: string }> = {};
  for (const [name, [table, builtin, packet]] of Object.entries(perNetwork)) {
    let worst: Walk | null = null;
    for (let i = 0; i < n; i++) {
      const w = walk(rs, table, builtin, packet(i));
      if (!worst || w.rules > worst.rules) worst = w;
    }
    out[`worst net: ${name}`] = { rules: worst!.rules, verdict: worst!.verdict, table: `${table} ${builtin}` };
  }
  for (const [name, [table, builtin, packet]] of Object.entries(once)) {
    const w = walk(rs, table, builtin, packet(0));
    out[name] = { rules: w.rules, verdict: w.verdict, table: `${table} ${builtin}` };
  }
  return out;
}
