// The control socket and `moat status` against a real moatd on the bed:
// GET /status field by field (connection, last reconcile, rule counts per
// table and family as in the kernel, problems, networks and containers with
// decisions and grants), the human tables, Prometheus metrics on the socket
// and on the TCP listener (counters that move with events, drift and
// commits), socket modes, and a clear exit 1 once moatd is gone.
import { stat } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { controlGet } from '../../src/adapters/control-client.js';
import type { StatusDocument } from '../../src/runtime/status.js';
import { moat, moatJson } from './cli-support.js';
import { createBed, type Bed } from './testbed/bed.js';
import { readRuleset } from './testbed/iptables.js';
import type { Moatd } from './testbed/moatd.js';
import type { ServerContainer } from './testbed/server-container.js';

const METRICS_PORT = 19808;

/** One sample's value from Prometheus text, e.g. metric('moat_commits_total'). */
function metric(text: string, name: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  if (!line) throw new Error(`no ${name} in\n${text}`);
  return Number(line.slice(name.length + 1));
}

describe('control socket and moat status', () => {
  let bed: Bed;
  let moatd: Moatd;
  let config: string;
  let socket: string;
  const c: Record<string, ServerContainer> = {};

  beforeAll(async () => {
    bed = await createBed();
    await bed.createNetwork({ name: 's-front', subnets: ['172.27.1.0/24', 'fd00:27:1::/64'] });
    await bed.createNetwork({
      name: 's-back',
      subnets: ['172.27.2.0/24'],
      labels: { 'moat.egress': 'none' },
      options: { 'com.docker.network.bridge.enable_icc': 'false' },
    });
    // macvlan on the bed's LAN link: bypasses netfilter, reported as not firewalled.
    await bed.engine.docker.createNetwork({
      Name: 's-mac',
      Driver: 'macvlan',
      Options: { parent: bed.topology.lan.hostIf },
      IPAM: { Config: [{ Subnet: '10.99.0.0/24' }] },
    });
    for (const s of await Promise.all([
      bed.startServer({
        name: 'web',
        networks: ['s-front'],
        labels: { 'moat.egress': 'api:8080, bogus!entry' },
        publish: [{ containerPort: 80, hostPort: 18081 }],
      }),
      bed.startServer({ name: 'api', networks: ['s-back'], labels: { 'moat.ingress': 'lan:80' } }),
      bed.startServer({ name: 'hostnet', networkMode: 'host', ports: [18555], labels: { 'moat.egress': 'world' } }),
    ]))
      c[s.name] = s;
    socket = `${bed.dir}/ctl/moat.sock`;
    config = await bed.writeFile(
      'config.yaml',
      `policyDir: ${bed.dir}/policy.d\ncontrol: { socket: ${socket} }\nmetrics: { listen: "127.0.0.1:${METRICS_PORT}" }\nreconcile: { resyncIntervalS: 3600 }\n`,
    );
    moatd = bed.startMoatd({ configPath: config });
    expect(await moatd.waitForEvent('reconcile', { timeoutMs: 20_000 })).toMatchObject({ ok: true, committed: true });
    await moatd.waitForEvent('control_listening');
  });

  afterAll(async () => {
    await bed?.dispose();
  });

  it('creates the socket 0600 in a 0700 directory', async () => {
    expect((await stat(socket)).mode & 0o777).toBe(0o600);
    expect((await stat(`${bed.dir}/ctl`)).mode & 0o777).toBe(0o700);
  });

  it('serves the status document, field by field', async () => {
    const { exitCode, json: s } = await moatJson<StatusDocument>(bed, ['status', '--config', config]);
    expect(exitCode).toBe(0);
    expect(s).toMatchObject({ version: 1, daemon: { pid: moatd.pid, families: [4, 6] }, docker: { connected: true }, counts: { failures: 0 } });
    expect(Date.parse(s.generatedAt)).toBeGreaterThan(Date.now() - 60_000);
    expect(s.docker.since).not.toBeNull();
    expect(s.lastReconcile).toMatchObject({ ok: true, error: null });
    expect(s.lastReconcile!.triggers.length).toBeGreaterThan(0);
    expect(s.lastReconcile!.durationMs).toBeGreaterThan(0);
    expect(s.lastReconcile!.skipped).toBe(!s.lastReconcile!.committed);
    expect(s.lastCommitAt).not.toBeNull();
    // Rule counts are what the kernel holds in moat's chains (plus one jump per built-in chain).
    for (const family of [4, 6] as const) {
      const live = await readRuleset(bed.topology.host, family);
      for (const table of ['filter', 'nat'] as const) {
        const n = live.rules(table).filter((r) => r.chain.startsWith('MOAT-') || r.spec.startsWith('-j MOAT-')).length;
        expect(s.rules[`v${family}`]![table], `v${family} ${table}`).toBe(n);
      }
    }
    const kinds = s.problems.map((p) => `${p.kind} ${p.subject}`);
    expect(kinds).toEqual(
      expect.arrayContaining([
        'label_invalid container web',
        'not_isolatable container hostnet',
        'label_ignored container hostnet',
        'not_firewalled network s-mac',
      ]),
    );

    const front = s.networks.find((n) => n.name === 's-front')!;
    expect(front).toMatchObject({
      driver: 'bridge',
      bridge: expect.stringMatching(/^br-[0-9a-f]{12}$/),
      subnets: ['172.27.1.0/24', 'fd00:27:1::/64'],
      managed: true,
      internal: false,
      icc: { value: true, reason: 'default: same network allowed' },
      egress: { value: 'world', reason: 'config defaultEgress: world' },
      nat: { value: true, reason: 'default: masquerade' },
    });
    const back = s.networks.find((n) => n.name === 's-back')!;
    expect(back).toMatchObject({
      icc: { value: false, reason: 'option com.docker.network.bridge.enable_icc=false' },
      egress: { value: 'none', reason: 'network label moat.egress=none' },
    });
    expect(s.networks.find((n) => n.name === 's-mac')).toMatchObject({ driver: 'macvlan', bridge: null, managed: false });

    const web = s.containers.find((x) => x.name === 'web')!;
    expect(web).toMatchObject({
      id: c.web!.id,
      networkMode: 's-front',
      addresses: [{ network: 's-front', ipv4: c.web!.ipv4('s-front'), ipv6: c.web!.ipv6('s-front') }],
      ports: expect.arrayContaining([{ hostIp: '0.0.0.0', hostPort: 18081, containerPort: 80, proto: 'tcp' }]),
      world: { value: true, reason: 'network egress world' },
      grants: [
        {
          direction: 'egress',
          peer: 'api',
          ports: '8080',
          proto: 'tcp',
          reason: 'label moat.egress on web: api:8080',
          rule: expect.stringMatching(/^moat:label:[0-9a-f]{12}:egress:0$/),
        },
      ],
      problems: [expect.objectContaining({ kind: 'label_invalid', key: 'moat.egress', value: 'bogus!entry' })],
    });
    const api = s.containers.find((x) => x.name === 'api')!;
    expect(api.grants).toEqual([
      expect.objectContaining({ direction: 'ingress', peer: 'lan', ports: '80', reason: 'label moat.ingress on api: lan:80' }),
      expect.objectContaining({ direction: 'ingress', peer: 'web', ports: '8080', reason: 'label moat.egress on web: api:8080' }),
    ]);
    expect(api.world).toEqual({ value: false, reason: 'no network with world egress' });
    // Each grant's rule id is on a rule in the kernel.
    const save = (await readRuleset(bed.topology.host, 4)).text;
    for (const g of [...web.grants, ...api.grants]) expect(save).toContain(`"${g.rule}"`);
  });

  it('prints aligned tables without colour when stdout is not a terminal', async () => {
    const res = await moat(bed, ['status', '--config', config], { NO_COLOR: '' });
    expect(res.exitCode).toBe(0);
    expect(res.stdout).not.toMatch(/\u001b\[/);
    expect(res.stdout).toMatch(/^docker +connected/m);
    const lines = res.stdout.split('\n');
    const header = lines.find((l) => l.startsWith('NAME') && l.includes('BRIDGE'))!;
    expect(header).toMatch(/^NAME +BRIDGE +SUBNETS +ICC +EGRESS +NAT$/);
    const frontRow = lines.find((l) => l.startsWith('s-front'))!;
    expect(frontRow.indexOf('br-')).toBe(header.indexOf('BRIDGE'));
    expect(res.stdout).toContain('off (option com.docker.network.bridge.enable_icc=false)');
    expect(res.stdout).toMatch(/^web +s-front 172\.27\.1\.\d+ fd00:27:1::\S+ +yes +-> api:8080\/tcp/m);
    expect(res.stdout).toContain('label_invalid');
    expect(res.stdout).toContain('macvlan: not firewalled');
  });

  it('serves Prometheus metrics on the socket and on metrics.listen, and they follow events and drift', async () => {
    const scrape = async () => (await controlGet(socket, '/metrics')).body;
    let m = await scrape();
    const status = (await moatJson<StatusDocument>(bed, ['status', '--config', config])).json;
    expect(metric(m, 'moat_reconciles_total{result="ok"}')).toBeGreaterThanOrEqual(1);
    expect(metric(m, 'moat_commits_total')).toBeGreaterThanOrEqual(1);
    expect(metric(m, 'moat_apply_failures_total')).toBe(0);
    expect(metric(m, 'moat_invalid_labels')).toBe(status.problems.filter((p) => p.kind === 'label_invalid').length);
    expect(metric(m, 'moat_rules{table="filter",family="v4"}')).toBe(status.rules.v4!.filter);
    expect(metric(m, 'moat_rules{table="nat",family="v6"}')).toBe(status.rules.v6!.nat);
    expect(metric(m, 'moat_docker_connected')).toBe(1);
    expect(metric(m, 'moat_reconcile_duration_seconds_count')).toBe(status.counts.reconciles);
    const events0 = metric(m, 'moat_event_to_commit_seconds_count');

    // An event: its latency to the commit that enforced it is observed.
    const mark = moatd.mark();
    const late = await bed.startServer({ name: 'late', networks: ['s-front'] });
    await moatd.waitForEvent((l) => l.event === 'reconcile' && l.committed === true && /container\.start|network\.connect/.test(String(l.trigger)), {
      since: mark,
    });
    m = await scrape();
    expect(metric(m, 'moat_event_to_commit_seconds_count')).toBeGreaterThan(events0);
    expect(metric(m, 'moat_event_to_commit_seconds_sum') / metric(m, 'moat_event_to_commit_seconds_count')).toBeLessThan(5);
    await late.stop();

    // Drift: a jump removed behind moat's back is put back and counted.
    const drift0 = metric(m, 'moat_drift_repairs_total');
    const mark2 = moatd.mark();
    await bed.topology.host.run('iptables', ['-w', '-D', 'FORWARD', '-j', 'MOAT-FORWARD']);
    const repaired = await moatd.waitForEvent('drift_repaired', { since: mark2, timeoutMs: 10_000 });
    await moatd.waitForEvent((l) => l.event === 'reconcile', { since: moatd.lines.indexOf(repaired), timeoutMs: 10_000 });
    m = await scrape();
    expect(metric(m, 'moat_drift_repairs_total')).toBeGreaterThan(drift0);

    // The TCP listener (inside the bed's namespace) serves /metrics only.
    const tcp = await bed.topology.host.run('/bin/busybox', ['wget', '-q', '-O', '-', `http://127.0.0.1:${METRICS_PORT}/metrics`]);
    expect(tcp.stdout).toContain('# TYPE moat_reconcile_duration_seconds histogram');
    expect(tcp.stdout).toMatch(/^moat_docker_connected 1$/m);
    const noStatus = await bed.topology.host.run('/bin/busybox', ['wget', '-q', '-O', '-', `http://127.0.0.1:${METRICS_PORT}/status`], { check: false });
    expect(noStatus.exitCode).not.toBe(0);
  });

  it('exits 1 with a clear message when moatd is not running, and leaves no socket behind', async () => {
    expect(await moatd.stop()).toEqual({ exitCode: 0, signal: null });
    await expect(stat(socket)).rejects.toThrow();
    const res = await moat(bed, ['status', '--config', config]);
    expect(res.exitCode).toBe(1);
    expect(res.stdout).toBe('');
    expect(res.stderr).toContain(`cannot reach moatd on ${socket}`);
    expect(res.stderr).toContain('Is moatd running?');
  });
});
