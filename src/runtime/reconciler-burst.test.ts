// Bursts: a change that only adds grants waits while Docker events keep
// coming (and the last commit is recent); anything that narrows, a lone
// event, or a pause in the burst commits at once.
import { describe, expect, it } from 'vitest';
import { captureLogger } from '../../test/fakes/capture-logger.js';
import { FakeDocker } from '../../test/fakes/fake-docker.js';
import { FakeXtables } from '../../test/fakes/fake-xtables.js';
import { hostMixed } from '../../test/fakes/reconciler-on-fakes.js';
import { Iptables } from '../adapters/iptables.js';
import { ConfigSchema } from '../core/config.js';
import { BURST_QUIET_MS, HOLD_TRIGGER, Reconciler } from './reconciler.js';

const without = (...names: string[]) => ({ ...hostMixed, containers: hostMixed.containers.filter((c: { Names: string[] }) => !names.includes(c.Names[0]!.slice(1))) });

function setup(burstHoldMs = 2_000) {
  const kernel = new FakeXtables();
  const docker = new FakeDocker();
  docker.lists_ = without('app', 'edgey');
  const cap = captureLogger();
  const clock = { now: 0, lastEvent: Number.NEGATIVE_INFINITY, burst: true };
  const run = kernel.runner();
  const config = ConfigSchema.parse({ reconcile: { burstHoldMs } });
  const rec = new Reconciler({
    docker, iptables: [new Iptables(run, 4), new Iptables(run, 6)], config: () => config, log: cap.log,
    now: () => clock.now, burst: () => (clock.burst ? clock.now - clock.lastEvent : null),
  });
  /** A Docker event arrives `ms` after the previous step. */
  const event = (ms: number) => {
    clock.now += ms;
    clock.lastEvent = clock.now;
  };
  return { kernel, docker, cap, rec, clock, event };
}

describe('Reconciler in a burst', () => {
  it('holds grants while events keep coming, commits them when the burst pauses', async () => {
    const { kernel, docker, rec, clock, event, cap } = setup();
    event(0);
    expect((await rec.run(['container.start'])).committed).toBe(true); // lone event: at once
    const restores = kernel.restores.length;
    docker.lists_ = without('edgey');
    event(100);
    const held = await rec.run(['container.start']);
    expect(held).toMatchObject({ ok: true, committed: false, heldMs: BURST_QUIET_MS });
    expect(kernel.restores.length).toBe(restores);
    expect(cap.lines.some((l) => l.event === 'commit_held')).toBe(true);
    docker.lists_ = hostMixed;
    event(100);
    expect((await rec.run(['network.connect', 'container.start', HOLD_TRIGGER])).heldMs).toBeGreaterThan(0);
    // The pause: the repeated run finds no event for 250 ms and commits both grants.
    clock.now += BURST_QUIET_MS;
    expect(await rec.run([HOLD_TRIGGER])).toMatchObject({ ok: true, committed: true });
    expect(kernel.restores.length).toBe(restores + 1);
    expect(kernel.saves).toBe(2); // only the first commit read the kernel
  });

  it('commits at the latest burstHoldMs after the last commit, even if events never pause', async () => {
    const { docker, rec, event } = setup(1_000);
    event(0);
    await rec.run(['container.start']);
    docker.lists_ = without('edgey');
    let outcome = await rec.run(['container.start']);
    for (let t = 0; t < 10 && !outcome.committed; t++) {
      event(200);
      outcome = await rec.run(['container.start']);
    }
    expect(outcome.committed).toBe(true);
  });

  it('never holds a removal, a narrowing change or a non-event trigger', async () => {
    const { kernel, docker, rec, event } = setup();
    docker.lists_ = hostMixed;
    event(0);
    await rec.run(['container.start']);
    docker.lists_ = without('app');
    event(50);
    expect((await rec.run(['container.die'])).committed).toBe(true);
    docker.lists_ = hostMixed;
    event(50);
    expect((await rec.run(['container.start', 'resync'])).committed).toBe(true);
    expect(kernel.restores.length).toBeGreaterThanOrEqual(4);
  });

  it('commits at once outside a burst (one docker run: network connect, then start)', async () => {
    const { docker, rec, event, clock } = setup();
    clock.burst = false;
    event(0);
    await rec.run(['container.start']);
    docker.lists_ = without('edgey');
    event(10);
    expect((await rec.run(['network.connect', 'container.start'])).committed).toBe(true);
  });

  it('burstHoldMs: 0 commits every batch at once', async () => {
    const { docker, rec, event } = setup(0);
    event(0);
    await rec.run(['container.start']);
    docker.lists_ = without('edgey');
    event(10);
    expect((await rec.run(['container.start'])).committed).toBe(true);
  });
});
