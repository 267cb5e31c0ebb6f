// Published ports (docs/policy.md#published-ports), by real connections, in three configurations on
// one bed (moatd restarted between them):
//   A. published: labelled, publishMode: proxy — only the sources named in the
//      container's moat.ingress for that container port reach the host port;
//      Docker's userland proxy connects, so the server sees the bridge gateway.
//   B. publishMode: dnat (published: open) — moat DNATs: the server sees the
//      real client address, over IPv4 and IPv6, and a container on another
//      network with a grant reaches it through the host (hairpin) as itself.
//   C. published: labelled + publishMode: dnat — both at once.
// A filler container publishes 20 more host ports, so the published ports are
// found through port dispatch chains (src/core/dispatch.ts) in every phase.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allOpen, flowCases, startFlowsMoatd } from './flows-cases.js';
import { createBed, type Bed } from './testbed/bed.js';
import { check, type Case } from './testbed/check.js';
import type { Moatd } from './testbed/moatd.js';
import { netnsSource } from './testbed/probe.js';
import type { ServerContainer } from './testbed/server-container.js';

const WEB = ['172.31.20.0/24', 'fd00:31:20::/64'];
const OTHER = ['172.31.21.0/24', 'fd00:31:21::/64'];
const WEB_GW = { 4: '172.31.20.1', 6: 'fd00:31:20::1' } as const;
/** host port -> the container behind it. */
const P1 = 18080; // p1:80, moat.ingress lan:80
const P2 = 18081; // p2:8080, moat.ingress world CIDRs (v4 and v6) for 8080
const P3 = 18082; // p3:80, no labels
const P4 = 18083; // p4:80, moat.ingress world:8080 (names another container port)
/** Host ports 19100.. of a filler container: more published ports than moat lists flat (16). */
const FILLER_PORTS = 20;

