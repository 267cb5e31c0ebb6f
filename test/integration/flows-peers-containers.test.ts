// Container peers (docs/policy.md#peer-kinds) by real connections: a container name, a compose
// service (resolved in the labelled container's own project first, so two
// projects' `app` never mix), PROJECT/SERVICE and net:NAME, each on the egress
// side (labelled source) and the ingress side (labelled destination), one
// side at a time; port ranges, every port, icmp. The granted port opens, the
// neighbouring port and peer stay closed, the reverse direction stays closed,
// and IPv6 opens exactly what IPv4 opens. Every cell is probed open before
// moatd runs, so each "closed" below is moat's doing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allOpen, BOTH, both, flowCases, startFlowsMoatd, type State } from './flows-cases.js';
import { checkOther, type OtherCase } from './flows-probes.js';
import { createBed, type Bed } from './testbed/bed.js';
import { check, type Case } from './testbed/check.js';
import type { Moatd } from './testbed/moatd.js';
import type { ServerContainer, ServerSpec } from './testbed/server-container.js';

const NETS = {
  pa: ['172.31.1.0/24', 'fd00:31:1::/64'],
  pb: ['172.31.2.0/24', 'fd00:31:2::/64'],
  pc: ['172.31.3.0/24', 'fd00:31:3::/64'],
} as const;
type Net = keyof typeof NETS;
const compose = (project: string, service: string) => ({ 'com.docker.compose.project': project, 'com.docker.compose.service': service });

// name -> network, labels, ports.
const CONTAINERS: Record<string, { net: Net; labels?: Record<string, string>; ports?: number[] }> = {
  // egress side
  'e-name': { net: 'pa', labels: { 'moat.egress': 't-name:80' } },
  'shopa-front-1': { net: 'pa', labels: { ...compose('shopa', 'front'), 'moat.egress': 'app:80' } },
  'shopb-front-1': { net: 'pa', labels: compose('shopb', 'front') },
  'e-ps': { net: 'pa', labels: { 'moat.egress': 'shopb/app:8080' } },
  'e-net': { net: 'pa', labels: { 'moat.egress': 'net:pc:8080' } },
  'e-range': { net: 'pa', labels: { 'moat.egress': 't-range:8080-8081' } },
  'e-all': { net: 'pa', labels: { 'moat.egress': 't-all' } },
  'e-icmp': { net: 'pa', labels: { 'moat.egress': 't-name/icmp' } },
  s1: { net: 'pa' },
  s2: { net: 'pa' },
  't-name': { net: 'pb' },
  'shopa-app-1': { net: 'pb', labels: compose('shopa', 'app') },
  'shopb-app-1': { net: 'pb', labels: compose('shopb', 'app') },
  't-range': { net: 'pb', ports: [80, 8080, 8081, 8082] },
  't-all': { net: 'pb' },
  // ingress side
  'i-name': { net: 'pb', labels: { 'moat.ingress': 's1:80' } },
  'shopa-db-1': { net: 'pb', labels: { ...compose('shopa', 'db'), 'moat.ingress': 'front:80' } },
  'shopb-db-1': { net: 'pb', labels: { ...compose('shopb', 'db'), 'moat.ingress': 'shopa/front:8080' } },
  'i-net': { net: 'pb', labels: { 'moat.ingress': 'net:pc:80' } },
  c1: { net: 'pc' },
};

