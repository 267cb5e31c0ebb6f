// Address and CIDR entries that cover containers (docs/policy.md#peer-kinds) by real
// connections, IPv4 and IPv6: a static address (`docker run --ip`), a CIDR over a whole
// network, a range over a Docker subnet and the LAN (its LAN part opens the LAN peer as
// before), on the egress side and the ingress side, in a label and in a policy file; a
// range over the entry's own ICC-off network; a container that starts inside a range
// after moatd; containers outside the range stay refused, and an IPv4 range opens no
// IPv6. Every cell is probed open before moatd runs, so each "closed" below is moat's doing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Explanation } from '../../src/core/explain.js';
import { moatJson } from './cli-support.js';
import { allOpen, both, flowCases, startFlowsMoatd, type Family, type State } from './flows-cases.js';
import { createBed, type Bed } from './testbed/bed.js';
import { check, type Case } from './testbed/check.js';
import { readRuleset } from './testbed/iptables.js';
import type { Moatd } from './testbed/moatd.js';
import type { ServerContainer, ServerSpec, StaticAddress } from './testbed/server-container.js';

// `ndock` sits beside the bed's LAN (192.168.77.0/24, fd77::/64): 192.168.76.0/23 and
// fd77::/63 cover both.
const NETS = {
  na: { subnets: ['10.10.101.0/24', 'fd00:101::/64'] },
  nb: { subnets: ['10.10.102.0/24', 'fd00:102::/64'] },
  nq: { subnets: ['10.10.103.0/24', 'fd00:103::/64'], options: { 'com.docker.network.bridge.enable_icc': 'false' } },
  ndock: { subnets: ['192.168.76.0/24', 'fd77:0:0:1::/64'] },
} as const;
type Net = keyof typeof NETS;

const CONTAINERS: Record<string, { net: Net; labels?: Record<string, string>; static?: StaticAddress }> = {
  // na: the targets of the egress entries
  web: { net: 'na', static: { ipv4: '10.10.101.3', ipv6: 'fd00:101::3' }, labels: { 'moat.ingress': '10.10.102.2:80 [fd00:102::2]:80' } },
  api: { net: 'na' },
  // the ingress entries
  'i-net': { net: 'na', labels: { 'moat.ingress': '10.10.102.0/24:80 [fd00:102::/64]:80' } },
  'i-over': { net: 'na', labels: { 'moat.ingress': '192.168.76.0/23:8080 [fd77::/63]:8080' } },
  // nb: the egress entries and the ingress sources
  client: { net: 'nb', static: { ipv4: '10.10.102.2', ipv6: 'fd00:102::2' } },
  stranger: { net: 'nb' },
  'e-static': { net: 'nb', labels: { 'moat.egress': '10.10.101.3:8080 [fd00:101::3]:8080' } },
  'e-net': { net: 'nb', labels: { 'moat.egress': '10.10.101.0/24:8080 [fd00:101::/64]:8080' } },
  'e-v4': { net: 'nb', labels: { 'moat.egress': '10.10.101.0/24:80' } },
  'e-over': { net: 'nb', labels: { 'moat.egress': '192.168.76.0/23:80 [fd77::/63]:80' } },
  'p-net': { net: 'nb' },
  // nq, ICC off: a range over the entry's own network
  q1: { net: 'nq', labels: { 'moat.egress': '10.10.103.0/24:80 [fd00:103::/64]:80' } },
  q2: { net: 'nq' },
  // ndock: inside the overlapping ranges
  d1: { net: 'ndock' },
};
const POLICY = '- select: { container: p-net }\n  egress: ["10.10.101.0/24:8080", "[fd00:101::/64]:8080"]\n';

