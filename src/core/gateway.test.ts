// The gateway endpoint per family, against the default routes real engines
// gave their containers (routes.json beside the recorded scenarios), and the
// published-port rules that follow it. Ports published in routed mode:
// gateway-routed-ports.test.ts; moat explain: gateway-explain.test.ts.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ctrId, dockerLists, netId } from '../../test/fakes/docker-lists.js';
import { lines, rules, withGateways } from '../../test/fakes/gateway-lists.js';
import { DEFAULT_CONFIG } from './config.js';
import { fromDocker, type DockerLists } from './from-docker.js';
import { gatewayEndpoint } from './gateway.js';

const scenarios = join(import.meta.dirname, '../../test/golden/scenarios');
const recorded = readdirSync(scenarios).filter((d) => existsSync(join(scenarios, d, 'routes.json')));

const gatewayNames = (lists: DockerLists) => {
  const snap = fromDocker(lists).result;
  const byId = new Map(snap.networks.map((n) => [n.id, n]));
  return Object.fromEntries(
    snap.containers.map((c) => [
      c.name,
      {
        v4: gatewayEndpoint(c, (id) => byId.get(id), 4)?.net.name ?? null,
        v6: gatewayEndpoint(c, (id) => byId.get(id), 6)?.net.name ?? null,
      },
    ]),
  );
};

describe('gateway endpoint', () => {
  it('has recorded scenarios to check against', () => expect(recorded.length).toBeGreaterThan(0));

  it('reads GwPriority, Gateway and IPv6Gateway only as the list gives them', () => {
    const lists = dockerLists(
      { a: { subnets: ['172.30.1.0/24'] }, b: { subnets: ['172.30.2.0/24'] }, c: { subnets: ['172.30.3.0/24'] } },
      { x: { nets: { a: '172.30.1.2', b: '172.30.2.2', c: '172.30.3.2' } } },
    );
    const eps = (lists.containers[0] as { NetworkSettings: { Networks: Record<string, Record<string, unknown>> } }).NetworkSettings.Networks;
    Object.assign(eps.a!, { GwPriority: 7, Gateway: '172.30.1.1', IPv6Gateway: '' });
    Object.assign(eps.b!, { GwPriority: '9; -j ACCEPT', Gateway: 5 });
    Object.assign(eps.c!, { GwPriority: 1.5 });
    const byNet = Object.fromEntries(fromDocker(lists).result.containers[0]!.endpoints.map((e) => [e.networkId, e]));
    expect(byNet[netId('a')]).toEqual({ networkId: netId('a'), ipv4: '172.30.1.2', ipv6: null, gwPriority: 7, gateway4: true, gateway6: false });
    expect(byNet[netId('b')]).toEqual({ networkId: netId('b'), ipv4: '172.30.2.2', ipv6: null });
    expect(byNet[netId('c')]).toEqual({ networkId: netId('c'), ipv4: '172.30.3.2', ipv6: null });
  });

  it.each(recorded)('is the one the engine routed through, for every container of %s', (name) => {
    const lists = JSON.parse(readFileSync(join(scenarios, name, 'snapshot.json'), 'utf8')) as DockerLists;
    const routes = JSON.parse(readFileSync(join(scenarios, name, 'routes.json'), 'utf8')) as Record<string, { v4: string | null; v6: string | null }>;
    const chosen = gatewayNames(lists);
    for (const [container, route] of Object.entries(routes)) expect({ container, ...chosen[container] }).toEqual({ container, ...route });
  });

  it('28.0+: GwPriority first, then the name; a dual-stack endpoint takes both families past a single-stack one', () => {
    const nets = {
      a: { subnets: ['172.30.1.0/24', 'fd00:30:1::/64'] },
      b: { subnets: ['172.30.2.0/24', 'fd00:30:2::/64'] },
      c4: { subnets: ['172.30.3.0/24'] },
    };
    const base = dockerLists(nets, {
      byname: { nets: { b: '172.30.2.2,fd00:30:2::2', a: '172.30.1.2,fd00:30:1::2' } },
      prio: { nets: { a: '172.30.1.3,fd00:30:1::3', b: '172.30.2.3,fd00:30:2::3' } },
      dual: { nets: { c4: '172.30.3.4', b: '172.30.2.4,fd00:30:2::4' } },
    });
    const dual = { gw4: 'x', gw6: 'x', prio: 0 };
    const lists = withGateways(base, {
      byname: { a: dual, b: dual },
      prio: { a: dual, b: { ...dual, prio: 5 } },
      dual: { c4: { gw4: 'x', prio: 9 }, b: dual },
    });
    expect(gatewayNames(lists)).toEqual({ byname: { v4: 'a', v6: 'a' }, dual: { v4: 'b', v6: 'b' }, prio: { v4: 'b', v6: 'b' } });
  });

  it("before 28.0 (no GwPriority): the first endpoint with an IPv4 gateway serves both families, 20.10's internal gateways last", () => {
    const nets = { front: { subnets: ['172.30.1.0/24'] }, vault: { subnets: ['172.30.2.0/24', 'fd00:30:2::/64'], internal: true } };
    // 20.10 gives internal endpoints a gateway too; they sort after the others.
    const lists = withGateways(dockerLists(nets, { c: { nets: { vault: '172.30.2.2,fd00:30:2::2', front: '172.30.1.2' } } }), {
      c: { front: { gw4: '172.30.1.1' }, vault: { gw4: '172.30.2.1', gw6: 'fd00:30:2::1' } },
    });
    expect(gatewayNames(lists)).toEqual({ c: { v4: 'front', v6: null } });
  });

  it('dnat mode: a published port goes to the gateway endpoint only (GwPriority over the name), and is accepted on its network', () => {
    const nets = { aaa: { subnets: ['172.30.1.0/24'] }, zzz: { subnets: ['172.30.2.0/24'] } };
    const base = dockerLists(nets, {
      web: { nets: { aaa: '172.30.1.2', zzz: '172.30.2.2' }, ports: [{ containerPort: 80, hostPort: 8080, hostIp: '0.0.0.0' }] },
    });
    const byName = rules(withGateways(base, { web: { aaa: { gw4: '172.30.1.1', prio: 0 }, zzz: { gw4: '172.30.2.1', prio: 0 } } }));
    expect(lines(byName.v4, '-j DNAT')).toEqual([expect.stringContaining('--to-destination 172.30.1.2:80')]);
    const prio = rules(withGateways(base, { web: { aaa: { gw4: '172.30.1.1', prio: 0 }, zzz: { gw4: '172.30.2.1', prio: 1 } } }));
    expect(lines(prio.v4, '-j DNAT')).toEqual([expect.stringContaining('--to-destination 172.30.2.2:80')]);
    expect(lines(prio.v4, '--ctstate DNAT')).toEqual([expect.stringMatching(new RegExp(`^-A MOAT-IN-${netId('zzz').slice(0, 12)} -d 172.30.2.2/32 `))]);
  });

  it('dnat mode: no DNAT into an internal network, nor where the gateway has no address of the family', () => {
    const nets = { vault: { subnets: ['172.30.2.0/24', 'fd00:30:2::/64'], internal: true }, v4: { subnets: ['172.30.1.0/24'] } };
    const lists = withGateways(
      dockerLists(nets, {
        inner: { nets: { vault: '172.30.2.2,fd00:30:2::2' }, ports: [{ containerPort: 80, hostPort: 8080 }] },
        four: { nets: { v4: '172.30.1.2' }, ports: [{ containerPort: 80, hostPort: 8081 }] },
      }),
      { inner: { vault: { gw4: '172.30.2.1', gw6: 'fd00:30:2::1' } }, four: { v4: { gw4: '172.30.1.1' } } },
    );
    const r = rules(lists);
    expect(lines(r.v4, '-j DNAT')).toEqual([expect.stringContaining('--dport 8081 -m comment --comment "moat:published:' + ctrId('four').slice(0, 12))]);
    expect(lines(r.v6, '-j DNAT')).toEqual([]);
  });
});

