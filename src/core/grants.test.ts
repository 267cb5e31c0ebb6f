import { describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG } from './config.js';
import type { Container, Network, Snapshot } from './model.js';
import { buildPolicy } from './policy.js';

const id = (n: number) => n.toString(16).padStart(64, '0');
const network = (n: number, name: string, internal = false): Network => ({
  id: id(n),
  name,
  driver: 'bridge',
  bridge: `br-${id(n).slice(0, 12)}`,
  subnets4: [`172.30.${n}.0/24`],
  subnets6: [],
  internal,
  icc: true,
  nat: true,
  options: {},
  labels: {},
});
const container = (n: number, name: string, nets: readonly Network[], labels: Record<string, string> = {}): Container => ({
  id: id(100 + n),
  name,
  project: null,
  service: null,
  labels,
  networkMode: nets[0]?.name ?? 'none',
  ports: [],
  endpoints: nets.map((net) => ({ networkId: net.id, ipv4: `172.30.${Number.parseInt(net.id, 16)}.${n}`, ipv6: null })),
});

describe('resolveGrants: internal networks (docs/policy.md#network-options)', () => {
  const vault = network(1, 'vault', true);
  const edge = network(2, 'edge');
  const labels = { 'moat.egress': 'world:80 lan:53/udp host:9000 10.0.0.5:22 peer:80', 'moat.ingress': 'world:443 [2001:db8::/64]' };

  it('reports each world, lan, host or address entry of a container only on internal networks, and grants none of them', () => {
    const snapshot: Snapshot = { networks: [vault, edge], containers: [container(2, 'v1', [vault], labels), container(3, 'peer', [vault])] };
    const policy = buildPolicy(snapshot, DEFAULT_CONFIG);
    const ignored = policy.problems.filter((p) => p.kind === 'label_ignored');
    expect(ignored.map((p) => `${String(p.key)} ${String(p.value)}`)).toEqual([
      'moat.egress world:80',
      'moat.egress lan:53/udp',
      'moat.egress host:9000',
      'moat.egress 10.0.0.5:22',
      'moat.ingress world:443',
      'moat.ingress [2001:db8::/64]',
    ]);
    expect(ignored[0]).toMatchObject({ container: 'v1', subject: 'container v1', reason: expect.stringContaining('internal network "vault"') });
    // The container peer on the same internal network is a Docker peer: granted, not reported.
    expect(policy.flows.map((f) => f.reason)).toEqual(['label moat.egress on v1: peer:80']);
    expect(policy.problems.filter((p) => p.kind === 'label_invalid')).toEqual([]);
  });

  it('says nothing when another network carries the flow', () => {
    const snapshot: Snapshot = { networks: [vault, edge], containers: [container(2, 'v1', [vault, edge], labels), container(3, 'peer', [vault])] };
    const policy = buildPolicy(snapshot, DEFAULT_CONFIG);
    expect(policy.problems).toEqual([]);
    expect(policy.flows).toHaveLength(7);
  });
});

describe('resolveGrants: addresses inside Docker networks (docs/policy.md#peer-kinds)', () => {
  const a = network(1, 'a');
  const b = network(2, 'b');
  const v6 = { ...network(3, 'v6net'), subnets6: ['fd00:3::/64'] };

  it('reports an address or CIDR wholly inside a Docker subnet, and grants nothing for it', () => {
    const labels = { 'moat.egress': '172.30.2.3:80 172.30.2.0/25 [fd00:3::5]:443', 'moat.ingress': '172.30.1.0/24:22' };
    const snapshot: Snapshot = { networks: [a, b, v6], containers: [container(2, 'src', [a], labels)] };
    const policy = buildPolicy(snapshot, DEFAULT_CONFIG);
    expect(policy.flows).toEqual([]);
    expect(policy.problems.map((p) => `${p.kind} ${String(p.key)} ${String(p.value)}`)).toEqual([
      'label_ignored moat.egress 172.30.2.3:80',
      'label_ignored moat.egress 172.30.2.0/25',
      'label_ignored moat.egress [fd00:3::5]:443',
      'label_ignored moat.ingress 172.30.1.0/24:22',
    ]);
    expect(policy.problems[0]).toMatchObject({ container: 'src', reason: expect.stringContaining('Docker network "b"') });
  });

  it('keeps a range that only overlaps Docker subnets: the Docker part is excluded by the zone chains', () => {
    const snapshot: Snapshot = { networks: [a, b], containers: [container(2, 'src', [a], { 'moat.egress': '172.16.0.0/12:443 10.0.0.5' })] };
    const policy = buildPolicy(snapshot, DEFAULT_CONFIG);
    expect(policy.problems).toEqual([]);
    expect(policy.flows.map((f) => f.to)).toEqual([
      { kind: 'cidr', family: 4, cidr: '172.16.0.0/12' },
      { kind: 'cidr', family: 4, cidr: '10.0.0.5/32' },
    ]);
  });
});
