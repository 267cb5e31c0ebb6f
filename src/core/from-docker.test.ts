import { describe, expect, it } from 'vitest';
import { fromDocker } from './from-docker.js';

const id = (c: string) => c.repeat(64);
const net = (over: Record<string, unknown> = {}) => ({
  Id: id('a'),
  Name: 'front',
  Driver: 'bridge',
  Internal: false,
  Options: {},
  Labels: {},
  IPAM: { Config: [{ Subnet: '172.18.0.0/16' }] },
  ...over,
});
const ctr = (over: Record<string, unknown> = {}) => ({
  Id: id('c'),
  Names: ['/web'],
  Labels: { 'com.docker.compose.project': 'shop', 'com.docker.compose.service': 'web' },
  Ports: [
    { IP: '0.0.0.0', PrivatePort: 80, PublicPort: 8080, Type: 'tcp' },
    { PrivatePort: 443, Type: 'tcp' },
  ],
  HostConfig: { NetworkMode: 'front' },
  NetworkSettings: { Networks: { front: { NetworkID: id('a'), IPAddress: '172.18.0.2', GlobalIPv6Address: '' } } },
  ...over,
});

describe('fromDocker', () => {
  it('maps bridge names: option, default bridge, br-<12 of id>', () => {
    const { result } = fromDocker({
      networks: [
        net(),
        net({ Id: id('b'), Name: 'bridge', Options: { 'com.docker.network.bridge.name': 'docker0' } }),
        net({ Id: id('d'), Name: 'custom', Options: { 'com.docker.network.bridge.name': 'edge0' } }),
        net({ Id: id('e'), Name: 'mv', Driver: 'macvlan' }),
      ],
      containers: [],
    });
    expect(Object.fromEntries(result.networks.map((n) => [n.name, n.bridge]))).toEqual({
      bridge: 'docker0',
      custom: 'edge0',
      front: 'br-aaaaaaaaaaaa',
      mv: null,
    });
  });

  it('reads containers: name, compose, published ports only, endpoints', () => {
    const { result, problems } = fromDocker({ networks: [net()], containers: [ctr()] });
    expect(problems).toEqual([]);
    expect(result.containers[0]).toEqual({
      id: id('c'),
      name: 'web',
      project: 'shop',
      service: 'web',
      labels: expect.any(Object),
      networkMode: 'front',
      endpoints: [{ networkId: id('a'), ipv4: '172.18.0.2', ipv6: null }],
      ports: [{ containerPort: 80, proto: 'tcp', hostPort: 8080, hostIp: '0.0.0.0' }],
    });
  });

  it('reads Docker options for ICC and masquerade, and IPv6 subnets canonically', () => {
    const { result } = fromDocker({
      networks: [
        net({
          Options: { 'com.docker.network.bridge.enable_icc': 'false', 'com.docker.network.bridge.enable_ip_masquerade': 'false' },
          IPAM: { Config: [{ Subnet: '172.18.0.0/16' }, { Subnet: 'FD00:0:0:0::/64' }] },
        }),
      ],
      containers: [],
    });
    expect(result.networks[0]).toMatchObject({ icc: false, nat: false, subnets4: ['172.18.0.0/16'], subnets6: ['fd00::/64'] });
  });

  it('skips and reports hostile or broken data instead of rendering it', () => {
    const { result, problems } = fromDocker({
      networks: [
        net({ Id: 'not-an-id' }),
        net({ Id: id('b'), Name: 'evil', Options: { 'com.docker.network.bridge.name': 'br0 -j ACCEPT' } }),
        net({ Id: id('d'), Name: 'badnet', IPAM: { Config: [{ Subnet: '10.0.0.0/99' }, { Subnet: '1.2.3.4/8\n-A FORWARD' }] } }),
        'garbage',
        null,
      ],
      containers: [
        ctr({ Id: '../../etc' }),
        ctr({ Id: id('e'), NetworkSettings: { Networks: { front: { NetworkID: id('a'), IPAddress: '172.18.0.2; rm -rf /', GlobalIPv6Address: 'zz::1' } } } }),
        ctr({
          Id: id('f'),
          Ports: [
            { IP: '0.0.0.0', PrivatePort: 0, PublicPort: 99999, Type: 'tcp' },
            { IP: '0.0.0.0', PrivatePort: 1, PublicPort: 2, Type: 'gre' },
          ],
        }),
        42,
      ],
    });
    expect(result.networks.map((n) => n.name)).toEqual(['badnet', 'evil']);
    expect(result.networks.find((n) => n.name === 'evil')?.bridge).toBeNull();
    expect(result.networks.find((n) => n.name === 'badnet')?.subnets4).toEqual([]);
    expect(result.containers.map((c) => c.id)).toEqual([id('e'), id('f')]);
    expect(result.containers[0]?.endpoints).toEqual([{ networkId: id('a'), ipv4: null, ipv6: null }]);
    expect(result.containers[1]?.ports).toEqual([]);
    expect(problems.map((p) => p.reason)).toEqual([
      'network id is not 64 hex characters',
      expect.stringContaining('is not a valid interface name'),
      expect.stringContaining('is not a CIDR'),
      expect.stringContaining('is not a CIDR'),
      'network id is not 64 hex characters', // 'garbage'
      'network id is not 64 hex characters', // null
      'container id is not 64 hex characters',
      'address on network front is not valid',
      'container id is not 64 hex characters', // 42
    ]);
  });

  it('sorts and dedupes so the ruleset never depends on list order', () => {
    const a = fromDocker({ networks: [net(), net({ Id: id('b'), Name: 'back' })], containers: [ctr(), ctr({ Id: id('d'), Names: ['/app'] }), ctr()] });
    expect(a.result.networks.map((n) => n.name)).toEqual(['back', 'front']);
    expect(a.result.containers.map((c) => c.name)).toEqual(['app', 'web']);
  });
});
