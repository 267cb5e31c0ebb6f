// The default policy (docs/policy.md#default-matrix) by real connections: every cell open before moatd (the hole) and as
// the matrix says after; rules follow rm/connect/disconnect; they stay when
// moatd stops; a restart changes nothing and opens nothing in between.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { createBed, type Bed } from './testbed/bed.js';
import { check, type Case } from './testbed/check.js';
import { readRuleset } from './testbed/iptables.js';
import type { Moatd } from './testbed/moatd.js';
import { containerSource, netnsSource, probe, type ProbeSource } from './testbed/probe.js';
import type { ServerContainer } from './testbed/server-container.js';

const HOST_PORT = 9000;
const PUBLISHED = 18080;
const MOAT = new URL('../../bin/moat', import.meta.url).pathname;

describe('default policy (docs/policy.md#default-matrix), IPv4 and IPv6', () => {
  let bed: Bed;
  let moatd: Moatd;
  let config: string;
  let a1: ServerContainer, a2: ServerContainer, b1: ServerContainer, q1: ServerContainer, q2: ServerContainer, v1: ServerContainer, v2: ServerContainer;
  let src: (c: ServerContainer) => ProbeSource;

  const startMoatd = async () => {
    const m = bed.startMoatd({ configPath: config });
    const first = await m.waitForEvent('reconcile', { timeoutMs: 20_000 });
    expect(first).toMatchObject({ ok: true, trigger: 'start' });
    return m;
  };

  beforeAll(async () => {
    bed = await createBed({ hostHttpPorts: [HOST_PORT] });
    await bed.createNetwork({ name: 'bed-a', subnets: ['172.30.1.0/24', 'fd00:a::/64'] });
    await bed.createNetwork({ name: 'bed-b', subnets: ['172.30.2.0/24', 'fd00:b::/64'] });
    await bed.createNetwork({ name: 'bed-quiet', subnets: ['172.30.3.0/24'], options: { 'com.docker.network.bridge.enable_icc': 'false' } });
    await bed.createNetwork({ name: 'bed-vault', subnets: ['172.30.4.0/24'], internal: true });
    [a1, a2, b1, q1, q2, v1, v2] = await Promise.all([
      bed.startServer({ name: 'a1', networks: ['bed-a'] }),
      bed.startServer({ name: 'a2', networks: ['bed-a'] }),
      bed.startServer({ name: 'b1', networks: ['bed-b'], publish: [{ containerPort: 8080, hostPort: PUBLISHED }] }),
      bed.startServer({ name: 'q1', networks: ['bed-quiet'] }),
      bed.startServer({ name: 'q2', networks: ['bed-quiet'] }),
      bed.startServer({ name: 'v1', networks: ['bed-vault'] }),
      bed.startServer({ name: 'v2', networks: ['bed-vault'] }),
    ]);
    src = (c) => containerSource(bed.engine.docker, c.id, c.name);
    config = await bed.writeFile('config.yaml', 'reconcile: { resyncIntervalS: 2 }\n');
    // An operator's own rules, which moat must leave exactly as they are.
    await bed.topology.host.run('iptables', ['-w', '-N', 'OPERATOR']);
    await bed.topology.host.run('iptables', ['-w', '-A', 'OPERATOR', '-p', 'tcp', '--dport', '22', '-j', 'ACCEPT']);
    await bed.topology.host.run('iptables', ['-w', '-A', 'INPUT', '-j', 'OPERATOR']);
    await bed.topology.host.run('iptables', ['-w', '-A', 'FORWARD', '-i', bed.topology.world.hostIf, '-o', bed.topology.lan.hostIf, '-j', 'DROP']);
  });

  afterAll(async () => {
    await bed?.dispose();
  });

  const matrix4 = (phase: 'before' | 'after'): Case[] => {
    const { lan, world, host } = bed.topology;
    const after = phase === 'after';
    const a1ip = a1.ipv4('bed-a');
    const fromLan = netnsSource(lan.netns, 'lan');
    const fromWorld = netnsSource(world.netns, 'world');
    const denied = (c: Omit<Case, 'state'>): Case =>
      after ? { ...c, state: 'closed', timeoutS: c.reason === 'timeout' ? 1 : 2 } : { ...c, state: 'open', seen: undefined, reason: null };
    return [
      { name: 'container -> same network', from: src(a1), to: a2.ipv4('bed-a'), port: 80, state: 'open', seen: a1ip },
      denied({ name: 'container -> other network', from: src(a1), to: b1.ipv4('bed-b'), port: 80 }),
      denied({ name: 'container -> host (gateway)', from: src(a1), to: '172.30.1.1', port: HOST_PORT }),
      denied({ name: 'container -> host (lan uplink)', from: src(a1), to: lan.hostIpv4, port: HOST_PORT }),
      denied({ name: 'container -> host (world uplink)', from: src(a1), to: world.hostIpv4, port: HOST_PORT }),
      denied({ name: 'container -> lan', from: src(a1), to: lan.ipv4, port: 80 }),
      // Masqueraded once moat runs: the world peer sees the host's address.
      { name: 'container -> world', from: src(a1), to: world.ipv4, port: 80, state: 'open', seen: after ? world.hostIpv4 : a1ip },
      denied({ name: 'world -> container direct', from: fromWorld, to: a1ip, port: 80, reason: 'timeout' }),
      denied({ name: 'lan -> container direct', from: fromLan, to: a1ip, port: 80, reason: 'timeout' }),
      denied({ name: 'world -> published container, unpublished port', from: fromWorld, to: b1.ipv4('bed-b'), port: 80, reason: 'timeout' }),
      { name: 'world -> published port', from: fromWorld, to: world.hostIpv4, port: PUBLISHED, state: 'open', seen: '172.30.2.1' },
      { name: 'lan -> published port', from: fromLan, to: lan.hostIpv4, port: PUBLISHED, state: 'open', seen: '172.30.2.1' },
      { name: 'host -> container', from: netnsSource(host, 'host'), to: a1ip, port: 80, state: 'open', seen: '172.30.1.1' },
      denied({ name: 'icc off: container -> same network', from: src(q1), to: q2.ipv4('bed-quiet'), port: 80 }),
      { name: 'internal: container -> same network', from: src(v1), to: v2.ipv4('bed-vault'), port: 80, state: 'open' },
      denied({ name: 'internal: container -> host', from: src(v1), to: '172.30.4.1', port: HOST_PORT }),
    ];
  };

  const matrix6 = (): Case[] => {
    const { lan, world, host } = bed.topology;
    const a1ip = a1.ipv6('bed-a');
    const closed = (c: Omit<Case, 'state'>): Case => ({ ...c, state: 'closed', timeoutS: c.reason === 'timeout' ? 1 : 2 });
    return [
      { name: 'v6 container -> same network', from: src(a1), to: a2.ipv6('bed-a'), port: 80, state: 'open', seen: a1ip },
      closed({ name: 'v6 container -> other network', from: src(a1), to: b1.ipv6('bed-b'), port: 80 }),
      closed({ name: 'v6 container -> host (gateway)', from: src(a1), to: 'fd00:a::1', port: HOST_PORT }),
      closed({ name: 'v6 container -> host (uplink)', from: src(a1), to: world.hostIpv6, port: HOST_PORT }),
      closed({ name: 'v6 container -> lan', from: src(a1), to: lan.ipv6, port: 80 }),
      { name: 'v6 container -> world', from: src(a1), to: world.ipv6, port: 80, state: 'open', seen: world.hostIpv6 },
      closed({ name: 'v6 world -> container direct', from: netnsSource(world.netns, 'world'), to: a1ip, port: 80, reason: 'timeout' }),
      closed({ name: 'v6 lan -> container direct', from: netnsSource(lan.netns, 'lan'), to: a1ip, port: 80, reason: 'timeout' }),
      { name: 'v6 world -> published port', from: netnsSource(world.netns, 'world'), to: world.hostIpv6, port: PUBLISHED, state: 'open', seen: 'fd00:b::1' },
      { name: 'v6 host -> container', from: netnsSource(host, 'host'), to: a1ip, port: 80, state: 'open', seen: 'fd00:a::1' },
    ];
  };

  it('has every hole open before moatd runs', async () => {
    await check(matrix4('before'));
  });

  it('enforces the IPv4 matrix once moatd has committed', async () => {
    moatd = await startMoatd();
    await check(matrix4('after'));
  });

  it('enforces the same matrix over IPv6', async () => {
    await check(matrix6());
  });

  it('left foreign rules and built-in policies alone, and put its jumps first', async () => {
    const v4 = await readRuleset(bed.topology.host, 4);
    expect(v4.rules('filter', 'OPERATOR')).toHaveLength(1);
    expect(v4.rules('filter', 'INPUT').map((r) => r.spec)).toEqual(['-j MOAT-INPUT', '-j OPERATOR']);
    expect(v4.rules('filter', 'FORWARD').map((r) => r.spec)).toEqual(['-j MOAT-FORWARD', expect.stringMatching(/-j DROP$/)]);
    expect(v4.policy('filter', 'FORWARD')).toBe('ACCEPT');
    const plan = await bed.topology.host.run(MOAT, ['plan', '--quiet', '--config', config], { check: false, env: { DOCKER_HOST: bed.engine.dockerHost } });
    expect(plan.exitCode, plan.stdout + plan.stderr).toBe(0);
  });

  it('forgets a removed container: no rule names its address', async () => {
    const before = moatd.mark();
    const gone = await bed.startServer({ name: 'gone', networks: ['bed-a'] });
    const ip = gone.ipv4('bed-a');
    // Committed at its network connect, before its process started (or at its start).
    await moatd.waitForEvent((l) => l.event === 'reconcile' && l.committed === true && /container\.start|network\.connect/.test(String(l.trigger)), {
      since: before,
    });
    expect((await readRuleset(bed.topology.host, 4)).text).toContain(`${ip}/32`);
    const mark = moatd.mark();
    await gone.stop();
    await moatd.waitForEvent((l) => l.event === 'reconcile' && l.committed === true, { since: mark });
    expect((await readRuleset(bed.topology.host, 4)).text).not.toContain(`${ip}/32`);
    expect((await readRuleset(bed.topology.host, 6)).text).not.toContain(gone.id.slice(0, 12));
  });

  it('follows network connect and disconnect within a second', async () => {
    const b = bed.engine.docker.getNetwork('bed-b');
    const b1ip = b1.ipv4('bed-b');
    await b.connect({ Container: a1.id });
    const t0 = Date.now();
    let seen = await probe(src(a1), b1ip, 80, { timeoutS: 1 });
    while (seen.state !== 'open' && Date.now() - t0 < 1000) seen = await probe(src(a1), b1ip, 80, { timeoutS: 1 });
    expect(seen.state).toBe('open');
    expect(Date.now() - t0).toBeLessThan(1000);
    await b.disconnect({ Container: a1.id });
    const t1 = Date.now();
    seen = await probe(src(a1), b1ip, 80, { timeoutS: 1 });
    while (seen.state !== 'closed' && Date.now() - t1 < 1000) seen = await probe(src(a1), b1ip, 80, { timeoutS: 1 });
    expect(seen).toMatchObject({ state: 'closed', reason: 'refused' });
  });

  it('repairs its own chains and jumps when someone removes them', async () => {
    const mark = moatd.mark();
    await bed.topology.host.run('iptables', ['-w', '-D', 'FORWARD', '-j', 'MOAT-FORWARD']);
    await bed.topology.host.run('iptables', ['-w', '-F', 'MOAT-DENY']);
    const repaired = await moatd.waitForEvent('drift_repaired', { since: mark, timeoutMs: 5_000 });
    expect(repaired).toMatchObject({ family: 4 });
    await check([{ name: 'container -> other network', from: src(a1), to: b1.ipv4('bed-b'), port: 80, state: 'closed' }]);
  });

  it('leaves the rules in place when it stops, and an unknown bridge is denied meanwhile', async () => {
    expect(await moatd.stop()).toEqual({ exitCode: 0, signal: null });
    // SIGTERM lets a reconcile already under way finish (moatd never exits
    // mid-commit; resyncs run every 2 s here): its line may follow 'stopping'.
    const stopping = moatd.lines.findLastIndex((l) => l.event === 'stopping');
    expect(stopping).toBeGreaterThanOrEqual(0);
    expect(moatd.lines.slice(stopping + 1).map((l) => l.event)).toSatisfy((after: unknown[]) => after.length <= 1 && after.every((e) => e === 'reconcile'));
    await check(matrix4('after'));
    // A network created while moatd is down: its bridge matches br-+ and is denied, not left open.
    await bed.createNetwork({ name: 'bed-late', subnets: ['172.30.5.0/24'] });
    const late = await bed.startServer({ name: 'late', networks: ['bed-late'] });
    await check([
      { name: 'new network -> world while moatd is down', from: src(late), to: bed.topology.world.ipv4, port: 80, state: 'closed' },
      { name: 'new network -> other network while moatd is down', from: src(late), to: a1.ipv4('bed-a'), port: 80, state: 'closed' },
      {
        name: 'world -> new network direct while moatd is down',
        from: netnsSource(bed.topology.world.netns, 'world'),
        to: late.ipv4('bed-late'),
        port: 80,
        state: 'closed',
        reason: 'timeout',
        timeoutS: 1,
      },
    ]);
  });

  it('restarts without changing or opening anything, then covers the new network', async () => {
    const before = (await readRuleset(bed.topology.host, 4)).text.replace(/^#.*$/gm, '');
    // Probe a denied flow continuously while moatd restarts.
    let stop = false;
    const seen: string[] = [];
    const prober = (async () => {
      while (!stop) seen.push((await probe(src(a1), b1.ipv4('bed-b'), 80, { timeoutS: 1 })).state);
    })();
    moatd = bed.startMoatd({ configPath: config });
    const first = await moatd.waitForEvent('reconcile', { timeoutMs: 20_000 });
    stop = true;
    await prober;
    expect(seen.length).toBeGreaterThan(0);
    expect(seen.filter((s) => s === 'open')).toEqual([]);
    // The late network is new to it, so this start commits exactly that.
    expect(first).toMatchObject({ ok: true, committed: true });
    const after = (await readRuleset(bed.topology.host, 4)).text.replace(/^#.*$/gm, '');
    expect(after).not.toBe(before);
    // And once more with nothing new: the restart commits nothing.
    await moatd.stop();
    moatd = await startMoatd();
    expect(moatd.lines.find((l) => l.event === 'reconcile')).toMatchObject({ committed: false });
    expect((await readRuleset(bed.topology.host, 4)).text.replace(/^#.*$/gm, '')).toBe(after);
  });

  it('flush removes every moat chain and jump, and nothing else', async () => {
    await moatd.stop();
    const res = await execa('nsenter', [`--net=${bed.topology.host.path}`, MOAT, 'flush', '--config', config], {
      env: { DOCKER_HOST: bed.engine.dockerHost },
      reject: false,
    });
    expect(res.exitCode, res.stderr).toBe(0);
    for (const family of [4, 6] as const) {
      const text = (await readRuleset(bed.topology.host, family)).text;
      expect(text).not.toMatch(/MOAT-/);
    }
    const v4 = await readRuleset(bed.topology.host, 4);
    expect(v4.rules('filter', 'OPERATOR')).toHaveLength(1);
    expect(v4.rules('filter', 'FORWARD')).toHaveLength(1);
  });
});
