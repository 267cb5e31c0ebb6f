// `moat explain` against the kernel: on a host with several networks, label
// grants between networks, egress none (network and container), ICC off, an
// internal network, a multi-homed container, a published port and
// world/lan/host grants, every (source, destination, port) triple is asked
// of `moat explain --json` and tried with a real TCP connection. No pair may
// disagree. `moat matrix --json` must say what explain says, and `moat graph`
// must draw every granted flow. The published container also holds 20 filler
// host ports, so published ports are found through port dispatch chains.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Explanation } from '../../src/core/explain.js';
import type { Matrix } from '../../src/core/matrix.js';
import { moat, moatJson, pool } from './cli-support.js';
import { createBed, type Bed } from './testbed/bed.js';
import type { Moatd } from './testbed/moatd.js';
import { containerSource, netnsSource, probe, type ProbeSource } from './testbed/probe.js';
import type { ServerContainer } from './testbed/server-container.js';

const HOST_PORT = 9000;
const PUBLISHED = 18080;
const NETS = {
  'c-front': { subnet: '172.28.1.0/24', subnet6: 'fd00:28:1::/64' },
  'c-back': { subnet: '172.28.2.0/24', subnet6: 'fd00:28:2::/64', labels: { 'moat.egress': 'none' } },
  'c-quiet': { subnet: '172.28.3.0/24', options: { 'com.docker.network.bridge.enable_icc': 'false' } },
  'c-vault': { subnet: '172.28.4.0/24', internal: true },
} as const;
type Net = keyof typeof NETS;
/** More host ports of the published container: more than moat lists flat (16), so explain and the kernel both go through the port dispatch chains. */
const FILLER_PORTS = Array.from({ length: 20 }, (_, i) => 19500 + i);
type Family = 4 | 6;
const gateway = (net: Net, f: Family) => {
  const n = NETS[net];
  return f === 4 ? n.subnet.replace('.0/24', '.1') : 'subnet6' in n ? n.subnet6.replace('::/64', '::1') : '';
};

const CONTAINERS: Record<string, { nets: Net[]; labels?: Record<string, string>; publish?: boolean }> = {
  proxy: { nets: ['c-front'], labels: { 'moat.egress': 'app:80' }, publish: true },
  web: { nets: ['c-front'], labels: { 'moat.egress': 'none' } },
  ops: { nets: ['c-front'], labels: { 'moat.egress': 'net:c-back:8080' } },
  app: { nets: ['c-back'], labels: { 'moat.egress': 'world:80 lan:8080 host:9000' } },
  db: { nets: ['c-back'], labels: { 'moat.ingress': 'world:8080, lan:80' } },
  q1: { nets: ['c-quiet'], labels: { 'moat.egress': 'proxy:80' } },
  q2: { nets: ['c-quiet'], labels: { 'moat.ingress': 'q1:80' } },
  v1: { nets: ['c-vault'] },
  hub: { nets: ['c-front', 'c-vault'] },
};

interface Pair {
  readonly src: string;
  readonly dst: string;
  readonly port: number;
}

