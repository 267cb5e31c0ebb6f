import { describe, expect, it } from 'vitest';
import { dockerLists } from '../../test/fakes/docker-lists.js';
import { ConfigSchema, type Config } from './config.js';
import { Explainer, explain, parseTarget, type Explanation } from './explain.js';
import { fromDocker } from './from-docker.js';
import { buildPolicy } from './policy.js';

const lists = dockerLists(
  {
    front: { subnets: ['172.29.1.0/24', 'fd00:29:1::/64'] },
    back: { subnets: ['172.29.2.0/24'], labels: { 'moat.egress': 'none' } },
    quiet: { subnets: ['172.29.3.0/24'], options: { 'com.docker.network.bridge.enable_icc': 'false' } },
    vault: { subnets: ['172.29.4.0/24'], internal: true },
    mv: { subnets: ['10.77.0.0/24'], driver: 'macvlan' },
  },
  {
    proxy: { nets: { front: '172.29.1.2,fd00:29:1::2' }, labels: { 'moat.egress': 'app:80' }, ports: [{ containerPort: 80, hostPort: 18080 }] },
    web: { nets: { front: '172.29.1.3' }, labels: { 'moat.egress': 'none' } },
    app: {
      nets: { back: '172.29.2.2' },
      labels: { 'moat.egress': 'world:80 lan:8080 host:9000', 'com.docker.compose.project': 'shop', 'com.docker.compose.service': 'app' },
    },
    db: { nets: { back: '172.29.2.3' }, labels: { 'moat.ingress': 'world:80, 192.168.77.0/24:8080' } },
    q1: { nets: { quiet: '172.29.3.2' } },
    q2: { nets: { quiet: '172.29.3.3' }, labels: { 'moat.ingress': 'q1:80' } },
    v1: { nets: { vault: '172.29.4.2' } },
    both: { nets: { vault: '172.29.4.3', front: '172.29.1.4' } },
    hosty: { mode: 'host', labels: { 'moat.egress': 'world' } },
    mac: { nets: { mv: '10.77.0.5' } },
  },
);

const setup = (over: Partial<Config> = {}) => {
  const config = ConfigSchema.parse(over);
  const policy = buildPolicy(fromDocker(lists).result, config);
  return new Explainer(policy, config, { hostAddresses: ['192.168.77.1', '203.0.113.1', '172.29.1.1'] });
};

const ask = (x: Explainer, src: string, dst: string): Explanation => {
  const t = parseTarget(dst);
  if ('error' in t) throw new Error(t.error);
  const r = x.explain(src, t.ref, t.port, t.proto);
  if (!r.ok) throw new Error(r.error);
  return r.explanation;
};

describe('parseTarget', () => {
  it('reads REF[:PORT[/PROTO]] in the label grammar', () => {
    expect(parseTarget('app:80')).toEqual({ ref: 'app', port: 80, proto: 'tcp' });
    expect(parseTarget('shop/app:53/udp')).toEqual({ ref: 'shop/app', port: 53, proto: 'udp' });
    expect(parseTarget('[fd00::2]:443')).toEqual({ ref: 'fd00::2', port: 443, proto: 'tcp' });
    expect(parseTarget('world')).toEqual({ ref: 'world', port: null, proto: null });
    expect(parseTarget('10.0.0.1/icmp')).toEqual({ ref: '10.0.0.1', port: null, proto: 'icmp' });
    expect(parseTarget('10.0.0.0/8')).toHaveProperty('error');
    expect(parseTarget('net:front')).toHaveProperty('error');
    expect(parseTarget('app:80-90')).toHaveProperty('error');
  });
});

