// Published ports of containers on several networks, in dnat mode, go to the
// endpoint Docker uses as the container's gateway (src/core/gateway.ts), so
// the reply leaves by the way the request came: the bed's host namespace runs
// strict reverse-path filtering (rp_filter=1), under which a reply leaving by
// another bridge than the one its request entered is dropped. Proved by real
// connections from the LAN peer and by the conntrack entry of each (the
// address the host DNAT'ed to):
//   - byname: no GwPriority, the gateway is the network whose name sorts first
//     (every engine);
//   - byprio: joined to the later-sorting network with --gw-priority 10, which
//     wins (Docker 28+);
// and (Docker 28+) a port published on a gateway_mode=routed network, which
// has no host port: the container port is reached by direct routing, and
// only that port. Last, with published: labelled, the host IPv6 port of an
// IPv4-only container (Docker's proxy maps it to IPv4; nothing to DNAT to)
// admits only the sources its moat.ingress names.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBed, type Bed } from './testbed/bed.js';
import { check, type Case } from './testbed/check.js';
import { netnsSource } from './testbed/probe.js';
import type { Moatd } from './testbed/moatd.js';
import type { ServerContainer } from './testbed/server-container.js';

const A = ['172.31.70.0/24', 'fd00:31:70::/64'];
const Z = ['172.31.71.0/24', 'fd00:31:71::/64'];
const ROUTED = ['172.31.72.0/24', 'fd00:31:72::/64'];
const P_PRIO = 18090;
const P_NAME = 18091;
const P_ROUTED = 18092;
const P_FOUR = 18093;
const FOUR = ['172.31.73.0/24'];
const MODE = 'com.docker.network.bridge.gateway_mode_ipv';

