// Commit failures (issue 7): a held xtables lock, and an iptables-restore that
// fails N times before it works. The previous rules stay in force, the
// failure is logged once with the restore text around the failing line,
// retries back off, the next success rewrites every moat chain and says
// apply_recovered, and the daemon never stops.
import { readFile, rm, writeFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { at, fakePath, faultyRestore, REAL_RESTORE, retryDelays, savedRules, settled, until, writeTool } from './faults-support.js';
import { createBed, type Bed } from './testbed/bed.js';
import { check } from './testbed/check.js';
import type { Moatd, MoatdLine } from './testbed/moatd.js';
import { containerSource, probe } from './testbed/probe.js';
import { execaRun } from './testbed/run.js';
import { execaSpawn } from './testbed/spawn.js';
import type { ServerContainer } from './testbed/server-container.js';

describe('commit failures', () => {
  let bed: Bed;
  let moatd: Moatd;
  let fault: string;
  let lock: string;
  let a1: ServerContainer, b1: ServerContainer;
  const src = (c: ServerContainer) => containerSource(bed.engine.docker, c.id, c.name);
  const failFor = async (n: number, stderr: string, exit = 1) => {
    await writeFile(`${fault}/stderr`, `${stderr}\n`);
    await writeFile(`${fault}/exit`, String(exit));
    await writeFile(`${fault}/fail`, String(n));
  };

  beforeAll(async () => {
    bed = await createBed();
    fault = `${bed.dir}/fault`;
    lock = `${bed.dir}/xtables.lock`;
    await bed.writeFile('fault/calls', '');
    await bed.writeFile('xtables.lock', '');
    await writeTool(bed, 'iptables-restore', faultyRestore(fault, REAL_RESTORE[4]));
    await bed.createNetwork({ name: 'cf-a', subnets: ['172.30.41.0/24'] });
    await bed.createNetwork({ name: 'cf-b', subnets: ['172.30.42.0/24'] });
    [a1, b1] = await Promise.all([bed.startServer({ name: 'cfa1', networks: ['cf-a'] }), bed.startServer({ name: 'cfb1', networks: ['cf-b'] })]);
    // A long resync: every attempt after a failure below is the daemon's own retry.
    const config = await bed.writeFile('config.yaml', 'reconcile: { resyncIntervalS: 600 }\n');
    moatd = bed.startMoatd({ configPath: config, env: { PATH: fakePath(bed), XTABLES_LOCKFILE: lock } });
    expect(await moatd.waitForEvent('reconcile', { timeoutMs: 20_000 })).toMatchObject({ ok: true, committed: true });
  });

  afterAll(async () => {
    await bed?.dispose();
  });

  it('commits through a held xtables lock: the nft backend does not take it', async () => {
    // Hold moatd's lock file (XTABLES_LOCKFILE, private to this bed: the machine's
    // /run/xtables.lock is never touched) the way another iptables would.
    const [file, argv] = bed.topology.host.enter(['flock', lock, 'sleep', '30']);
    const holder = execaSpawn(file, argv);
    let held = true;
    void holder.exited.then(() => (held = false));
    try {
      await until(async () => (await execaRun('flock', ['-n', lock, 'true'], { check: false })).exitCode !== 0, 3_000, 50);
      // The lock is real: the legacy backend, which honours it, gives up.
      const legacy = await bed.topology.host.run('iptables-legacy-restore', ['--test', '--noflush', '--wait', '1'], {
        input: '*filter\nCOMMIT\n',
        check: false,
        env: { XTABLES_LOCKFILE: lock, PATH: fakePath(bed) },
      });
      expect(legacy.exitCode, legacy.stderr).toBe(4);
      expect(legacy.stderr).toMatch(/holding the xtables lock/);
      const mark = moatd.mark();
      const a2 = await bed.startServer({ name: 'cfa2', networks: ['cf-a'] });
      const committed = await moatd.waitForEvent((l) => l.event === 'reconcile' && l.committed === true, { since: mark });
      expect(committed.ok).toBe(true);
      expect(held, 'committed while the lock was held').toBe(true);
      expect(moatd.lines.slice(mark).filter((l) => l.event === 'apply_failed')).toEqual([]);
      await check([{ name: 'new container -> world while the lock is held', from: src(a2), to: bed.topology.world.ipv4, port: 80, state: 'open' }]);
      await a2.stop();
    } finally {
      process.kill(holder.pid, 'SIGTERM');
      await holder.exited;
    }
  });

  it('keeps the last rules while restore reports the lock held, then recovers with a full sync', async () => {
    await settled(moatd);
    const before = await savedRules(bed.topology.host);
    const mark = moatd.mark();
    // What iptables-legacy-restore prints when another app holds the lock past --wait.
    // Three failures: the new container's network connect and start (each a reconcile of its own on 20.10) and the first retry.
    await failFor(3, 'Another app is currently holding the xtables lock. Stopped waiting after 5s.', 4);
    const a3 = await bed.startServer({ name: 'cfa3', networks: ['cf-a'] });
    const failed = await moatd.waitForEvent('apply_failed', { since: mark });
    expect(failed).toMatchObject({ family: 4, line: null, stderr: expect.stringMatching(/holding the xtables lock/) });
    expect(String(failed.context)).toContain('*filter');
    // Meanwhile: nothing changed, and the new container has no reach (its network's default deny).
    expect(await savedRules(bed.topology.host)).toBe(before);
    expect((await probe(src(a3), bed.topology.world.ipv4, 80, { timeoutS: 1 })).state).toBe('closed');
    await moatd.waitForEvent('apply_recovered', { since: mark, timeoutMs: 10_000 });
    await check([{ name: 'new container -> world after recovery', from: src(a3), to: bed.topology.world.ipv4, port: 80, state: 'open' }]);
    expect(moatd.lines.slice(mark).filter((l) => l.event === 'apply_failed')).toHaveLength(1);
    await a3.stop();
  });

  it('fails N times on a bad line: logged once with context, backs off, full sync, apply_recovered', async () => {
    await settled(moatd);
    await rm(`${fault}/first-failed`, { force: true });
    // One change, from one Docker event: a running container joins another network.
    const a4 = await bed.startServer({ name: 'cfa4', networks: ['cf-a'] });
    await settled(moatd);
    const before = await savedRules(bed.topology.host);
    const mark = moatd.mark();
    await failFor(4, 'iptables-restore v1.8.9 (nf_tables): line 4 failed');
    await bed.engine.docker.getNetwork('cf-b').connect({ Container: a4.id });
    const recovered = await moatd.waitForEvent('apply_recovered', { since: mark, timeoutMs: 20_000 });
    await moatd.waitForEvent((l) => l.event === 'reconcile' && l.ok === true && l.trigger === 'retry', { since: mark });
    const lines = moatd.lines.slice(mark);
    const attempts = lines.filter((l) => l.event === 'reconcile');
    const failedAttempts = attempts.filter((l) => l.ok === false);
    expect(failedAttempts).toHaveLength(4);
    expect(failedAttempts[0]!.trigger).toBe('network.connect');
    expect(failedAttempts.slice(1).every((l) => l.trigger === 'retry')).toBe(true);
    // Logged once, with the restore text around line 4.
    const failed = lines.filter((l) => l.event === 'apply_failed');
    expect(failed).toHaveLength(1);
    expect(failed[0]).toMatchObject({ family: 4, line: 4 });
    const firstInput = (await readFile(`${fault}/first-failed`, 'utf8')).split('\n');
    expect(String(failed[0]!.context)).toContain(`>    4: ${firstInput[3]}`);
    // Retries back off: each gap about twice the one before (0.5 s, 1 s, 2 s, 4 s).
    const gaps = retryDelays([...failedAttempts, attempts.find((l) => l.ok === true && l.trigger === 'retry')!]);
    for (const [i, want] of [500, 1000, 2000, 4000].entries()) {
      expect(gaps[i]).toBeGreaterThanOrEqual(want - 50);
      expect(gaps[i]).toBeLessThan(want + 1000);
    }
    // The previous rules stayed in force the whole time.
    expect(at(recovered)).toBeGreaterThan(at(failed[0]!));
    // The success rewrote every moat chain, not only the changed ones.
    const ok = await readFile(`${fault}/last-ok`, 'utf8');
    const live = await savedRules(bed.topology.host);
    const moatChains = [...live.matchAll(/^:(MOAT-\S+)/gm)].map((m) => m[1]!);
    expect(moatChains.length).toBeGreaterThan(10);
    for (const chain of moatChains) expect(ok).toContain(`:${chain} - [0:0]`);
    expect(live).not.toBe(before);
    expect(moatd.running()).toBe(true);
    await check([{ name: 'joined network, same-network flow after recovery', from: src(a4), to: b1.ipv4('cf-b'), port: 80, state: 'open' }]);
    report({ gaps, attempts: attempts.length });
  });

  it('keeps running with the old rules while every commit fails, retries capped', async () => {
    await settled(moatd);
    const mark = moatd.mark();
    await failFor(1000, 'iptables-restore: line 2 failed');
    const before = await savedRules(bed.topology.host);
    await bed.startServer({ name: 'cfa5', networks: ['cf-a'] });
    await moatd.waitForEvent('apply_failed', { since: mark });
    await new Promise((r) => setTimeout(r, 4_000));
    expect(moatd.running()).toBe(true);
    expect(await savedRules(bed.topology.host)).toBe(before);
    const attempts = moatd.lines.slice(mark).filter((l: MoatdLine) => l.event === 'reconcile');
    // 0 s, 0.5 s, 1.5 s, 3.5 s: backing off, not spinning (besides the new container's own events).
    const failedAttempts = attempts.filter((l) => l.ok === false);
    const retries = failedAttempts.filter((l) => l.trigger === 'retry');
    expect(retries.length).toBeLessThanOrEqual(3);
    expect(failedAttempts.length - retries.length).toBeLessThanOrEqual(2);
    const gaps = retryDelays([failedAttempts[0]!, ...retries]);
    expect(
      gaps.every((g, i) => i === 0 || g > gaps[i - 1]! * 1.5),
      `retry delays ${gaps.join(', ')} ms`,
    ).toBe(true);
    await check([
      { name: 'existing flow unaffected', from: src(a1), to: bed.topology.world.ipv4, port: 80, state: 'open' },
      { name: 'denied flow still denied', from: src(a1), to: b1.ipv4('cf-b'), port: 80, state: 'closed' },
    ]);
    await writeFile(`${fault}/fail`, '0');
    await moatd.waitForEvent('apply_recovered', { since: mark, timeoutMs: 10_000 });
  });
});

function report(figures: Record<string, unknown>): void {
  console.log(`[faults-commit] ${JSON.stringify(figures)}`);
}
