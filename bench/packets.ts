// Representative packets for the per-packet cost at one synthetic size. The
// "last" network is the one MOAT-FORWARD dispatches to last (the worst case:
// dispatch is a linear list of -i/-o bridge rules); the first is the best case.
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
  const last = spec.networks - 1;
  const x = addressOn(last, 2); // container N-1: on the last network, default world egress
  const peer = addressOn(last, 3); // container 2N-1: same network
  const extra = addressOn(last, 250); // extraContainer: moat.egress c00000:80
  const c0 = addressOn(0, 2);
  const other = addressOn(1, 2); // a container on network 1, no grant from x
  const first = addressOn(0, 3);
  // The published port that comes last in MOAT-INPUT.
  let lastPublished = 0;
  for (let j = 0; j < spec.containers; j++) lastPublished = containerSpec(j, spec).publish ?? lastPublished;

  const cases: Record<string, [table: 'filter' | 'nat', builtin: string, p: Packet]> = {
    'last net: container -> world (NEW)': ['filter', 'FORWARD', { in: bridge(last), out: UPLINK, src: x, dst: WORLD, proto: 'tcp', dport: 443, state: 'NEW' }],
    'last net: container -> same-network peer (NEW, bridged)': ['filter', 'FORWARD', { in: bridge(last), out: bridge(last), src: x, dst: peer, proto: 'tcp', dport: 80, state: 'NEW' }],
    'last net: container -> granted peer on another network (NEW)': ['filter', 'FORWARD', { in: bridge(last), out: bridge(0), src: extra, dst: c0, proto: 'tcp', dport: 80, state: 'NEW' }],
    'last net: container -> other network, not granted (NEW, denied)': ['filter', 'FORWARD', { in: bridge(last), out: bridge(1), src: x, dst: other, proto: 'tcp', dport: 80, state: 'NEW' }],
    'last net: any packet of an established flow, outbound': ['filter', 'FORWARD', { in: bridge(last), out: UPLINK, src: x, dst: WORLD, proto: 'tcp', dport: 443, state: 'ESTABLISHED' }],
    'last net: reply from world (ESTABLISHED, inbound)': ['filter', 'FORWARD', { in: UPLINK, out: bridge(last), src: WORLD, dst: x, proto: 'tcp', state: 'ESTABLISHED' }],
    'first net: container -> world (NEW)': ['filter', 'FORWARD', { in: bridge(0), out: UPLINK, src: first, dst: WORLD, proto: 'tcp', dport: 443, state: 'NEW' }],
    'first net: any packet of an established flow, outbound': ['filter', 'FORWARD', { in: bridge(0), out: UPLINK, src: first, dst: WORLD, proto: 'tcp', dport: 443, state: 'ESTABLISHED' }],
    'world -> last published port (NEW, INPUT, userland proxy)': ['filter', 'INPUT', { in: UPLINK, src: WORLD, dst: HOST_ADDR, proto: 'tcp', dport: lastPublished, state: 'NEW', local: true }],
    'host service on the uplink, not Docker (NEW, INPUT)': ['filter', 'INPUT', { in: UPLINK, src: WORLD, dst: HOST_ADDR, proto: 'tcp', dport: 22, state: 'NEW', local: true }],
    'nat: last net container -> world, first packet (POSTROUTING)': ['nat', 'POSTROUTING', { in: bridge(last), out: UPLINK, src: x, dst: WORLD, proto: 'tcp', dport: 443, state: 'NEW' }],
  };
  const out: Record<string, { rules: number; verdict: string; table: string }> = {};
  for (const [name, [table, builtin, packet]] of Object.entries(cases)) {
    const w: Walk = walk(rs, table, builtin, packet);
    out[name] = { rules: w.rules, verdict: w.verdict, table: `${table} ${builtin}` };
  }
  return out;
}
