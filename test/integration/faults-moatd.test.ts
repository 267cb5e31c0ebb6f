// moatd killed (issue 7): SIGKILL in the middle of a commit leaves the rules
// exactly as last committed (iptables-restore is atomic per table), a denied
// flow probed all along never opens, and the next moatd converges.
import { existsSync } from 'node:fs';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fakePath, faultyRestore, probeLoop, REAL_RESTORE, savedRules, settled, until, writeTool } from './faults-support.js';
import { createBed, type Bed } from './testbed/bed.js';
import { check } from './testbed/check.js';
import { signal } from './testbed/processes.js';
import { containerSource, probe } from './testbed/probe.js';
import type { ServerContainer } from './testbed/server-container.js';

describe('moatd SIGKILLed mid-commit', () => {
  let bed: Bed;
  let fault: string;
  let config: string;
  let a1: ServerContainer, b1: ServerContainer;
  const figures: Record<string, unknown> = {};
  const src = (c: ServerContainer) => containerSource(bed.engine.docker, c.id, c.name);
  const start = () => bed.startMoatd({ configPath: config, env: { PATH: fakePath(bed) } });

  beforeAll(async () => {
    bed = await createBed();
    fault = `${bed.dir}/fault`;
    await bed.writeFile('fault/calls', '');
    await writeTool(bed, 'iptables-restore', faultyRestore(fault, REAL_RESTORE[4]));
    await bed.createNetwork({ name: 'mk-a', subnets: ['172.30.61.0/24', 'fd00:61::/64'] });
    await bed.createNetwork({ name: 'mk-b', subnets: ['172.30.62.0/24'] });
    [a1, b1] = await Promise.all([bed.startServer({ name: 'mka1', networks: ['mk-a'] }), bed.startServer({ name: 'mkb1', networks: ['mk-b'] })]);
    config = await bed.writeFile('config.yaml', 'reconcile: { resyncIntervalS: 2 }\n');
  });

  afterAll(async () => {
    console.log(`[faults-moatd] ${JSON.stringify(figures)}`);
    await bed?.dispose();
  });

  it('leaves the last committed rules when killed during a commit, and the restart converges; the denied flow never opens', async () => {
    const first = start();
    expect(await first.waitForEvent('reconcile', { timeoutMs: 20_000 })).toMatchObject({ ok: true, committed: true });
    await settled(first);
    const before4 = await savedRules(bed.topology.host, 4);
    const before6 = await savedRules(bed.topology.host, 6);
    const denied = probeLoop(src(a1), b1.ipv4('mk-b'), 80);
    let a2: ServerContainer | null = null;
    try {
      // The next commit hangs inside iptables-restore, its input already read.
      await writeFile(`${fault}/sleep`, '60');
      await rm(`${fault}/pid`, { force: true });
      a2 = await bed.startServer({ name: 'mka2', networks: ['mk-a'] });
      expect(await until(async () => existsSync(`${fault}/sleep-pid`), 10_000, 20)).not.toBeNull();
      // SIGKILL moatd, and (as systemd does with the unit's cgroup) the restore it was running.
      expect(await first.kill()).toMatchObject({ signal: 'SIGKILL' });
      for (const f of ['sleep-pid', 'pid']) signal(Number(await readFile(`${fault}/${f}`, 'utf8')), 'SIGKILL');
      await rm(`${fault}/sleep`);
      await rm(`${fault}/sleep-pid`);
      // Byte-identical to the last commit: nothing half-written.
      expect(await savedRules(bed.topology.host, 4)).toBe(before4);
      expect(await savedRules(bed.topology.host, 6)).toBe(before6);
      // The container started meanwhile is held by its network's default deny.
      expect((await probe(src(a2), bed.topology.world.ipv4, 80, { timeoutS: 1 })).state).toBe('closed');

      const t0 = Date.now();
      const second = start();
      const committed = await second.waitForEvent((l) => l.event === 'reconcile' && l.committed === true, { timeoutMs: 20_000 });
      expect(committed).toMatchObject({ ok: true, trigger: 'start' });
      figures.restartToCommitMs = Date.now() - t0;
      figures.reconcileDurationMs = committed.durationMs;
      await check([
        { name: 'started while moatd was dead -> world', from: src(a2), to: bed.topology.world.ipv4, port: 80, state: 'open' },
        { name: 'same network', from: src(a1), to: a2.ipv4('mk-a'), port: 80, state: 'open' },
        { name: 'other network', from: src(a2), to: b1.ipv4('mk-b'), port: 80, state: 'closed' },
      ]);
      await second.stop();
    } finally {
      await denied.stop();
    }
    figures.deniedProbes = denied.seen.length;
    expect(denied.seen.length).toBeGreaterThan(3);
    expect(denied.seen.filter((s) => s.state !== 'closed')).toEqual([]);
  });
});