describe('explain', () => {
  const x = setup();

  it.each([
    ['proxy', 'web:80', 'allowed', 'moat:icc', 'default'],
    ['proxy', 'app:80', 'allowed', 'moat:label:', 'label'],
    ['proxy', 'app:8080', 'denied', 'moat:default-deny', 'default'],
    ['web', 'proxy:80', 'allowed', 'moat:icc', 'default'],
    ['web', 'world:80', 'denied', 'moat:default-deny', 'label'],
    ['proxy', 'world:443', 'allowed', 'moat:world:', 'config'],
    ['proxy', 'lan:80', 'denied', 'moat:default-deny', 'default'],
    ['proxy', 'host:9000', 'denied', 'moat:host', 'default'],
    ['app', 'world:80', 'allowed', 'moat:label:', 'label'],
    ['app', 'world:443', 'denied', 'moat:default-deny', 'label'],
    ['app', 'lan:8080', 'allowed', 'moat:label:', 'label'],
    ['app', '192.168.77.2:8080', 'allowed', 'moat:label:', 'label'],
    ['app', 'lan:80', 'denied', 'moat:default-deny', 'default'],
    ['app', 'host:9000', 'allowed', 'moat:label:', 'label'],
    ['app', 'host:9001', 'denied', 'moat:host', 'default'],
    ['q1', 'q2:80', 'allowed', 'moat:label:', 'label'],
    ['q1', 'q2:8080', 'denied', 'moat:icc-off', 'option'],
    ['q2', 'q1:80', 'denied', 'moat:icc-off', 'option'],
    ['v1', 'both:80', 'allowed', 'moat:icc', 'default'],
    ['world', 'db:80', 'allowed', 'moat:label:', 'label'],
    ['world', 'db:8080', 'denied', 'moat:inbound', 'default'],
    ['lan', 'db:8080', 'denied', 'moat:inbound', 'default'],
    ['192.168.77.2', 'db:8080', 'allowed', 'moat:label:', 'label'],
    ['world', 'proxy:80', 'denied', 'moat:inbound', 'default'],
    ['world', 'host:18080', 'allowed', 'moat:published:', 'config'],
    ['world', 'host:9000', 'allowed', null, 'unfiltered'],
    ['host', 'app:80', 'allowed', null, 'config'],
    ['lan', 'world:80', 'allowed', null, 'unfiltered'],
  ])('%s -> %s: %s by %s (%s)', (src, dst, verdict, rule, kind) => {
    const e = ask(x, src, dst);
    expect(e.verdict, JSON.stringify(e, null, 1)).toBe(verdict);
    if (rule === null) expect(e.decision.rule).toBeNull();
    else expect(e.decision.rule).toMatch(new RegExp(`^${rule}`));
    expect(e.decision.kind).toBe(kind);
  });

  it('names the label entry and the container it is on', () => {
    const e = ask(x, 'proxy', 'app:80');
    expect(e.decision.reason).toBe('label moat.egress on proxy: app:80');
    expect(e.src).toMatchObject({ kind: 'container', name: 'proxy', network: 'front', address: '172.29.1.2' });
    expect(e.dst).toMatchObject({ kind: 'container', name: 'app', network: 'back', address: '172.29.2.2' });
    expect(e.legs).toHaveLength(1);
    expect(e.legs[0]).toMatchObject({ hook: 'FORWARD', verdict: 'allowed' });
  });

  it('names the option or label behind ICC and egress', () => {
    expect(ask(x, 'q2', 'q1:80').decision.reason).toContain('option com.docker.network.bridge.enable_icc=false');
    expect(ask(x, 'web', 'world:80').decision.reason).toContain('container label moat.egress=none');
    expect(ask(x, 'db', 'world:80').decision.reason).toContain('network label moat.egress=none');
  });

  it('follows a published port through the userland proxy, and says how a denial fails', () => {
    const e = ask(x, 'world', 'host:18080');
    expect(e.legs.map((l) => l.hook)).toEqual(['INPUT', 'OUTPUT']);
    expect(e.notes.join('\n')).toContain('published by proxy');
    expect(ask(x, 'world', 'proxy:80').action).toBe('drop');
    expect(ask(x, 'proxy', 'app:8080').action).toBe('reject');
  });

  it('lists the ports another verdict applies to when no port is given', () => {
    const e = ask(x, 'proxy', 'app');
    expect(e.verdict).toBe('denied');
    expect(e.exceptions).toEqual([expect.objectContaining({ proto: 'tcp', ports: '80', verdict: 'allowed' })]);
    const z = ask(x, 'app', 'lan');
    expect(z.verdict).toBe('denied');
    expect(z.exceptions).toEqual([expect.objectContaining({ proto: 'tcp', ports: '8080', verdict: 'allowed' })]);
    // A CIDR grant covers part of lan: the rest stays denied.
    const part = ask(x, 'lan', 'db:8080');
    expect(part.exceptions).toEqual([
      expect.objectContaining({
        address: '192.168.77.0/24',
        verdict: 'allowed',
        decision: expect.objectContaining({ reason: 'label moat.ingress on db: 192.168.77.0/24:8080' }),
      }),
    ]);
  });

  it('reports routing, internal networks, host mode and unfirewalled drivers', () => {
    expect(ask(x, 'v1', 'world:80')).toMatchObject({ verdict: 'denied', decision: { kind: 'routing' } });
    expect(ask(x, 'v1', 'host:9000')).toMatchObject({ verdict: 'denied', decision: { rule: 'moat:host' } });
    expect(ask(x, 'both', 'world:80')).toMatchObject({ verdict: 'allowed', src: { network: 'front' } });
    const h = ask(x, 'hosty', 'app:80');
    expect(h.verdict).toBe('allowed');
    expect(h.notes.join()).toContain('host network mode');
    expect(ask(x, 'mac', 'world:80')).toMatchObject({ verdict: 'allowed', decision: { kind: 'network' } });
  });

  it('resolves compose services and refuses unknown names', () => {
    expect(ask(x, 'shop/app', 'world:80').src.name).toBe('app');
    expect(x.explain('nope', 'app', null, null)).toEqual({ ok: false, error: expect.stringContaining('no running container') });
  });

  it('explains IPv6 when asked or when an address says so', () => {
    const e = ask(x, 'proxy', '[2001:db8::1]:443');
    expect(e.family).toBe(6);
    expect(e.verdict).toBe('allowed');
  });

  it('follows config: hostToContainers deny, drop, labelled, dnat', () => {
    const y = setup({ hostToContainers: 'deny', denyAction: 'drop', published: 'labelled', publishMode: 'dnat' });
    expect(ask(y, 'host', 'app:80')).toMatchObject({ verdict: 'denied', decision: { rule: 'moat:host-to-containers', kind: 'config' } });
    expect(ask(y, 'proxy', 'app:8080').action).toBe('drop');
    const pub = ask(y, 'world', 'host:18080');
    expect(pub.verdict).toBe('denied');
    expect(pub.legs.map((l) => l.hook)).toEqual(['nat PREROUTING', 'FORWARD']);
    const one = explain(buildPolicy(fromDocker(lists).result, ConfigSchema.parse({})), ConfigSchema.parse({}), 'world', 'app', 80, 'tcp');
    expect(one.ok && one.explanation.verdict).toBe('denied');
  });
});
