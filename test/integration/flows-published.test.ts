// SPEC §4, published ports, by real connections, in three configurations on
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
import { createBed, type Bed } from './testbed/bed.js';
import { check, type Case } from './testbed/check.js';
import type { Moatd } from './testbed/moatd.js';
import { containerSource, netnsSource, type ProbeSource } from './testbed/probe.js';
import type { ServerContainer } from './testbed/server-container.js';

const WEB = ['172.31.20.0/24', 'fd00:31:20::/64'];
const OTHER = ['172.31.21.0/24', 'fd00:31:21::/64'];
const WEB_GW = { 4: '172.31.20.1', 6: 'fd00:31:20::1' } as const;
const OTHER_GW = { 4: '172.31.21.1', 6: 'fd00:31:21::1' } as const;
/** host port -> the container behind it. */
const P1 = 18080; // p1:80, moat.ingress lan:80
const P2 = 18081; // p2:8080, moat.ingress world CIDRs (v4 and v6) for 8080
const P3 = 18082; // p3:80, no labels
const P4 = 18083; // p4:80, moat.ingress world:8080 (names another container port)
/** Host ports 19100.. of a filler container: more published ports than moat lists flat (16). */
const FILLER_PORTS = 20;

describe('published ports: labelled, proxy and DNAT (SPEC §4)', () => {
  let bed: Bed;
  let moatd: Moatd | null = null;
  const c: Record<string, ServerContainer> = {};

  const phase = async (config: string) => {
    if (moatd) await moatd.stop();
    const path = await bed.writeFile('config.yaml', `policyDir: ${bed.dir}/policy.d\ncontrol: { socket: ${bed.dir}/moat.sock }\n${config}`);
    moatd = bed.startMoatd({ configPath: path });
    expect(await moatd.waitForEvent('reconcile', { timeoutMs: 20_000 })).toMatchObject({ ok: true });
  };

  beforeAll(async () => {
    bed = await createBed();
    await bed.createNetwork({ name: 'web', subnets: WEB });
    await bed.createNetwork({ name: 'other', subnets: OTHER });
    const started = await Promise.all([
      bed.startServer({ name: 'p1', networks: ['web'], publish: [{ containerPort: 80, hostPort: P1 }], labels: { 'moat.ingress': 'lan:80' } }),
      bed.startServer({ name: 'p2', networks: ['web'], publish: [{ containerPort: 8080, hostPort: P2 }], labels: { 'moat.ingress': '203.0.113.0/24:8080 [2001:db8:77::/64]:8080' } }),
      bed.startServer({ name: 'p3', networks: ['web'], publish: [{ containerPort: 80, hostPort: P3 }] }),
      bed.startServer({ name: 'p4', networks: ['web'], publish: [{ containerPort: 80, hostPort: P4 }], labels: { 'moat.ingress': 'world:8080' } }),
      bed.startServer({ name: 'c-grant', networks: ['other'], labels: { 'moat.egress': 'p1:80' } }),
      bed.startServer({ name: 'c-host', networks: ['other'], labels: { 'moat.egress': `host:${P1}` } }),
      bed.startServer({ name: 'c-none', networks: ['other'] }),
      bed.startServer({ name: 'p-fill', networks: ['other'], publish: Array.from({ length: FILLER_PORTS }, (_, i) => ({ containerPort: 80, hostPort: 19100 + i })) }),
    ]);
    for (const s of started) c[s.name] = s;
  });

  afterAll(async () => {
    await bed?.dispose();
  });

  const src = (name: string): ProbeSource => containerSource(bed.engine.docker, c[name]!.id, name);
  const own = (name: string, f: 4 | 6 = 4) => (f === 4 ? c[name]!.ipv4('other') : c[name]!.ipv6('other'));
  /** lan/world peer -> the host's address on its own link, at a published port. */
  const peer = (kind: 'lan' | 'world', port: number, state: 'open' | 'closed', seen?: string, f: 4 | 6 = 4): Case => {
    const p = bed.topology[kind];
    return {
      name: `v${f} ${kind} -> host:${port}`,
      from: netnsSource(p.netns, kind),
      to: f === 4 ? p.hostIpv4 : p.hostIpv6,
      port,
      state,
      ...(state === 'open' ? { seen } : { reason: 'timeout', timeoutS: 1 }),
    };
  };
  /** A container on `other` -> the host (its own gateway, or the world uplink) at a published port. */
  const hairpin = (from: string, port: number, state: 'open' | 'closed', seen?: string, f: 4 | 6 = 4, via: 'gateway' | 'uplink' = 'gateway'): Case => ({
    name: `v${f} ${from} -> host (${via}):${port}`,
    from: src(from),
    to: via === 'gateway' ? OTHER_GW[f] : f === 4 ? bed.topology.world.hostIpv4 : bed.topology.world.hostIpv6,
    port,
    state,
    ...(state === 'open' ? { seen } : {}),
  });
  /** A denied hairpin in dnat mode: not DNAT'ed, so the host rejects it at once (denyAction: reject). */
  const dnatDenied = (x: Case): Case => ({ ...x, reason: 'refused' });

  const proxyLabelled = (): Case[] => [
      peer('lan', P1, 'open', WEB_GW[4]),
      peer('lan', P1, 'open', WEB_GW[6], 6),
      peer('world', P1, 'closed'),
      peer('world', P1, 'closed', undefined, 6),
      peer('world', P2, 'open', WEB_GW[4]),
      peer('world', P2, 'open', WEB_GW[6], 6),
      peer('lan', P2, 'closed'),
      peer('world', P3, 'closed'),
      peer('lan', P3, 'closed'),
      peer('world', P4, 'closed'),
      // containers reach a published port through the host only with a host grant
      hairpin('c-host', P1, 'open', WEB_GW[4]),
      hairpin('c-none', P1, 'closed'),
      hairpin('c-grant', P3, 'closed'),
      // the host itself (loopback) is never filtered
      { name: 'host -> 127.0.0.1:P3', from: netnsSource(bed.topology.host, 'host'), to: '127.0.0.1', port: P3, state: 'open' },
  ];

  const dnatOpen = (): Case[] => {
    const { lan, world } = bed.topology;
    return [
      peer('world', P3, 'open', world.ipv4),
      peer('lan', P3, 'open', lan.ipv4),
      peer('world', P3, 'open', world.ipv6, 6),
      peer('lan', P3, 'open', lan.ipv6, 6),
      peer('world', P1, 'open', world.ipv4),
      // DNAT opens the published path, not the container's address
      { name: 'v4 world -> p3 direct:80', from: netnsSource(world.netns, 'world'), to: c.p3!.ipv4('web'), port: 80, state: 'closed', reason: 'timeout', timeoutS: 1 },
      { name: 'v4 world -> p3 direct:8080', from: netnsSource(world.netns, 'world'), to: c.p3!.ipv4('web'), port: 8080, state: 'closed', reason: 'timeout', timeoutS: 1 },
      // hairpin from another network: the granted container arrives as itself
      hairpin('c-grant', P1, 'open', own('c-grant')),
      hairpin('c-grant', P1, 'open', own('c-grant'), 4, 'uplink'),
      hairpin('c-grant', P1, 'open', own('c-grant', 6), 6),
      dnatDenied(hairpin('c-grant', P3, 'closed')),
      dnatDenied(hairpin('c-none', P1, 'closed')),
      dnatDenied(hairpin('c-none', P1, 'closed', undefined, 6)),
      { name: 'host -> world uplink:P3', from: netnsSource(bed.topology.host, 'host'), to: world.hostIpv4, port: P3, state: 'open' },
    ];
  };

  const dnatLabelled = (): Case[] => {
    const { lan, world } = bed.topology;
    return [
      peer('lan', P1, 'open', lan.ipv4),
      peer('lan', P1, 'open', lan.ipv6, 6),
      peer('world', P1, 'closed'),
      peer('world', P2, 'open', world.ipv4),
      peer('world', P2, 'open', world.ipv6, 6),
      peer('lan', P2, 'closed'),
      peer('world', P3, 'closed'),
      peer('lan', P3, 'closed'),
      peer('world', P3, 'closed', undefined, 6),
      peer('world', P4, 'closed'),
      hairpin('c-grant', P1, 'open', own('c-grant')),
      dnatDenied(hairpin('c-none', P1, 'closed')),
    ];
  };

  it('has every probed cell open before moatd runs', async () => {
    const all = [...proxyLabelled(), ...dnatOpen(), ...dnatLabelled()].filter((x) => !x.name.includes('direct'));
    await check(all.map((x) => ({ ...x, state: 'open', seen: undefined, reason: null })));
  });

  it('A. published: labelled (proxy): only the moat.ingress sources for that container port get in', async () => {
    await phase('published: labelled\n');
    await check(proxyLabelled());
    const save = await bed.topology.host.run('iptables-save', ['-t', 'filter']);
    expect(save.stdout).toMatch(new RegExp(`^-A MOAT-INPUT -p tcp -m tcp --dport ${P1}:${P2} -m comment --comment "moat:dispatch" -j MOAT-PI-tcp-${P1}-${P2}$`, 'm'));
  });

  it('B. publishMode: dnat: the container sees the real client, also on IPv6 and through a hairpin', async () => {
    await phase('publishMode: dnat\n');
    await check(dnatOpen());
    const save = await bed.topology.host.run('iptables-save', ['-t', 'nat']);
    expect(save.stdout).toMatch(new RegExp(`^-A MOAT-DNAT -p tcp -m tcp --dport ${P3}:${P4} -m comment --comment "moat:dispatch" -j MOAT-PD-tcp-${P3}-${P4}$`, 'm'));
  });

  // Regression: a `host:PORT` grant reached a published port in proxy mode but
  // not in dnat mode (DNAT'ed before INPUT, then denied in MOAT-OUT-<net>).
  // Containers are now DNAT'ed only with a grant to the target; the others
  // reach the host, where the host:PORT grant and the userland proxy apply.
  it('B. publishMode: dnat honours a host:PORT grant for a published port, as proxy mode does', async () => {
    await check([hairpin('c-host', P1, 'open')]);
  });

  // Regression: a container denied a DNATed published port waited for a
  // timeout (the reset left with the post-DNAT source). Ungranted containers
  // are no longer DNAT'ed: the host rejects them from the right address.
  it('B. a denied hairpin to a DNATed port is rejected at once (denyAction: reject)', async () => {
    await check([hairpin('c-none', P1, 'closed'), hairpin('c-none', P1, 'closed', undefined, 6)]);
  });

  it('C. published: labelled + publishMode: dnat', async () => {
    await phase('published: labelled\npublishMode: dnat\n');
    await check(dnatLabelled());
  });
});
