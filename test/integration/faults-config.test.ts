// Bad config (issue 7) and the IPv6 half of the boot lockdown. A config that
// does not parse or validate makes moatd exit 2 with a precise message on
// stderr before it touches anything: the ruleset (here: the boot lockdown and
// an operator rule) is byte-identical afterwards. On SIGHUP a bad config is
// rejected with the reason and the running one stays in force.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { probeLoop, savedRules, settled, until } from './faults-support.js';
import { createBed, type Bed } from './testbed/bed.js';
import { check } from './testbed/check.js';
import type { Moatd } from './testbed/moatd.js';
import { containerSource, netnsSource } from './testbed/probe.js';
import type { ServerContainer } from './testbed/server-container.js';

const MOAT = new URL('../../bin/moat', import.meta.url).pathname;

const BAD_CONFIGS: { name: string; text: string; says: RegExp[] }[] = [
  { name: 'invalid YAML', text: 'reconcile: { resyncIntervalS: 5\nlabelPrefix: moat\n', says: [/YAML line \d+, column \d+/] },
  { name: 'unknown keys', text: 'bogus: 1\nreconcile: { resyncIntervalS: 5, every: 2 }\n', says: [/bogus: unknown key/, /reconcile\.every: unknown key/] },
  {
    name: 'bad CIDRs',
    text: 'protectedNetworks: [10.0.0.0/33, "fd00::/200", banana, 10.1.0.0/16]\n',
    says: [
      /protectedNetworks\.0: not an IPv4\/IPv6 address or CIDR: "10\.0\.0\.0\/33"/,
      /protectedNetworks\.1: .*fd00::\/200/,
      /protectedNetworks\.2: .*banana/,
    ],
  },
  {
    name: 'wrong types and values',
    text: 'reconcile: { resyncIntervalS: soon }\ndenyAction: accept\nipv6: maybe\n',
    says: [/reconcile\.resyncIntervalS/, /denyAction/, /ipv6/],
  },
  { name: 'duplicate key', text: 'denyAction: drop\ndenyAction: reject\n', says: [/YAML .*[Mm]ap keys must be unique/] },
  { name: 'hostile bridge pattern', text: 'dockerBridges: ["br-+", "x;y -j ACCEPT"]\n', says: [/dockerBridges\.1: an interface name/] },
  {
    name: 'alias bomb',
    text: `a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\ne: [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\n`,
    says: [/bad-alias-bomb\.yaml: invalid config\n  - YAML: .*alias/],
  },
  { name: 'missing file', text: '', says: [/cannot read/] },
];