describe('flows on request: address and CIDR entries that cover containers, IPv4 and IPv6', () => {
  let bed: Bed;
  let moatd: Moatd;
  const c: Record<string, ServerContainer> = {};

  const b = flowCases({ bed: () => bed, containers: c, networkOf: (name) => (name === 'late' ? 'na' : CONTAINERS[name]!.net) });
  const cc = (from: string, to: string, port: number, state: State, families: readonly Family[] = [4, 6]): Case[] =>
    both((f) => b.cc(from, to, port, state, f)).filter((x) => families.some((f) => x.name.startsWith(`v${f} `)));

  beforeAll(async () => {
    bed = await createBed();
    for (const [name, spec] of Object.entries(NETS)) await bed.createNetwork({ name, ...spec });
    await bed.writeFile('policy.d/cidr.yaml', POLICY);
    const start = ([name, spec]: [string, (typeof CONTAINERS)[string]]) =>
      bed.startServer({
        name,
        networks: [spec.net],
        labels: spec.labels,
        ...(spec.static ? { addresses: { [spec.net]: spec.static } } : {}),
      } satisfies ServerSpec);
    // The static addresses first: Docker hands out the low ones to the others.
    const entries = Object.entries(CONTAINERS);
    const started = [...(await Promise.all(entries.filter(([, s]) => s.static).map(start)))];
    started.push(...(await Promise.all(entries.filter(([, s]) => !s.static).map(start))));
    for (const s of started) c[s.name] = s;
  });

  afterAll(async () => {
    await bed?.dispose();
  });

  const cases = (): Case[] => [
    // a static address, ingress side: client by its address; not its neighbour, not another port, not back
    ...cc('client', 'web', 80, 'open'),
    ...cc('client', 'web', 8080, 'closed'),
    ...cc('stranger', 'web', 80, 'closed'),
    ...cc('web', 'client', 80, 'closed'),
    // a static address, egress side: web by its address, not api beside it
    ...cc('e-static', 'web', 8080, 'open'),
    ...cc('e-static', 'web', 80, 'closed'),
    ...cc('e-static', 'api', 8080, 'closed'),
    // a CIDR over a whole network, egress: every container on it, nothing elsewhere
    ...cc('e-net', 'web', 8080, 'open'),
    ...cc('e-net', 'api', 8080, 'open'),
    ...cc('e-net', 'api', 80, 'closed'),
    ...cc('e-net', 'q2', 8080, 'closed'),
    ...cc('e-net', 'd1', 8080, 'closed'),
    ...cc('api', 'e-net', 8080, 'closed'),
    // the same from a policy file
    ...cc('p-net', 'api', 8080, 'open'),
    ...cc('p-net', 'api', 80, 'closed'),
    ...cc('p-net', 'q2', 8080, 'closed'),
    // an IPv4 range opens no IPv6
    ...cc('e-v4', 'api', 80, 'open', [4]),
    ...cc('e-v4', 'api', 80, 'closed', [6]),
    // a CIDR over a whole network, ingress: every container on it may reach i-net, no other
    ...cc('client', 'i-net', 80, 'open'),
    ...cc('stranger', 'i-net', 80, 'open'),
    ...cc('stranger', 'i-net', 8080, 'closed'),
    ...cc('q2', 'i-net', 80, 'closed'),
    ...cc('d1', 'i-net', 80, 'closed'),
    ...cc('i-net', 'stranger', 80, 'closed'),
    // a range over a Docker subnet and the LAN: the container in it, and the LAN peer as before
    ...cc('e-over', 'd1', 80, 'open'),
    ...cc('e-over', 'd1', 8080, 'closed'),
    ...cc('e-over', 'api', 80, 'closed'),
    ...both((f) => b.toPeer('e-over', 'lan', 80, 'open', { f })),
    ...cc('d1', 'i-over', 8080, 'open'),
    ...cc('d1', 'i-over', 80, 'closed'),
    ...cc('client', 'i-over', 8080, 'closed'),
    ...both((f) => b.fromPeer('lan', 'i-over', 8080, 'open', f)),
    ...both((f) => b.fromPeer('world', 'i-over', 8080, 'closed', f)),
    // a range over q1's own ICC-off network: q2 opened by the grant, the rest still ICC's
    ...cc('q1', 'q2', 80, 'open'),
    ...cc('q1', 'q2', 8080, 'closed'),
    ...cc('q2', 'q1', 80, 'closed'),
  ];

  it('has every probed cell open before moatd runs (each closed cell below is moat)', async () => {
    // Before moatd, ICC off is Docker's, not enforced (iptables off): the pairs on nq are open too.
    await check(allOpen(cases()));
    moatd = await startFlowsMoatd(bed);
  });

  it('grants the containers an address or CIDR entry covers, and their addresses only', async () => {
    await check(cases());
  });

  it('names the entry in moat explain', async () => {
    const config = `${bed.dir}/config.yaml`;
    const e = await moatJson<Explanation>(bed, ['explain', 'client', 'web:80', '--config', config]);
    expect(e.exitCode, e.stderr).toBe(0);
    expect(e.json.decision).toMatchObject({ kind: 'label', reason: 'label moat.ingress on web: 10.10.102.2:80' });
    const p = await moatJson<Explanation>(bed, ['explain', 'p-net', 'api:8080', '--config', config]);
    expect(p.json.decision).toMatchObject({ kind: 'policy', reason: expect.stringContaining('cidr.yaml:1: 10.10.101.0/24:8080') });
  });

  it('follows a container that starts inside a range after moatd, and forgets it when it goes', async () => {
    const before = moatd.mark();
    const late = await bed.startServer({ name: 'late', networks: ['na'] });
    c.late = late;
    // Committed at its network connect, before its process started (or at its start).
    await moatd.waitForEvent((l) => l.event === 'reconcile' && l.committed === true && /container\.start|network\.connect/.test(String(l.trigger)), {
      since: before,
      timeoutMs: 20_000,
    });
    await check([...cc('e-net', 'late', 8080, 'open'), ...cc('client', 'late', 8080, 'closed'), ...cc('e-net', 'late', 80, 'closed')]);
    const ip = { 4: late.ipv4('na'), 6: late.ipv6('na') };
    expect((await readRuleset(bed.topology.host, 4)).text).toContain(`-d ${ip[4]}/32 -p tcp -m tcp --dport 8080`);
    const mark = moatd.mark();
    await late.stop();
    await moatd.waitForEvent((l) => l.event === 'reconcile' && l.committed === true, { since: mark, timeoutMs: 20_000 });
    expect((await readRuleset(bed.topology.host, 4)).text).not.toContain(`${ip[4]}/32`);
    expect((await readRuleset(bed.topology.host, 6)).text).not.toContain(`${ip[6]}/128`);
  });

  it('reported no label problem: every entry covers a container', () => {
    expect(moatd.lines.filter((l) => String(l.event).startsWith('label_'))).toEqual([]);
  });
});
