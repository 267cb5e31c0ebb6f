// Docker faults (issue 7): the engine restarted, and the engine SIGKILLed and
// started again. Containers with a restart policy come back, some on new
// addresses; those without one do not, and after a crash their end happens
// while nobody listens to the events. moatd logs
// docker_disconnected, reconnects with backoff, resyncs from a full
// listing, the matrix holds, no rule names an address no container has, and a
// denied flow probed all along never opens. Drift while the engine is down is
// put back from the last commit.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addressesOf, at, liveDocker, moatPart, probeLoop, savedRules, settled, staleReferences, startPlain, until, waitServing } from './faults-support.js';
import { createBed, type Bed } from './testbed/bed.js';
import { check, type Case } from './testbed/check.js';
import { startEngine, type Engine } from './testbed/engine.js';
import type { Moatd } from './testbed/moatd.js';
import { isAlive } from './testbed/processes.js';
import { containerSource, netnsSource } from './testbed/probe.js';

const SUBNETS = ['172.30.71.', '172.30.72.', 'fd00:71:'];

describe('Docker engine restarts and crashes', () => {
  let bed: Bed;
  let moatd: Moatd;
  let relaunched: Engine | null = null;
  const ids: Record<string, string> = {};
  const figures: Record<string, unknown> = {};
  const src = (name: string) => containerSource(bed.engine.docker, ids[name]!, name);

  beforeAll(async () => {
    bed = await createBed();
    const docker = bed.engine.docker;
    await bed.createNetwork({ name: 'dk-a', subnets: ['172.30.71.0/24', 'fd00:71::/64'] });
    await bed.createNetwork({ name: 'dk-b', subnets: ['172.30.72.0/24'] });
    // n1 takes the first address and does not come back: r1 and r2 then move.
    ids.n1 = await startPlain(docker, bed.image, { name: 'n1', network: 'dk-a' });
    ids.r1 = await startPlain(docker, bed.image, { name: 'r1', network: 'dk-a', restart: 'always' });
    ids.r2 = await startPlain(docker, bed.image, { name: 'r2', network: 'dk-a', restart: 'always' });
    ids.rb = await startPlain(docker, bed.image, { name: 'rb', network: 'dk-b', restart: 'always' });
    moatd = bed.startMoatd({ configPath: await bed.writeFile('config.yaml', 'reconcile: { resyncIntervalS: 60 }\n') });
    expect(await moatd.waitForEvent('reconcile', { timeoutMs: 20_000 })).toMatchObject({ ok: true, committed: true });
  });

  afterAll(async () => {
    console.log(`[faults-docker] ${JSON.stringify(figures)}`);
    // The relaunched engine first (it owns the socket now); the bed's then finds nothing left.
    await relaunched?.stop();
    await bed?.dispose();
  });

  const fromWorld = () => netnsSource(bed.topology.world.netns, 'world');
  /** Current IPv4 addresses of the restart-policy containers. */
  const addresses = async () =>
    Object.fromEntries(await Promise.all(['r1', 'r2', 'rb'].map(async (n) => [n, Object.values(await addressesOf(bed.engine.docker, ids[n]!))[0]!] as const)));

  const matrix = async (): Promise<Case[]> => {
    const docker = bed.engine.docker;
    const [r1, r2, rb] = await Promise.all(['r1', 'r2', 'rb'].map((n) => addressesOf(docker, ids[n]!)));
    return [
      { name: 'r1 -> r2 (same network)', from: src('r1'), to: r2!['dk-a']!, port: 80, state: 'open', seen: r1!['dk-a'] },
      { name: 'r1 -> rb (other network)', from: src('r1'), to: rb!['dk-b']!, port: 80, state: 'closed' },
      { name: 'r1 -> world', from: src('r1'), to: bed.topology.world.ipv4, port: 80, state: 'open' },
      {
        name: 'world -> r1 direct',
        from: netnsSource(bed.topology.world.netns, 'world'),
        to: r1!['dk-a']!,
        port: 80,
        state: 'closed',
        reason: 'timeout',
        timeoutS: 1,
      },
    ];
  };

  /** After the engine is back: reconnect, resync, containers serving, rules converged with nothing stale. */
  const converges = async (label: string, mark: number, engineUp: number) => {
    const connected = await moatd.waitForEvent('docker_connected', { since: mark, timeoutMs: 15_000 });
    const disconnected = moatd.lines.slice(mark).find((l) => l.event === 'docker_disconnected');
    expect(disconnected, 'docker_disconnected logged').toBeDefined();
    expect(Number(connected.attempt)).toBeGreaterThan(0);
    await moatd.waitForEvent((l) => l.event === 'reconcile' && String(l.trigger).includes('reconnect'), { since: mark });
    for (const n of ['r1', 'r2', 'rb']) await waitServing(bed.engine.docker, ids[n]!);
    expect((await bed.engine.docker.getContainer(ids.n1!).inspect()).State.Running).toBe(false);
    const live = () => liveDocker(bed.engine.docker);
    const convergedIn = await until(
      async () => {
        const text = `${await savedRules(bed.topology.host, 4)}\n${await savedRules(bed.topology.host, 6)}`;
        const l = await live();
        return staleReferences(text, l, SUBNETS).length === 0 && [...l.addresses].every((a) => text.includes(a));
      },
      15_000,
      100,
    );
    expect(convergedIn, `${label}: rules did not converge`).not.toBeNull();
    const convergedAt = Date.now();
    await settled(moatd);
    const text = `${await savedRules(bed.topology.host, 4)}\n${await savedRules(bed.topology.host, 6)}`;
    expect(staleReferences(text, await live(), SUBNETS)).toEqual([]);
    await check(await matrix());
    figures[label] = {
      disconnectedToConnectedMs: at(connected) - at(disconnected!),
      connectAttempts: connected.attempt,
      // Engine answering -> restart-policy containers serving and every rule matching them.
      engineUpToConvergedMs: convergedAt - engineUp,
      reconciles: moatd.lines.slice(mark).filter((l) => l.event === 'reconcile').length,
      commits: moatd.lines.slice(mark).filter((l) => l.event === 'reconcile' && l.committed === true).length,
    };
  };

  it('enforces the matrix before any fault', async () => {
    await check(await matrix());
  });

  it('engine restart: restart-policy containers come back, moatd reconnects, resyncs, converges, nothing stale', async () => {
    const before = await addresses();
    const n1 = (await addressesOf(bed.engine.docker, ids.n1!))['dk-a']!;
    expect(await savedRules(bed.topology.host, 4)).toContain(`${n1}/32`);
    const mark = moatd.mark();
    const denied = probeLoop(fromWorld(), before.rb!, 80, 1);
    try {
      await bed.engine.restart();
      const up = Date.now();
      await converges('engine restart', mark, up);
    } finally {
      await denied.stop();
    }
    const after = await addresses();
    figures.restartAddresses = { before, after, n1 };
    // n1 has no restart policy: it is gone, and its address is in a rule only if a live container took it.
    if (!Object.values(after).includes(n1)) expect(await savedRules(bed.topology.host, 4)).not.toContain(`${n1}/32`);
    expect(
      denied.seen.filter((s) => s.state !== 'closed'),
      'denied flow during the restart',
    ).toEqual([]);
  });

  it('engine SIGKILLed: backoff while it is down, then resync and convergence when it is back', async () => {
    const engine = bed.engine;
    // n2 runs when the engine dies; the restarted engine kills it before moatd listens again.
    ids.n2 = await startPlain(engine.docker, bed.image, { name: 'n2', network: 'dk-b' });
    const n2 = (await addressesOf(engine.docker, ids.n2))['dk-b']!;
    await settled(moatd);
    expect(await savedRules(bed.topology.host, 4)).toContain(`${n2}/32`);
    const before = await addresses();
    const denied = probeLoop(fromWorld(), before.rb!, 80, 1);
    const mark = moatd.mark();
    const pid = engine.pid();
    process.kill(pid, 'SIGKILL');
    expect(await until(async () => !(await isAlive(pid)), 5_000, 20)).not.toBeNull();
    await moatd.waitForEvent('docker_disconnected', { since: mark });
    const down = Date.now();
    // Someone deletes moat's jump while Docker is away: the last commit is put back as it was.
    const want = moatPart(await savedRules(bed.topology.host, 4));
    await bed.topology.host.run('iptables', ['-w', '-D', 'FORWARD', '-j', 'MOAT-FORWARD']);
    const repairedIn = await until(async () => moatPart(await savedRules(bed.topology.host, 4)) === want, 10_000, 50);
    expect(repairedIn, 'drift repaired while Docker is down').not.toBeNull();
    expect(await moatd.waitForEvent('drift_repaired', { since: mark, timeoutMs: 3_000 })).toMatchObject({ source: 'last-commit', family: 4 });
    figures.driftRepairedWithoutDockerMs = repairedIn;
    // Down for a while: moatd keeps the rules and backs off.
    await new Promise((r) => setTimeout(r, Math.max(0, 2_500 - (Date.now() - down))));
    expect(moatd.running()).toBe(true);
    expect(moatd.lines.slice(mark).filter((l) => l.event === 'docker_unreachable')).toHaveLength(1);
    try {
      relaunched = await startEngine({ netns: bed.topology.host, dir: engine.dir, name: engine.name });
      const up = Date.now();
      await converges('engine SIGKILL', mark, up);
    } finally {
      await denied.stop();
    }
    expect((await engine.docker.getContainer(ids.n2).inspect()).State.Running).toBe(false);
    const after = await addresses();
    if (!Object.values(after).includes(n2)) expect(await savedRules(bed.topology.host, 4)).not.toContain(`${n2}/32`);
    figures.sigkillAddresses = { before, after, n2 };
    figures.deniedProbesDuringCrash = denied.seen.length;
    expect(
      denied.seen.filter((s) => s.state !== 'closed'),
      'denied flow during the crash',
    ).toEqual([]);
  });
});