describe('published ports: labelled, proxy and DNAT (docs/policy.md#published-ports)', () => {
  let bed: Bed;
  let moatd: Moatd | null = null;
  const c: Record<string, ServerContainer> = {};

  const phase = async (config: string) => {
    if (moatd) await moatd.stop();
    moatd = await startFlowsMoatd(bed, config);
  };

  beforeAll(async () => {
    bed = await createBed();
    await bed.createNetwork({ name: 'web', subnets: WEB });
    await bed.createNetwork({ name: 'other', subnets: OTHER });
    const started = await Promise.all([
      bed.startServer({ name: 'p1', networks: ['web'], publish: [{ containerPort: 80, hostPort: P1 }], labels: { 'moat.ingress': 'lan:80' } }),
      bed.startServer({
        name: 'p2',
        networks: ['web'],
        publish: [{ containerPort: 8080, hostPort: P2 }],
        labels: { 'moat.ingress': '203.0.113.0/24:8080 [2001:db8:77::/64]:8080' },
      }),
      bed.startServer({ name: 'p3', networks: ['web'], publish: [{ containerPort: 80, hostPort: P3 }] }),
      bed.startServer({ name: 'p4', networks: ['web'], publish: [{ containerPort: 80, hostPort: P4 }], labels: { 'moat.ingress': 'world:8080' } }),
      bed.startServer({ name: 'c-grant', networks: ['other'], labels: { 'moat.egress': 'p1:80' } }),
      bed.startServer({ name: 'c-host', networks: ['other'], labels: { 'moat.egress': `host:${P1}` } }),
      bed.startServer({ name: 'c-none', networks: ['other'] }),
      bed.startServer({
        name: 'p-fill',
        networks: ['other'],
        publish: Array.from({ length: FILLER_PORTS }, (_, i) => ({ containerPort: 80, hostPort: 19100 + i })),
      }),
    ]);
    for (const s of started) c[s.name] = s;
  });

  afterAll(async () => {
    await bed?.dispose();
  });

  const { addr, peerToHost, toHost, fromPeer } = flowCases({
    bed: () => bed,
    containers: c,
    networkOf: (name) => (/^p\d$/.test(name) ? 'web' : 'other'),
    subnets: { web: WEB, other: OTHER },
  });
  /** A denied hairpin in dnat mode: not DNAT'ed, so the host rejects it at once (denyAction: reject). */
  const dnatDenied = (x: Case): Case => ({ ...x, reason: 'refused' });

  const proxyLabelled = (): Case[] => [
    peerToHost('lan', P1, 'open', { seen: WEB_GW[4] }),
    peerToHost('lan', P1, 'open', { f: 6, seen: WEB_GW[6] }),
    peerToHost('world', P1, 'closed'),
    peerToHost('world', P1, 'closed', { f: 6 }),
    peerToHost('world', P2, 'open', { seen: WEB_GW[4] }),
    peerToHost('world', P2, 'open', { f: 6, seen: WEB_GW[6] }),
    peerToHost('lan', P2, 'closed'),
    peerToHost('world', P3, 'closed'),
    peerToHost('lan', P3, 'closed'),
    peerToHost('world', P4, 'closed'),
    // containers reach a published port through the host only with a host grant
    toHost('c-host', 'gateway', P1, 'open', { seen: WEB_GW[4] }),
    toHost('c-none', 'gateway', P1, 'closed'),
    toHost('c-grant', 'gateway', P3, 'closed'),
    // the host itself (loopback) is never filtered
    { name: 'host -> 127.0.0.1:P3', from: netnsSource(bed.topology.host, 'host'), to: '127.0.0.1', port: P3, state: 'open' },
  ];

  const dnatOpen = (): Case[] => {
    const { lan, world } = bed.topology;
    return [
      peerToHost('world', P3, 'open', { seen: world.ipv4 }),
      peerToHost('lan', P3, 'open', { seen: lan.ipv4 }),
      peerToHost('world', P3, 'open', { f: 6, seen: world.ipv6 }),
      peerToHost('lan', P3, 'open', { f: 6, seen: lan.ipv6 }),
      peerToHost('world', P1, 'open', { seen: world.ipv4 }),
      // hairpin from another network: the granted container arrives as itself
      toHost('c-grant', 'gateway', P1, 'open', { seen: addr('c-grant') }),
      toHost('c-grant', 'world', P1, 'open', { seen: addr('c-grant') }),
      toHost('c-grant', 'gateway', P1, 'open', { f: 6, seen: addr('c-grant', 6) }),
      dnatDenied(toHost('c-grant', 'gateway', P3, 'closed')),
      dnatDenied(toHost('c-none', 'gateway', P1, 'closed')),
      dnatDenied(toHost('c-none', 'gateway', P1, 'closed', { f: 6 })),
      { name: 'host -> world uplink:P3', from: netnsSource(bed.topology.host, 'host'), to: world.hostIpv4, port: P3, state: 'open' },
    ];
  };

  /** DNAT opens the published path, not the container's address. */
  const dnatDirect = (): Case[] => [fromPeer('world', 'p3', 80, 'closed'), fromPeer('world', 'p3', 8080, 'closed')];

  const dnatLabelled = (): Case[] => {
    const { lan, world } = bed.topology;
    return [
      peerToHost('lan', P1, 'open', { seen: lan.ipv4 }),
      peerToHost('lan', P1, 'open', { f: 6, seen: lan.ipv6 }),
      peerToHost('world', P1, 'closed'),
      peerToHost('world', P2, 'open', { seen: world.ipv4 }),
      peerToHost('world', P2, 'open', { f: 6, seen: world.ipv6 }),
      peerToHost('lan', P2, 'closed'),
      peerToHost('world', P3, 'closed'),
      peerToHost('lan', P3, 'closed'),
      peerToHost('world', P3, 'closed', { f: 6 }),
      peerToHost('world', P4, 'closed'),
      toHost('c-grant', 'gateway', P1, 'open', { seen: addr('c-grant') }),
      dnatDenied(toHost('c-none', 'gateway', P1, 'closed')),
    ];
  };

  it('has every probed cell open before moatd runs', async () => {
    await check(allOpen([...proxyLabelled(), ...dnatOpen(), ...dnatLabelled()]));
  });

  it('A. published: labelled (proxy): only the moat.ingress sources for that container port get in', async () => {
    await phase('published: labelled\n');
    await check(proxyLabelled());
    const save = await bed.topology.host.run('iptables-save', ['-t', 'filter']);
    expect(save.stdout).toMatch(
      new RegExp(`^-A MOAT-INPUT -p tcp -m tcp --dport ${P1}:${P2} -m comment --comment "moat:dispatch" -j MOAT-PI-tcp-${P1}-${P2}$`, 'm'),
    );
  });

  it('B. publishMode: dnat: the container sees the real client, also on IPv6 and through a hairpin', async () => {
    await phase('publishMode: dnat\n');
    await check([...dnatOpen(), ...dnatDirect()]);
    const save = await bed.topology.host.run('iptables-save', ['-t', 'nat']);
    expect(save.stdout).toMatch(
      new RegExp(`^-A MOAT-DNAT -p tcp -m tcp --dport ${P3}:${P4} -m comment --comment "moat:dispatch" -j MOAT-PD-tcp-${P3}-${P4}$`, 'm'),
    );
  });

  // Regression: a `host:PORT` grant reached a published port in proxy mode but
  // not in dnat mode (DNAT'ed before INPUT, then denied in MOAT-OUT-<net>).
  // Containers are now DNAT'ed only with a grant to the target; the others
  // reach the host, where the host:PORT grant and the userland proxy apply.
  it('B. publishMode: dnat honours a host:PORT grant for a published port, as proxy mode does', async () => {
    await check([toHost('c-host', 'gateway', P1, 'open')]);
  });

  // Regression: a container denied a DNATed published port waited for a
  // timeout (the reset left with the post-DNAT source). Ungranted containers
  // are no longer DNAT'ed: the host rejects them from the right address.
  it('B. a denied hairpin to a DNATed port is rejected at once (denyAction: reject)', async () => {
    await check([toHost('c-none', 'gateway', P1, 'closed'), toHost('c-none', 'gateway', P1, 'closed', { f: 6 })]);
  });

  it('C. published: labelled + publishMode: dnat', async () => {
    await phase('published: labelled\npublishMode: dnat\n');
    await check(dnatLabelled());
  });
});