describe('dnat mode, a family with nothing to DNAT to', () => {
  // 28.5 lists a `::` entry for an IPv4-only container (its userland proxy maps host IPv6 to the container's IPv4).
  const lists = withGateways(
    dockerLists(
      { v4: { subnets: ['172.30.1.0/24'] } },
      { web: { nets: { v4: '172.30.1.2' }, ports: [{ containerPort: 80, hostPort: 8080 }], labels: { 'moat.ingress': '[2001:db8::/64]:80' } } },
    ),
    { web: { v4: { gw4: '172.30.1.1', prio: 0 } } },
  );

  it('published: labelled still holds on the host port the proxy serves', () => {
    const r = rules(lists, { ...DEFAULT_CONFIG, publishMode: 'dnat', published: 'labelled' });
    expect(lines(r.v6, '-j DNAT')).toEqual([]);
    expect(lines(r.v6, '--dport 8080')).toEqual([
      expect.stringMatching(/-s 2001:db8::\/64 -p tcp -m tcp --dport 8080 .* -j ACCEPT$/),
      expect.stringMatching(/! -i lo -p tcp -m tcp --dport 8080 .*:unlisted" -j DROP$/),
    ]);
  });

  it('published: open leaves it to the proxy, as before', () => {
    expect(lines(rules(lists).v6, '--dport 8080')).toEqual([]);
  });
});
