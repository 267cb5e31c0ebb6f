// Peers outside Docker (docs/policy.md#peer-kinds) by real connections: world, lan, host, IPv4
// addresses and CIDRs, [IPv6] addresses and CIDRs, on the egress side (from a
// network without world egress) and the ingress side (routed, straight to
// the container's address); udp vs tcp vs icmp; `host` ingress under
// hostToContainers: deny. The granted port opens, the neighbouring port and
// peer stay closed, an IPv4 entry opens nothing on IPv6 and the reverse, and
// zone grants open the same on both families. Every cell is probed open
// before moatd runs, so each "closed" below is moat's doing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allOpen, BOTH, flowCases, startFlowsMoatd, type Family, type State, type Zone } from './flows-cases.js';
import { checkOther, startUdpResponder, type OtherCase, type UdpResponder } from './flows-probes.js';
import { createBed, type Bed } from './testbed/bed.js';
import { check, type Case } from './testbed/check.js';
import type { Moatd } from './testbed/moatd.js';
import { netnsSource } from './testbed/probe.js';
import type { ServerContainer, ServerSpec } from './testbed/server-container.js';

const HOST_PORTS = [9000, 9001];
const PEER_PORTS = [80, 8081, 5300];
const UDP_PORT = 5300;

const NETS = {
  pb: ['172.31.2.0/24', 'fd00:31:2::/64'],
  pz: ['172.31.4.0/24', 'fd00:31:4::/64'],
} as const;
type Net = keyof typeof NETS;

// name -> network, labels. Sources on pz have no default world egress.
const CONTAINERS: Record<string, { net: Net; labels?: Record<string, string> }> = {
  // egress side
  'z-ip': { net: 'pz', labels: { 'moat.egress': `192.168.77.2:80 [fd77::2]:8081 192.168.77.2:${UDP_PORT}` } },
  'z-cidr': { net: 'pz', labels: { 'moat.egress': '203.0.113.0/24:8081,[2001:db8:77::/64]:80' } },
  'z-world': { net: 'pz', labels: { 'moat.egress': 'world:80' } },
  'z-lan': { net: 'pz', labels: { 'moat.egress': 'lan:8081 192.168.77.2/icmp [fd77::2]/icmp' } },
  'z-host': { net: 'pz', labels: { 'moat.egress': 'host:9000' } },
  'z-udp': { net: 'pz', labels: { 'moat.egress': `192.168.77.2:${UDP_PORT}/udp` } },
  'z-plain': { net: 'pz' },
  // ingress side
  'i-ip': { net: 'pb', labels: { 'moat.ingress': '192.168.77.2:80 [2001:db8:77::2]:8080' } },
  'i-cidr': { net: 'pb', labels: { 'moat.ingress': '203.0.113.0/24:8080, [fd77::/64]:80' } },
  'i-world': { net: 'pb', labels: { 'moat.ingress': 'world:80 world/icmp' } },
  'i-lan': { net: 'pb', labels: { 'moat.ingress': 'lan:8080' } },
  'i-host': { net: 'pb', labels: { 'moat.ingress': 'host:80' } },
  't-name': { net: 'pb' },
};

