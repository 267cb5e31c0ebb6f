// Network options meeting labels (docs/policy.md#network-options), by real connections: an
// ICC-off network (Docker option or moat.icc=false) with a label exception;
// moat.egress=none on a container and on a network, with a world:PORT
// exception; a routed (no-NAT) network, where the world peer sees the
// container's real address; and an internal network, where labels asking for
// world, lan or the host are reported and not honoured. Every cell is probed
// open before moatd runs, so each "closed" below is moat's doing.
//
// The host has more bridges than moat lists flat (src/core/dispatch.ts): the
// networks under test are named br-mq<n> and sit two dispatch chains deep,
// beside empty filler networks, so every verdict here crosses the tree (and
// masquerade is found by source subnet in a tree as well).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allOpen, flowCases, startFlowsMoatd } from './flows-cases.js';
import { createBed, type Bed } from './testbed/bed.js';
import { check, type Case } from './testbed/check.js';
import { addDefaultRoute } from './testbed/container-route.js';
import type { Moatd } from './testbed/moatd.js';
import type { ServerContainer } from './testbed/server-container.js';

const HOST_PORT = 9000;
const NETS = {
  icc0: { subnets: ['172.31.10.0/24', 'fd00:31:10::/64'], options: { 'com.docker.network.bridge.enable_icc': 'false' } },
  icc1: { subnets: ['172.31.11.0/24', 'fd00:31:11::/64'], labels: { 'moat.icc': 'false' } },
  plain: { subnets: ['172.31.12.0/24', 'fd00:31:12::/64'] },
  closed: { subnets: ['172.31.13.0/24', 'fd00:31:13::/64'], labels: { 'moat.egress': 'none' } },
  routed: { subnets: ['172.31.14.0/24', 'fd00:31:14::/64'], options: { 'com.docker.network.bridge.enable_ip_masquerade': 'false' } },
  routed2: { subnets: ['172.31.15.0/24', 'fd00:31:15::/64'], labels: { 'moat.nat': 'false' } },
  vault: { subnets: ['172.31.16.0/24', 'fd00:31:16::/64'], internal: true },
  // Docker 28's per-family gateway mode: routed IPv4, masqueraded IPv6 (older engines pass the option through).
  routed4: { subnets: ['172.31.17.0/24', 'fd00:31:17::/64'], options: { 'com.docker.network.bridge.gateway_mode_ipv4': 'routed' } },
} as const;
type Net = keyof typeof NETS;
/** Empty networks that push the bridge count past the flat dispatch list (16). */
const FILLERS = 14;

const CONTAINERS: Record<string, { net: Net; labels?: Record<string, string> }> = {
  q1: { net: 'icc0' },
  q2: { net: 'icc0', labels: { 'moat.ingress': 'q1:80' } },
  q3: { net: 'icc0' },
  r1: { net: 'icc1', labels: { 'moat.egress': 'r2:8080' } },
  r2: { net: 'icc1' },
  r3: { net: 'icc1', labels: { 'moat.egress': 'net:icc1:80' } },
  n1: { net: 'plain', labels: { 'moat.egress': 'none' } },
  n2: { net: 'plain' },
  w1: { net: 'closed', labels: { 'moat.egress': 'world:443' } },
  w2: { net: 'closed' },
  x1: { net: 'routed' },
  x2: { net: 'routed', labels: { 'moat.ingress': 'world:80' } },
  y1: { net: 'routed2' },
  z1: { net: 'routed4' },
  v1: { net: 'vault', labels: { 'moat.egress': `world:80 lan:80 host:${HOST_PORT} 203.0.113.0/24:443` } },
  v2: { net: 'vault', labels: { 'moat.ingress': 'world:80 lan:80 192.168.77.0/24:8080' } },
};