describe('moat explain agrees with the kernel on every pair', () => {
  let bed: Bed;
  let moatd: Moatd;
  let config: string;
  const c: Record<string, ServerContainer> = {};

  beforeAll(async () => {
    bed = await createBed({ hostHttpPorts: [HOST_PORT], peerHttpPorts: [80, 8080] });
    for (const [name, n] of Object.entries(NETS)) {
      await bed.createNetwork({
        name,
        subnets: 'subnet6' in n ? [n.subnet, n.subnet6] : [n.subnet],
        internal: 'internal' in n,
        labels: 'labels' in n ? n.labels : {},
        options: 'options' in n ? n.options : {},
      });
    }
    const started = await Promise.all(
      Object.entries(CONTAINERS).map(([name, spec]) =>
        bed.startServer({
          name,
          networks: spec.nets,
          labels: spec.labels,
          publish: spec.publish ? [{ containerPort: 80, hostPort: PUBLISHED }, ...FILLER_PORTS.map((hostPort) => ({ containerPort: 80, hostPort }))] : [],
        }),
      ),
    );
    for (const s of started) c[s.name] = s;
    config = await bed.writeFile('config.yaml', `policyDir: ${bed.dir}/policy.d\ncontrol: { socket: ${bed.dir}/run/moat.sock }\n`);
    moatd = bed.startMoatd({ configPath: config });
    expect(await moatd.waitForEvent('reconcile', { timeoutMs: 20_000 })).toMatchObject({ ok: true, committed: true });
  });

  afterAll(async () => {
    await bed?.dispose();
  });

  const zoneAddr = (zone: 'lan' | 'world', f: Family) => (f === 4 ? bed.topology[zone].ipv4 : bed.topology[zone].ipv6);
  const uplink = (zone: 'lan' | 'world', f: Family) => (f === 4 ? bed.topology[zone].hostIpv4 : bed.topology[zone].hostIpv6);
  const source = (name: string): ProbeSource => {
    if (name === 'host') return netnsSource(bed.topology.host, 'host');
    if (name === 'lan' || name === 'world') return netnsSource(bed.topology[name].netns, name);
    return containerSource(bed.engine.docker, c[name]!.id, name);
  };
  /** Where the probe connects: the address explain routed to, or the zone's peer, or the host address on the source's link. */
  const target = (pair: Pair, e: Explanation, f: Family): string => {
    if (e.dst.kind === 'container') return e.dst.address!;
    if (pair.dst === 'lan' || pair.dst === 'world') return zoneAddr(pair.dst, f);
    // host: the gateway of the source's network, or the host's address on the peer's link
    if (e.src.kind === 'container') return gateway(e.src.network as Net, f);
    if (pair.src === 'lan' || pair.src === 'world') return uplink(pair.src, f);
    throw new Error(`no target for ${JSON.stringify(pair)}`);
  };

  /** Asks explain and the kernel about every pair; returns one row per pair. */
  const verify = async (all: readonly Pair[], f: Family) => {
    const t0 = Date.now();
    // Every pair in one `moat explain --batch - --json` (one Docker listing, one process: the
    // machine may have two CPUs), and a sample through single invocations, which must agree.
    const batch = await moat(
      bed,
      ['explain', '--batch', '-', '--json', '--config', config, ...(f === 6 ? ['-6'] : [])],
      {},
      all.map((p) => `${p.src} ${p.dst}:${p.port}`).join('\n'),
    );
    expect(batch.exitCode, batch.stderr).toBe(0);
    const results = JSON.parse(batch.stdout) as { src: string; dst: string; ok: boolean; explanation: Explanation; error?: string }[];
    expect(results.filter((r) => !r.ok)).toEqual([]);
    const explained = results.map((r) => r.explanation);
    for (const e of explained) expect(e.family).toBe(f);
    const sample = all.map((pair, i) => ({ pair, i })).filter(({ i }) => i % 12 === 0);
    await pool(sample, 4, async ({ pair, i }) => {
      const r = await moatJson<Explanation>(bed, ['explain', pair.src, `${pair.dst}:${pair.port}`, '--config', config, ...(f === 6 ? ['-6'] : [])]);
      expect(r.exitCode, `${pair.src} -> ${pair.dst}:${pair.port}: ${r.stderr}`).toBe(r.json.verdict === 'allowed' ? 0 : 2);
      expect(r.json, `${pair.src} -> ${pair.dst}:${pair.port}`).toEqual(explained[i]);
    });
    const t1 = Date.now();
    const probed = await pool(
      all.map((pair, i) => ({ pair, e: explained[i]! })),
      16,
      async ({ pair, e }) => {
        const to = target(pair, e, f);
        let res = await probe(source(pair.src), to, pair.port, { timeoutS: 2 });
        // A loaded machine can be slow to answer: an open verdict gets a second, longer try.
        if (res.state === 'closed' && e.verdict === 'allowed') res = await probe(source(pair.src), to, pair.port, { timeoutS: 5 });
        return { to, state: res.state };
      },
    );
    console.log(`IPv${f}: ${all.length} pairs explained in ${t1 - t0} ms (batch + ${sample.length} single), probed in ${Date.now() - t1} ms`);
    const rows = all.map((p, i) => {
      const e = explained[i]!;
      const kernel = probed[i]!.state === 'open' ? 'allowed' : 'denied';
      return {
        pair: `${p.src} -> ${p.dst}:${p.port} (${probed[i]!.to})`,
        explain: e.verdict,
        kernel,
        why: `${e.decision.rule ?? e.decision.kind}: ${e.decision.reason}`,
      };
    });
    return { rows, explained };
  };

  const pairs = (containers = Object.keys(CONTAINERS)): Pair[] => {
    const sources = [...containers, 'host', 'lan', 'world'];
    const dests: [string, number][] = [
      ...containers.flatMap((n): [string, number][] => [
        [n, 80],
        [n, 8080],
      ]),
      ['host', HOST_PORT],
      ['host', PUBLISHED],
      ['lan', 80],
      ['lan', 8080],
      ['world', 80],
      ['world', 8080],
    ];
    return sources.flatMap((src) => dests.filter(([dst]) => dst !== src && !(src === 'host' && dst === 'host')).map(([dst, port]) => ({ src, dst, port })));
  };

  it('every verdict of moat explain --json is what a TCP connection does', { timeout: 600_000 }, async () => {
    const { rows, explained } = await verify(pairs(), 4);
    const disagree = rows.filter((r) => r.explain !== r.kernel);
    expect(disagree, `${disagree.length} of ${rows.length} pairs disagree`).toEqual([]);
    // The scenario exercises both verdicts and every kind of reason.
    expect(rows.filter((r) => r.kernel === 'allowed').length).toBeGreaterThan(40);
    expect(rows.filter((r) => r.kernel === 'denied').length).toBeGreaterThan(100);
    const kinds = new Set(explained.map((e) => e.decision.kind));
    for (const k of ['label', 'default', 'option', 'config', 'routing', 'unfiltered']) expect(kinds, k).toContain(k);
    console.log(`consistency: ${rows.length} pairs, ${rows.filter((r) => r.kernel === 'allowed').length} allowed, all agree`);
  });

  it('and over IPv6, on the dual-stack networks', { timeout: 600_000 }, async () => {
    const { rows } = await verify(pairs(['proxy', 'web', 'app', 'db']), 6);
    const disagree = rows.filter((r) => r.explain !== r.kernel);
    expect(disagree, `${disagree.length} of ${rows.length} IPv6 pairs disagree`).toEqual([]);
    expect(rows.filter((r) => r.kernel === 'allowed').length).toBeGreaterThan(15);
    console.log(`consistency v6: ${rows.length} pairs, ${rows.filter((r) => r.kernel === 'allowed').length} allowed, all agree`);
  });

  it('and with publishMode dnat, published labelled, hostToContainers deny, denyAction drop and a policy file', { timeout: 600_000 }, async () => {
    // The policy file grants what labels cannot add to a running container.
    await bed.writeFile('policy.d/pub.yaml', '- select: { container: proxy }\n  ingress: ["world:80"]\n');
    const strict = await bed.writeFile(
      'strict.yaml',
      `policyDir: ${bed.dir}/policy.d\ncontrol: { socket: ${bed.dir}/run/moat.sock }\npublishMode: dnat\npublished: labelled\nhostToContainers: deny\ndenyAction: drop\n`,
    );
    await moatd.stop();
    const saved = config;
    config = strict;
    try {
      moatd = bed.startMoatd({ configPath: strict });
      expect(await moatd.waitForEvent('reconcile', { timeoutMs: 20_000 })).toMatchObject({ ok: true, committed: true });
      const { rows, explained } = await verify(pairs(), 4);
      const disagree = rows.filter((r) => r.explain !== r.kernel);
      expect(disagree, `${disagree.length} of ${rows.length} pairs disagree`).toEqual([]);
      const at = (src: string, dst: string) => explained[rows.findIndex((r) => r.pair.startsWith(`${src} -> ${dst} `))]!;
      expect(at('world', 'host:18080')).toMatchObject({
        verdict: 'allowed',
        decision: { kind: 'policy', reason: expect.stringContaining('policy.d/pub.yaml:1') },
      });
      expect(at('world', 'host:18080').legs.map((l) => l.hook)).toEqual(['nat PREROUTING', 'FORWARD']);
      expect(at('lan', 'host:18080')).toMatchObject({ verdict: 'denied', action: 'drop' });
      // A container granted the published container's port is DNAT'ed to it; others reach the host and are denied.
      expect(at('q1', 'host:18080')).toMatchObject({ verdict: 'allowed', decision: { kind: 'label', reason: 'label moat.egress on q1: proxy:80' } });
      expect(at('q2', 'host:18080')).toMatchObject({ verdict: 'denied', decision: { rule: 'moat:host' } });
      expect(at('host', 'app:80')).toMatchObject({ verdict: 'denied', action: 'drop', decision: { kind: 'config', rule: 'moat:host-to-containers' } });
      console.log(`consistency (strict config): ${rows.length} pairs, ${rows.filter((r) => r.kernel === 'allowed').length} allowed, all agree`);
    } finally {
      await moatd.stop();
      config = saved;
      await bed.writeFile('policy.d/pub.yaml', '');
      moatd = bed.startMoatd({ configPath: config });
      await moatd.waitForEvent('reconcile', { timeoutMs: 20_000 });
    }
  });

  it('explains with the deciding label entry, option and rule id', async () => {
    const { json: grant } = await moatJson<Explanation>(bed, ['explain', 'proxy', 'app:80', '--config', config]);
    expect(grant).toMatchObject({
      family: 4,
      port: 80,
      proto: 'tcp',
      verdict: 'allowed',
      action: null,
      src: { kind: 'container', name: 'proxy', network: 'c-front', address: c.proxy!.ipv4('c-front') },
      dst: { kind: 'container', name: 'app', network: 'c-back', address: c.app!.ipv4('c-back') },
      decision: {
        kind: 'label',
        reason: 'label moat.egress on proxy: app:80',
        rule: expect.stringMatching(/^moat:label:[0-9a-f]{12}:egress:0$/),
        table: 'filter',
        chain: expect.stringMatching(/^MOAT-OUT-[0-9a-f]{12}$/),
      },
      exceptions: [],
    });
    expect(grant.legs).toEqual([
      expect.objectContaining({ hook: 'FORWARD', in: expect.stringMatching(/^br-/), out: expect.stringMatching(/^br-/), verdict: 'allowed' }),
    ]);
    // The rule id is really on a rule in the kernel.
    const save = await bed.topology.host.run('iptables-save', []);
    expect(save.stdout).toContain(`"${grant.decision.rule}"`);

    const { json: icc } = await moatJson<Explanation>(bed, ['explain', 'q2', 'q1:80', '--config', config]);
    expect(icc).toMatchObject({
      verdict: 'denied',
      action: 'reject',
      decision: { kind: 'option', rule: 'moat:icc-off', reason: expect.stringContaining('com.docker.network.bridge.enable_icc=false') },
    });

    const { json: any } = await moatJson<Explanation>(bed, ['explain', 'proxy', 'app', '--config', config]);
    expect(any).toMatchObject({
      verdict: 'denied',
      port: null,
      proto: null,
      exceptions: [expect.objectContaining({ proto: 'tcp', ports: '80', verdict: 'allowed' })],
    });

    const human = await moat(bed, ['explain', 'world', 'db:8080', '--config', config]);
    expect(human.exitCode).toBe(0);
    expect(human.stdout).toMatch(/ALLOWED/);
    expect(human.stdout).toContain('label moat.ingress on db: world:8080');
    const bad = await moat(bed, ['explain', 'nobody', 'db:80', '--config', config]);
    expect(bad.exitCode).toBe(1);
    expect(bad.stderr).toContain('no running container');
  });

  it('moat matrix --json says what explain says, per pair', async () => {
    const { exitCode, json: m } = await moatJson<Matrix>(bed, ['matrix', '--port', '80', '--config', config]);
    expect(exitCode).toBe(0);
    expect(m).toMatchObject({ family: 4, port: 80, proto: 'tcp' });
    expect(m.groups.map((g) => g.name)).toEqual(['c-back', 'c-front', 'c-quiet', 'c-vault']);
    expect(m.nodes.map((n) => n.name)).toEqual(['app', 'db', 'hub', 'ops', 'proxy', 'web', 'q1', 'q2', 'v1', 'host', 'lan', 'world']);
    const cell = (from: string, to: string) => m.cells[m.nodes.findIndex((n) => n.name === from)]![m.nodes.findIndex((n) => n.name === to)]!;
    const sample: [string, string][] = [
      ['proxy', 'app'],
      ['ops', 'app'],
      ['q1', 'q2'],
      ['q2', 'q1'],
      ['web', 'world'],
      ['app', 'world'],
      ['world', 'db'],
      ['lan', 'db'],
      ['hub', 'v1'],
      ['v1', 'proxy'],
    ];
    for (const [from, to] of sample) {
      const { json: e } = await moatJson<Explanation>(bed, ['explain', from, `${to}:80`, '--config', config]);
      expect(cell(from, to), `${from} -> ${to}`).toMatchObject({ from, to, value: e.verdict, rule: e.decision.rule });
    }
    const human = await moat(bed, ['matrix', '--config', config]);
    expect(human.exitCode).toBe(0);
    expect(human.stdout).toContain('network c-front');
    expect(human.stdout).toMatch(/●.*allowed/);
  });

  it('moat graph draws every granted flow, in mermaid and dot', async () => {
    const mermaid = await moat(bed, ['graph', '--config', config]);
    expect(mermaid.exitCode).toBe(0);
    expect(mermaid.stdout).toMatch(/^flowchart LR\n/);
    for (const net of Object.keys(NETS)) expect(mermaid.stdout).toContain(`"${net}`);
    for (const label of ['tcp/80', 'tcp/8080', 'tcp/9000', `published ${PUBLISHED}→80/tcp`]) expect(mermaid.stdout).toContain(`|"${label}"|`);
    const dot = await moatJson<{ format: string; graph: string }>(bed, ['graph', '--format', 'dot', '--config', config]);
    expect(dot.json.format).toBe('dot');
    expect(dot.json.graph).toMatch(/^digraph moat \{/);
    expect(dot.json.graph).toContain('lhead=cluster_');
  });
});
