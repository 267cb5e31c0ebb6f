import { describe, expect, it } from 'vitest';
import { Scheduler } from './scheduler.js';

function gate() {
  let open!: () => void;
  const p = new Promise<void>((r) => (open = r));
  return { p, open };
}

describe('Scheduler', () => {
  it('runs nothing before start', async () => {
    const runs: string[][] = [];
    const s = new Scheduler(
      async (t) => void runs.push([...t]),
      () => {},
    );
    await s.request('early');
    expect(runs).toEqual([]);
  });

  it('starts a lone trigger at once, with no fixed delay', async () => {
    const runs: string[][] = [];
    const s = new Scheduler(
      async (t) => void runs.push([...t]),
      () => {},
    );
    s.start();
    const done = s.request('container.start');
    await Promise.resolve();
    await Promise.resolve();
    expect(runs).toEqual([['container.start']]);
    await done;
  });

  it('coalesces everything that arrives during a run into one follow-up', async () => {
    const runs: string[][] = [];
    const first = gate();
    const s = new Scheduler(
      async (t) => {
        runs.push([...t]);
        if (runs.length === 1) await first.p;
      },
      () => {},
    );
    s.start();
    void s.request('a');
    await Promise.resolve();
    const waits = Array.from({ length: 50 }, (_, i) => s.request(`e${i % 3}`));
    first.open();
    await Promise.all(waits);
    await s.idle();
    expect(runs).toEqual([['a'], ['e0', 'e1', 'e2']]);
  });

  it('never runs two reconciles at once', async () => {
    let running = 0;
    let max = 0;
    const s = new Scheduler(
      async () => {
        running++;
        max = Math.max(max, running);
        await new Promise((r) => setTimeout(r, 1));
        running--;
      },
      () => {},
    );
    s.start();
    await Promise.all(Array.from({ length: 20 }, (_, i) => s.request(String(i))));
    await s.idle();
    expect(max).toBe(1);
  });

  it('reports a throwing reconcile and keeps going', async () => {
    const errors: unknown[] = [];
    let n = 0;
    const s = new Scheduler(
      async () => {
        if (++n === 1) throw new Error('boom');
      },
      (e) => errors.push(e),
    );
    s.start();
    await s.request('a');
    await s.request('b');
    expect(n).toBe(2);
    expect(errors).toHaveLength(1);
  });

  it('is busy while a reconcile runs or waits, and only then', async () => {
    const g = gate();
    const s = new Scheduler(
      () => g.p,
      () => {},
    );
    s.start();
    expect(s.busy()).toBe(false);
    const done = s.request('a');
    expect(s.busy()).toBe(true);
    g.open();
    await done;
    expect(s.busy()).toBe(false);
  });
});