describe('network options and labels together (docs/policy.md#network-options)', () => {
  let bed: Bed;
  let moatd: Moatd;
  const c: Record<string, ServerContainer> = {};

  const { addr, gateway, cc, toPeer, fromPeer, toHost } = flowCases({
    bed: () => bed,
    containers: c,
    networkOf: (name) => CONTAINERS[name]!.net,
    subnets: Object.fromEntries(Object.entries(NETS).map(([name, spec]) => [name, spec.subnets])),
  });

  beforeAll(async () => {
    bed = await createBed({ peerHttpPorts: [80, 443], hostHttpPorts: [HOST_PORT] });
    for (const [i, [name, spec]] of Object.entries(NETS).entries()) {
      const options = { ...('options' in spec ? spec.options : {}), 'com.docker.network.bridge.name': `br-mq${i}` };
      await bed.createNetwork({ name, ...spec, options });
    }
    for (let i = 0; i < FILLERS; i++) await bed.createNetwork({ name: `filler${i}`, subnets: [`172.31.${100 + i}.0/24`] });
    const started = await Promise.all(Object.entries(CONTAINERS).map(([name, spec]) => bed.startServer({ name, networks: [spec.net], labels: spec.labels })));
    for (const s of started) c[s.name] = s;
    // Docker 26+ gives internal networks no default route; 20.10 did. With it, each closed cell below is moat's doing.
    for (const name of ['v1', 'v2']) await addDefaultRoute(bed.engine.docker, c[name]!.id, [gateway('vault'), gateway('vault', 6)]);
  });

  afterAll(async () => {
    await bed?.dispose();
  });

  const iccCases = (): Case[] => [
    // enable_icc=false: only the labelled exception, one way, one port
    cc('q1', 'q2', 80, 'open'),
    cc('q1', 'q2', 8080, 'closed'),
    cc('q3', 'q2', 80, 'closed'),
    cc('q2', 'q1', 80, 'closed'),
    cc('q3', 'q1', 80, 'closed'),
    cc('q1', 'q2', 80, 'open', 6),
    cc('q3', 'q2', 80, 'closed', 6),
    // moat.icc=false: the same through the network label; net:SELF names every member
    cc('r1', 'r2', 8080, 'open'),
    cc('r1', 'r2', 80, 'closed'),
    cc('r2', 'r1', 8080, 'closed'),
    cc('r3', 'r1', 80, 'open'),
    cc('r3', 'r2', 80, 'open'),
    cc('r3', 'r2', 8080, 'closed'),
    cc('r2', 'r3', 80, 'closed'),
    cc('r1', 'r2', 8080, 'open', 6),
    cc('r1', 'r2', 80, 'closed', 6),
  ];

  const egressCases = (): Case[] => [
    // container moat.egress=none: world closes, the same network stays open
    toPeer('n1', 'world', 80, 'closed'),
    toPeer('n1', 'world', 80, 'closed', { f: 6 }),
    cc('n1', 'n2', 80, 'open'),
    toPeer('n2', 'world', 80, 'open'),
    // network moat.egress=none with a container world:443 exception
    toPeer('w1', 'world', 443, 'open'),
    toPeer('w1', 'world', 443, 'open', { f: 6 }),
    toPeer('w1', 'world', 80, 'closed'),
    toPeer('w1', 'lan', 443, 'closed'),
    toPeer('w2', 'world', 443, 'closed'),
    toPeer('w2', 'world', 443, 'closed', { f: 6 }),
    cc('w2', 'w1', 80, 'open'),
  ];

  const routedCases = (): Case[] => [
    // no masquerade: the world peer sees the container's own address
    toPeer('x1', 'world', 80, 'open', { seen: addr('x1') }),
    toPeer('x1', 'world', 80, 'open', { f: 6, seen: addr('x1', 6) }),
    toPeer('y1', 'world', 80, 'open', { seen: addr('y1') }),
    toPeer('y1', 'world', 80, 'open', { f: 6, seen: addr('y1', 6) }),
    // gateway_mode_ipv4=routed: IPv4 leaves with its own address, IPv6 is still masqueraded
    toPeer('z1', 'world', 80, 'open', { seen: addr('z1') }),
    toPeer('z1', 'world', 80, 'open', { f: 6 }),
    // routed does not mean reachable: only a label opens the way in
    fromPeer('world', 'x1', 80, 'closed'),
    fromPeer('world', 'x1', 80, 'closed', 6),
    fromPeer('world', 'x2', 80, 'open'),
    fromPeer('world', 'x2', 80, 'open', 6),
    fromPeer('world', 'x2', 8080, 'closed'),
    fromPeer('lan', 'x2', 80, 'closed'),
    fromPeer('world', 'y1', 80, 'closed'),
  ];

  const internalCases = (): Case[] => [
    cc('v1', 'v2', 80, 'open'),
    toPeer('v1', 'world', 80, 'closed'),
    toPeer('v1', 'world', 443, 'closed'),
    toPeer('v1', 'world', 80, 'closed', { f: 6 }),
    toPeer('v1', 'lan', 80, 'closed'),
    toHost('v1', 'gateway', HOST_PORT, 'closed'),
    toHost('v1', 'world', HOST_PORT, 'closed'),
    toHost('v1', 'gateway', HOST_PORT, 'closed', { f: 6 }),
    fromPeer('world', 'v2', 80, 'closed'),
    fromPeer('world', 'v2', 80, 'closed', 6),
    fromPeer('lan', 'v2', 80, 'closed'),
    fromPeer('lan', 'v2', 8080, 'closed'),
    fromPeer('lan', 'v1', 80, 'closed'), // through its own uplink
  ];

  const everyCell = () => [...iccCases(), ...egressCases(), ...routedCases(), ...internalCases()];

  it('has every probed cell open before moatd runs', async () => {
    // Before moat: Docker with iptables=false masquerades nothing, so the seen address is the container's.
    await check(allOpen(everyCell()));
    moatd = await startFlowsMoatd(bed);
  });

  it('dispatches to the networks under test through the interface tree', async () => {
    const save = await bed.topology.host.run('iptables-save', ['-t', 'filter']);
    expect(save.stdout).toMatch(/^-A MOAT-FORWARD -i br-\+ -m comment --comment "moat:dispatch" -j MOAT-FI-br-$/m);
    expect(save.stdout).toMatch(/^-A MOAT-FI-br- -i br-mq\+ -m comment --comment "moat:dispatch" -j MOAT-FI-br-mq$/m);
    expect(save.stdout).toMatch(/^-A MOAT-FO-br-mq -o br-mq0 /m);
    // 18 masqueraded networks: masquerade is found by source subnet in a tree too.
    const nat = await bed.topology.host.run('iptables-save', ['-t', 'nat']);
    expect(nat.stdout).toMatch(/^-A MOAT-POSTROUTING -s 172\.31\.\S+ -m comment --comment "moat:dispatch" -j MOAT-MQ-\S+$/m);
  });

  it('keeps ICC off (Docker option and moat.icc=false) except for the labelled flows', async () => {
    await check(iccCases());
  });

  it('closes world egress with moat.egress=none on a container or a network, and opens a world:PORT exception', async () => {
    await check(egressCases());
  });

  it('routes a no-NAT network with real addresses, and lets in only what a label grants', async () => {
    await check(routedCases());
  });

  it('never lets an internal network reach world, lan or the host, whatever its labels say', async () => {
    await check(internalCases());
  });

  it('reports the internal network labels it does not honour', () => {
    const ignored = moatd.lines.filter((l) => l.event === 'label_ignored');
    expect(ignored).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ container: 'v1', key: 'moat.egress', value: 'world:80' }),
        expect.objectContaining({ container: 'v1', key: 'moat.egress', value: 'lan:80' }),
        expect.objectContaining({ container: 'v1', key: 'moat.egress', value: `host:${HOST_PORT}` }),
        expect.objectContaining({ container: 'v1', key: 'moat.egress', value: '203.0.113.0/24:443' }),
        expect.objectContaining({ container: 'v2', key: 'moat.ingress', value: 'world:80' }),
        expect.objectContaining({ container: 'v2', key: 'moat.ingress', value: 'lan:80' }),
        expect.objectContaining({ container: 'v2', key: 'moat.ingress', value: '192.168.77.0/24:8080' }),
      ]),
    );
    expect(ignored.every((l) => typeof l.reason === 'string' && /internal/.test(l.reason))).toBe(true);
    // Nothing else is reported: every other label above is valid and honoured.
    expect(moatd.lines.filter((l) => l.event === 'label_invalid')).toEqual([]);
  });
});