describe('flows on request: world, lan, host and address peers (docs/policy.md#peer-kinds), IPv4 and IPv6', () => {
  let bed: Bed;
  let moatd: Moatd;
  let udp: UdpResponder;
  const c: Record<string, ServerContainer> = {};

  const startMoatd = (extra = '') => startFlowsMoatd(bed, `reconcile: { resyncIntervalS: 60 }\n${extra}`);

  beforeAll(async () => {
    bed = await createBed({ peerHttpPorts: PEER_PORTS, hostHttpPorts: HOST_PORTS });
    for (const [name, subnets] of Object.entries(NETS)) {
      await bed.createNetwork({ name, subnets, labels: name === 'pz' ? { 'moat.egress': 'none' } : {} });
    }
    const started = await Promise.all(
      Object.entries(CONTAINERS).map(([name, spec]) => bed.startServer({ name, networks: [spec.net], labels: spec.labels } satisfies ServerSpec)),
    );
    for (const s of started) c[s.name] = s;
    udp = await startUdpResponder(bed.topology.lan.netns, UDP_PORT);
  });

  afterAll(async () => {
    await udp?.stop();
    await bed?.dispose();
  });

  const { src, addr, toPeer, fromPeer, toHost, hostTo } = flowCases({
    bed: () => bed,
    containers: c,
    networkOf: (name) => CONTAINERS[name]!.net,
    subnets: NETS,
  });
  const peerSrc = (kind: Zone) => netnsSource(bed.topology[kind].netns, kind);

  const zoneEgress = (): Case[] => {
    const gw = (f: Family, port: number, state: State, from = 'z-host'): Case => toHost(from, 'gateway', port, state, { f, seen: addr(from, f) });
    return [
      // world
      ...BOTH.map((f) => toPeer('z-world', 'world', 80, 'open', { f })),
      ...BOTH.map((f) => toPeer('z-world', 'world', 8081, 'closed', { f })),
      ...BOTH.map((f) => toPeer('z-world', 'lan', 80, 'closed', { f })),
      toHost('z-world', 'world', 9000, 'closed'),
      // lan
      ...BOTH.map((f) => toPeer('z-lan', 'lan', 8081, 'open', { f })),
      ...BOTH.map((f) => toPeer('z-lan', 'lan', 80, 'closed', { f })),
      ...BOTH.map((f) => toPeer('z-lan', 'world', 8081, 'closed', { f })),
      // host: any of its addresses, only the granted port
      ...BOTH.map((f) => gw(f, 9000, 'open')),
      ...BOTH.map((f) => gw(f, 9001, 'closed')),
      ...BOTH.map((f) => toHost('z-host', 'lan', 9000, 'open', { f, seen: addr('z-host', f) })),
      ...BOTH.map((f) => toPeer('z-host', 'lan', 80, 'closed', { f })),
      // IPv4 and [IPv6] addresses: each family's entry opens only that family
      toPeer('z-ip', 'lan', 80, 'open'),
      toPeer('z-ip', 'lan', 8081, 'closed'),
      toPeer('z-ip', 'lan', 8081, 'open', { f: 6 }),
      toPeer('z-ip', 'lan', 80, 'closed', { f: 6 }),
      toPeer('z-ip', 'world', 80, 'closed'),
      // CIDRs
      toPeer('z-cidr', 'world', 8081, 'open'),
      toPeer('z-cidr', 'world', 80, 'closed'),
      toPeer('z-cidr', 'world', 80, 'open', { f: 6 }),
      toPeer('z-cidr', 'world', 8081, 'closed', { f: 6 }),
      toPeer('z-cidr', 'lan', 8081, 'closed'),
      // the baseline of a network with moat.egress=none
      ...BOTH.map((f) => toPeer('z-plain', 'world', 80, 'closed', { f })),
      ...BOTH.map((f) => toPeer('z-plain', 'lan', 80, 'closed', { f })),
      ...BOTH.map((f) => gw(f, 9000, 'closed', 'z-plain')),
    ];
  };

  const zoneIngress = (): Case[] => [
    ...BOTH.map((f) => fromPeer('world', 'i-world', 80, 'open', f)),
    ...BOTH.map((f) => fromPeer('world', 'i-world', 8080, 'closed', f)),
    ...BOTH.map((f) => fromPeer('lan', 'i-world', 80, 'closed', f)),
    ...BOTH.map((f) => fromPeer('lan', 'i-lan', 8080, 'open', f)),
    ...BOTH.map((f) => fromPeer('lan', 'i-lan', 80, 'closed', f)),
    ...BOTH.map((f) => fromPeer('world', 'i-lan', 8080, 'closed', f)),
    fromPeer('lan', 'i-ip', 80, 'open'),
    fromPeer('world', 'i-ip', 80, 'closed'),
    fromPeer('lan', 'i-ip', 8080, 'closed'),
    fromPeer('world', 'i-ip', 8080, 'open', 6),
    fromPeer('world', 'i-ip', 8080, 'closed'),
    fromPeer('lan', 'i-ip', 80, 'closed', 6),
    fromPeer('world', 'i-cidr', 8080, 'open'),
    fromPeer('world', 'i-cidr', 80, 'closed'),
    fromPeer('lan', 'i-cidr', 8080, 'closed'),
    fromPeer('lan', 'i-cidr', 80, 'open', 6),
    fromPeer('world', 'i-cidr', 80, 'closed', 6),
    fromPeer('lan', 'i-cidr', 80, 'closed'),
    // an unlabelled container stays unreachable from outside
    ...BOTH.map((f) => fromPeer('world', 't-name', 80, 'closed', f)),
  ];

  const otherProtos = (): OtherCase[] => {
    const lan4 = bed.topology.lan.ipv4;
    const lan6 = bed.topology.lan.ipv6;
    return [
      { name: 'udp z-udp -> lan', proto: 'udp', from: src('z-udp'), to: lan4, port: UDP_PORT, state: 'open', seen: bed.topology.lan.hostIpv4 },
      { name: 'udp z-udp -> lan v6 (v4 grant only)', proto: 'udp', from: src('z-udp'), to: lan6, port: UDP_PORT, state: 'closed' },
      { name: 'udp z-ip -> lan (tcp grant)', proto: 'udp', from: src('z-ip'), to: lan4, port: UDP_PORT, state: 'closed' },
      { name: 'udp z-plain -> lan', proto: 'udp', from: src('z-plain'), to: lan4, port: UDP_PORT, state: 'closed' },
      { name: 'icmp z-lan -> lan', proto: 'icmp', from: src('z-lan'), to: lan4, state: 'open' },
      { name: 'icmp z-lan -> lan v6', proto: 'icmp', from: src('z-lan'), to: lan6, state: 'open' },
      { name: 'icmp z-lan -> world', proto: 'icmp', from: src('z-lan'), to: bed.topology.world.ipv4, state: 'closed' },
      { name: 'icmp z-ip -> lan (tcp grants only)', proto: 'icmp', from: src('z-ip'), to: lan4, state: 'closed' },
      { name: 'icmp z-udp -> lan', proto: 'icmp', from: src('z-udp'), to: lan4, state: 'closed' },
      { name: 'icmp z-plain -> lan', proto: 'icmp', from: src('z-plain'), to: lan4, state: 'closed' },
      ...BOTH.flatMap((f): OtherCase[] => [
        { name: `icmp v${f} world -> i-world (ingress world/icmp)`, proto: 'icmp', from: peerSrc('world'), to: addr('i-world', f), state: 'open' },
        { name: `icmp v${f} lan -> i-world`, proto: 'icmp', from: peerSrc('lan'), to: addr('i-world', f), state: 'closed' },
        { name: `icmp v${f} world -> i-lan`, proto: 'icmp', from: peerSrc('world'), to: addr('i-lan', f), state: 'closed' },
      ]),
    ];
  };
  const protoTcp = (): Case[] => [toPeer('z-udp', 'lan', UDP_PORT, 'closed'), toPeer('z-ip', 'lan', UDP_PORT, 'open')];

  const hostIngress = (deny: boolean): Case[] =>
    BOTH.flatMap((f): Case[] => [
      hostTo('i-host', 80, 'open', f),
      hostTo('i-host', 8080, deny ? 'closed' : 'open', f),
      hostTo('t-name', 80, deny ? 'closed' : 'open', f),
    ]);

  it('has every probed cell open before moatd runs (each closed cell below is moat)', async () => {
    await check(allOpen([...zoneEgress(), ...zoneIngress(), ...protoTcp(), ...hostIngress(false)]));
    await checkOther(allOpen(otherProtos()));
    moatd = await startMoatd();
  });

  it('grants world, lan, host, IPv4 and [IPv6] addresses and CIDRs as egress destinations', async () => {
    await check(zoneEgress());
  });

  it('grants world, lan, IPv4 and [IPv6] addresses and CIDRs as ingress sources', async () => {
    await check(zoneIngress());
  });

  it('keeps udp, tcp and icmp apart: a grant for one protocol opens no other', async () => {
    await check(protoTcp());
    await checkOther(otherProtos());
  });

  it('opens nothing on IPv6 that IPv4 keeps closed for the same labels', async () => {
    // Zones are family-less: every zone case above comes in a v4/v6 pair with the same
    // expectation, which check() has proven (address entries are per family by nature,
    // and their cases show each opens only its own family). Here the pairs are checked
    // to exist, so editing the tables cannot lose the property.
    const cases = [...zoneEgress(), ...zoneIngress()].filter((x) => !/z-(ip|cidr)|i-(ip|cidr)/.test(x.name));
    const byName = new Map(cases.map((x) => [x.name, x.state]));
    const v6open = cases.filter((x) => x.name.startsWith('v6 ') && x.state === 'open');
    expect(v6open.length).toBeGreaterThanOrEqual(6);
    for (const x of v6open) expect(byName.get(x.name.replace(/^v6 /, 'v4 ')), x.name).toBe('open');
  });

  it('with hostToContainers: deny, moat.ingress host:PORT opens the host only to that port', async () => {
    await check(hostIngress(false));
    await moatd.stop();
    moatd = await startMoatd('hostToContainers: deny\n');
    await check(hostIngress(true));
  });

  it('reported no label problem: every entry above parsed and resolved', () => {
    expect(moatd.lines.filter((l) => String(l.event).startsWith('label_'))).toEqual([]);
  });
});