describe('bad config, and the boot lockdown over IPv6', () => {
  let bed: Bed;
  let c1: ServerContainer, c2: ServerContainer;
  let moatd: Moatd;
  let good: string;
  const figures: Record<string, unknown> = {};
  const src = (c: ServerContainer) => containerSource(bed.engine.docker, c.id, c.name);
  const rules = async () => `${await savedRules(bed.topology.host, 4)}\n--v6--\n${await savedRules(bed.topology.host, 6)}`;

  beforeAll(async () => {
    bed = await createBed();
    await bed.createNetwork({ name: 'cfg-a', subnets: ['172.30.81.0/24', 'fd00:81::/64'] });
    await bed.createNetwork({ name: 'cfg-b', subnets: ['172.30.82.0/24', 'fd00:82::/64'] });
    [c1, c2] = await Promise.all([bed.startServer({ name: 'cfg1', networks: ['cfg-a'] }), bed.startServer({ name: 'cfg2', networks: ['cfg-b'] })]);
    await bed.topology.host.run('iptables', ['-w', '-A', 'INPUT', '-p', 'tcp', '--dport', '22', '-j', 'ACCEPT']);
    good = await bed.writeFile('good.yaml', 'reconcile: { resyncIntervalS: 60 }\n');
  });

  afterAll(async () => {
    console.log(`[faults-config] ${JSON.stringify(figures)}`);
    await bed?.dispose();
  });

  it('lockdown denies IPv6 too: no container reach, no direct inbound', async () => {
    const res = await bed.topology.host.run(MOAT, ['lockdown', '--config', good, '--json'], { check: false, env: { DOCKER_HOST: bed.engine.dockerHost } });
    expect(res.exitCode, res.stderr).toBe(0);
    const { world, lan } = bed.topology;
    await check([
      { name: 'v6 container -> world', from: src(c1), to: world.ipv6, port: 80, state: 'closed', reason: 'timeout', timeoutS: 1 },
      { name: 'v6 container -> lan', from: src(c1), to: lan.ipv6, port: 80, state: 'closed', reason: 'timeout', timeoutS: 1 },
      { name: 'v6 container -> other network', from: src(c1), to: c2.ipv6('cfg-b'), port: 80, state: 'closed', reason: 'timeout', timeoutS: 1 },
      {
        name: 'v6 world -> container direct',
        from: netnsSource(world.netns, 'world'),
        to: c1.ipv6('cfg-a'),
        port: 80,
        state: 'closed',
        reason: 'timeout',
        timeoutS: 1,
      },
      { name: 'v6 lan -> world (no Docker bridge)', from: netnsSource(lan.netns, 'lan'), to: world.ipv6, port: 80, state: 'open' },
    ]);
  });

  it('refuses each bad config with exit 2 and a precise message, touching nothing', async () => {
    const before = await rules();
    for (const bad of BAD_CONFIGS) {
      const path = bad.name === 'missing file' ? `${bed.dir}/no-such.yaml` : await bed.writeFile(`bad-${bad.name.replaceAll(' ', '-')}.yaml`, bad.text);
      const t0 = Date.now();
      const m = bed.startMoatd({ configPath: path });
      const exit = await m.exited;
      figures[bad.name] = Date.now() - t0;
      expect(exit, `${bad.name}: ${m.stderr()}`).toEqual({ exitCode: 2, signal: null });
      for (const re of bad.says) expect(m.stderr(), bad.name).toMatch(re);
      expect(m.stderr()).toContain('nothing was changed');
      expect(m.lines, `${bad.name}: logged as if it ran`).toEqual([]);
      expect(await rules(), `${bad.name} changed the ruleset`).toBe(before);
    }
  });

  it("moatd's first commit replaces the IPv6 lockdown without opening a denied v6 flow", async () => {
    const denied = probeLoop(src(c1), bed.topology.lan.ipv6, 80);
    try {
      await until(async () => denied.seen.length >= 3, 15_000, 50);
      moatd = bed.startMoatd({ configPath: good });
      expect(await moatd.waitForEvent('reconcile', { timeoutMs: 20_000 })).toMatchObject({ ok: true, committed: true });
    } finally {
      await denied.stop();
    }
    figures.lockdownToMoatdProbes = denied.seen.length;
    expect(denied.seen.length).toBeGreaterThan(0);
    expect(denied.seen.filter((s) => s.state !== 'closed')).toEqual([]);
    await check([
      { name: 'v6 container -> world after moatd', from: src(c1), to: bed.topology.world.ipv6, port: 80, state: 'open' },
      { name: 'v6 container -> lan after moatd', from: src(c1), to: bed.topology.lan.ipv6, port: 80, state: 'closed' },
    ]);
  });

  it('on SIGHUP rejects invalid YAML and bad CIDRs with the reason, keeps enforcing, then takes a good one', async () => {
    await settled(moatd);
    const before = await rules();
    for (const bad of BAD_CONFIGS.filter((b) => ['invalid YAML', 'bad CIDRs', 'hostile bridge pattern'].includes(b.name))) {
      await bed.writeFile('good.yaml', bad.text);
      const mark = moatd.mark();
      process.kill(moatd.pid, 'SIGHUP');
      const rejected = await moatd.waitForEvent('config_rejected', { since: mark });
      for (const re of bad.says) expect(String(rejected.err), bad.name).toMatch(re);
      expect(moatd.running()).toBe(true);
    }
    await settled(moatd);
    expect(await rules()).toBe(before);
    await check([{ name: 'v4 other network still denied', from: src(c1), to: c2.ipv4('cfg-b'), port: 80, state: 'closed' }]);
    // A good config again: taken, and it shows (denyAction: drop turns refusals into timeouts).
    await bed.writeFile('good.yaml', 'reconcile: { resyncIntervalS: 60 }\ndenyAction: drop\n');
    const mark = moatd.mark();
    process.kill(moatd.pid, 'SIGHUP');
    await moatd.waitForEvent('config_reloaded', { since: mark });
    await moatd.waitForEvent((l) => l.event === 'reconcile' && l.committed === true, { since: mark });
    await check([{ name: 'v4 other network now dropped', from: src(c1), to: c2.ipv4('cfg-b'), port: 80, state: 'closed', reason: 'timeout', timeoutS: 1 }]);
  });
});