describe('dnat mode: published ports through the gateway endpoint', () => {
  let bed: Bed;
  let newer = false;
  let moatd: Moatd;
  const c: Record<string, ServerContainer> = {};
  const startMoatd = async (config: string) => {
    const path = await bed.writeFile('config.yaml', `policyDir: ${bed.dir}/policy.d\ncontrol: { socket: ${bed.dir}/moat.sock }\n${config}`);
    moatd = bed.startMoatd({ configPath: path });
    expect(await moatd.waitForEvent((l) => l.event === 'reconcile' && l.ok === true, { timeoutMs: 20_000 })).toMatchObject({ ok: true });
    // On the legacy backend (scripts/with-iptables-legacy.sh) moatd must know it: nft monitor would see nothing.
    if (process.env.MOAT_IPTABLES_BACKEND === 'legacy') expect(await moatd.waitForEvent('drift_watch')).toMatchObject({ mode: 'poll' });
  };

  beforeAll(async () => {
    bed = await createBed();
    newer = Number.parseFloat(bed.engine.choice.version) >= 28;
    // Strict reverse-path filtering: a reply arriving by a bridge its source does not route by is dropped.
    await bed.topology.host.sysctl('net.ipv4.conf.all.rp_filter', 1);
    await bed.topology.host.sysctl('net.ipv4.conf.default.rp_filter', 1);
    await bed.createNetwork({ name: 'gw-a', subnets: A });
    await bed.createNetwork({ name: 'gw-z', subnets: Z });
    await bed.createNetwork({ name: 'gw-four', subnets: FOUR });
    if (newer) await bed.createNetwork({ name: 'gw-routed', subnets: ROUTED, options: { [`${MODE}4`]: 'routed', [`${MODE}6`]: 'routed' } });
    const started = await Promise.all([
      bed.startServer({ name: 'byname', networks: ['gw-z', 'gw-a'], publish: [{ containerPort: 80, hostPort: P_NAME }] }),
      bed.startServer({ name: 'four', networks: ['gw-four'], publish: [{ containerPort: 80, hostPort: P_FOUR }], labels: { 'moat.ingress': 'lan:80' } }),
      ...(newer
        ? [
            bed.startServer({ name: 'byprio', networks: ['gw-a', 'gw-z'], gwPriority: { 'gw-z': 10 }, publish: [{ containerPort: 80, hostPort: P_PRIO }] }),
            // The host port is ignored by Docker in routed mode; 28.5 lists none.
            bed.startServer({ name: 'routed', networks: ['gw-routed'], publish: [{ containerPort: 80, hostPort: P_ROUTED }] }),
          ]
        : []),
    ]);
    for (const s of started) c[s.name] = s;
    await startMoatd('publishMode: dnat\n');
  });

  afterAll(async () => {
    await bed?.dispose();
  });

  const lanToHost = (port: number, f: 4 | 6): Case => {
    const { lan } = bed.topology;
    return {
      name: `v${f} lan -> host:${port}`,
      from: netnsSource(lan.netns, 'lan'),
      to: f === 4 ? lan.hostIpv4 : lan.hostIpv6,
      port,
      state: 'open',
      seen: f === 4 ? lan.ipv4 : lan.ipv6,
    };
  };
  /** The addresses the host DNAT'ed connections to host port `port` to (conntrack's reply source). */
  const dnatTargets = async (port: number, f: 4 | 6) => {
    const r = await bed.topology.host.run('conntrack', ['-L', '-f', f === 4 ? 'ipv4' : 'ipv6', '-p', 'tcp', '--orig-port-dst', String(port)], { check: false });
    return [...new Set([...r.stdout.matchAll(/dport=\d+ +src=(\S+)/g)].map((m) => m[1]))];
  };

  it('reaches the gateway endpoint by name order, and the reply comes back (rp_filter strict)', async () => {
    await check([lanToHost(P_NAME, 4), lanToHost(P_NAME, 6)]);
    // gw-a sorts first: the gateway, though the container was created on gw-z.
    expect(await dnatTargets(P_NAME, 4)).toEqual([c.byname!.ipv4('gw-a')]);
    expect(await dnatTargets(P_NAME, 6)).toEqual([c.byname!.ipv6('gw-a')]);
  });

  it('reaches the endpoint with the highest GwPriority (28+), and the reply comes back', async (ctx) => {
    if (!newer) return ctx.skip();
    await check([lanToHost(P_PRIO, 4), lanToHost(P_PRIO, 6)]);
    expect(await dnatTargets(P_PRIO, 4)).toEqual([c.byprio!.ipv4('gw-z')]);
    expect(await dnatTargets(P_PRIO, 6)).toEqual([c.byprio!.ipv6('gw-z')]);
  });

  it('routed mode (28+): the published container port by direct routing, nothing else, no host port', async (ctx) => {
    if (!newer) return ctx.skip();
    const { world } = bed.topology;
    const from = netnsSource(world.netns, 'world');
    const r = c.routed!;
    await check([
      { name: 'v4 world -> routed:80', from, to: r.ipv4('gw-routed'), port: 80, state: 'open', seen: world.ipv4 },
      { name: 'v6 world -> routed:80', from, to: r.ipv6('gw-routed'), port: 80, state: 'open', seen: world.ipv6 },
      { name: 'v4 world -> routed:8080', from, to: r.ipv4('gw-routed'), port: 8080, state: 'closed', reason: 'timeout', timeoutS: 1 },
      { name: 'v6 world -> routed:8080', from, to: r.ipv6('gw-routed'), port: 8080, state: 'closed', reason: 'timeout', timeoutS: 1 },
      { name: `v4 world -> host:${P_ROUTED}`, from, to: world.hostIpv4, port: P_ROUTED, state: 'closed', reason: 'refused' },
    ]);
  });

  it("published: labelled, an IPv4-only container: its host IPv6 port (proxied, not DNAT'ed) admits only moat.ingress sources", async () => {
    await moatd.stop();
    await startMoatd('publishMode: dnat\npublished: labelled\n');
    const { lan, world } = bed.topology;
    const to = (p: typeof lan, f: 4 | 6) => (f === 4 ? p.hostIpv4 : p.hostIpv6);
    await check([
      { name: 'v4 lan -> host:four', from: netnsSource(lan.netns, 'lan'), to: to(lan, 4), port: P_FOUR, state: 'open', seen: lan.ipv4 },
      // Docker's proxy connects from the bridge's gateway address: the client address is lost, as in proxy mode.
      { name: 'v6 lan -> host:four', from: netnsSource(lan.netns, 'lan'), to: to(lan, 6), port: P_FOUR, state: 'open', seen: '172.31.73.1' },
      {
        name: 'v4 world -> host:four',
        from: netnsSource(world.netns, 'world'),
        to: to(world, 4),
        port: P_FOUR,
        state: 'closed',
        reason: 'timeout',
        timeoutS: 1,
      },
      {
        name: 'v6 world -> host:four',
        from: netnsSource(world.netns, 'world'),
        to: to(world, 6),
        port: P_FOUR,
        state: 'closed',
        reason: 'timeout',
        timeoutS: 1,
      },
    ]);
  });
});