describe('flows on request: container peers (docs/policy.md#peer-kinds), IPv4 and IPv6', () => {
  let bed: Bed;
  let moatd: Moatd;
  const c: Record<string, ServerContainer> = {};

  const b = flowCases({ bed: () => bed, containers: c, networkOf: (name) => CONTAINERS[name]!.net });
  const { src, addr } = b;
  /** container -> container, both families: the server sees the source's own address. */
  const cc = (from: string, to: string, port: number, state: State): Case[] => both((f) => b.cc(from, to, port, state, f));

  beforeAll(async () => {
    bed = await createBed();
    for (const [name, subnets] of Object.entries(NETS)) await bed.createNetwork({ name, subnets });
    const started = await Promise.all(
      Object.entries(CONTAINERS).map(([name, spec]) =>
        bed.startServer({ name, networks: [spec.net], labels: spec.labels, ports: spec.ports } satisfies ServerSpec),
      ),
    );
    for (const s of started) c[s.name] = s;
  });

  afterAll(async () => {
    await bed?.dispose();
  });

  const containerPeers = (): Case[] => [
    // container name, egress side; one-sided: the reverse stays closed
    ...cc('e-name', 't-name', 80, 'open'),
    ...cc('e-name', 't-name', 8080, 'closed'),
    ...cc('e-name', 'shopa-app-1', 80, 'closed'),
    ...cc('t-name', 'e-name', 80, 'closed'),
    // compose service, resolved in the labelled container's own project first
    ...cc('shopa-front-1', 'shopa-app-1', 80, 'open'),
    ...cc('shopa-front-1', 'shopb-app-1', 80, 'closed'),
    ...cc('shopa-front-1', 'shopa-app-1', 8080, 'closed'),
    ...cc('shopb-front-1', 'shopa-app-1', 80, 'closed'),
    // PROJECT/SERVICE
    ...cc('e-ps', 'shopb-app-1', 8080, 'open'),
    ...cc('e-ps', 'shopa-app-1', 8080, 'closed'),
    ...cc('e-ps', 'shopb-app-1', 80, 'closed'),
    // net:NAME
    ...cc('e-net', 'c1', 8080, 'open'),
    ...cc('e-net', 'c1', 80, 'closed'),
    ...cc('e-net', 't-name', 8080, 'closed'),
    // ingress side: container name, service (own project), PROJECT/SERVICE, net:NAME
    ...cc('s1', 'i-name', 80, 'open'),
    ...cc('s1', 'i-name', 8080, 'closed'),
    ...cc('s2', 'i-name', 80, 'closed'),
    ...cc('i-name', 's1', 80, 'closed'),
    ...cc('shopa-front-1', 'shopa-db-1', 80, 'open'),
    ...cc('shopb-front-1', 'shopa-db-1', 80, 'closed'),
    ...cc('shopa-front-1', 'shopb-db-1', 8080, 'open'),
    ...cc('shopa-front-1', 'shopb-db-1', 80, 'closed'),
    ...cc('shopb-front-1', 'shopb-db-1', 8080, 'closed'),
    ...cc('c1', 'i-net', 80, 'open'),
    ...cc('c1', 'i-net', 8080, 'closed'),
    ...cc('s1', 'i-net', 80, 'closed'),
    // port ranges, every port
    ...cc('e-range', 't-range', 8080, 'open'),
    ...cc('e-range', 't-range', 8081, 'open'),
    ...cc('e-range', 't-range', 80, 'closed'),
    ...cc('e-range', 't-range', 8082, 'closed'),
    ...cc('e-all', 't-all', 80, 'open'),
    ...cc('e-all', 't-all', 8080, 'open'),
    ...cc('e-icmp', 't-name', 80, 'closed'),
  ];

  const icmp = (): OtherCase[] =>
    BOTH.flatMap((f): OtherCase[] => [
      { name: `icmp v${f} e-icmp -> t-name`, proto: 'icmp', from: src('e-icmp'), to: addr('t-name', f), state: 'open' },
      { name: `icmp v${f} e-all -> t-all (no port, no proto)`, proto: 'icmp', from: src('e-all'), to: addr('t-all', f), state: 'open' },
      { name: `icmp v${f} e-icmp -> t-all`, proto: 'icmp', from: src('e-icmp'), to: addr('t-all', f), state: 'closed' },
      { name: `icmp v${f} e-name -> t-name (tcp grant)`, proto: 'icmp', from: src('e-name'), to: addr('t-name', f), state: 'closed' },
    ]);

  it('has every probed cell open before moatd runs (each closed cell below is moat)', async () => {
    await check(allOpen(containerPeers()));
    await checkOther(allOpen(icmp()));
    moatd = await startFlowsMoatd(bed);
  });

  it('grants container peers by name, compose service, PROJECT/SERVICE and net:NAME, on either side alone', async () => {
    await check(containerPeers());
  });

  it('keeps icmp and tcp apart: an icmp grant opens no port, a port grant no ping', async () => {
    await checkOther(icmp());
  });

  it('opens nothing on IPv6 that IPv4 keeps closed for the same labels', async () => {
    // Every case above comes in a v4/v6 pair with the same expectation, which check()
    // has proven; here the pairs are checked to exist, so editing the table cannot lose it.
    const cases = containerPeers();
    const byName = new Map(cases.map((x) => [x.name, x.state]));
    const v6open = cases.filter((x) => x.name.startsWith('v6 ') && x.state === 'open');
    expect(v6open.length).toBeGreaterThan(10);
    for (const x of v6open) expect(byName.get(x.name.replace(/^v6 /, 'v4 ')), x.name).toBe('open');
  });

  it('reported no label problem: every entry above parsed and resolved', () => {
    expect(moatd.lines.filter((l) => String(l.event).startsWith('label_'))).toEqual([]);
  });
});
