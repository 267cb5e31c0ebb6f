import { describe, expect, it } from 'vitest';
import { captureLogger } from '../../test/fakes/capture-logger.js';
import { DriftWatcher } from './drift-watcher.js';

function setup(check: () => Promise<boolean>, busy = () => false) {
  const cap = captureLogger();
  const triggers: string[] = [];
  const w = new DriftWatcher({ check, busy, trigger: (t) => triggers.push(t), log: cap.log, intervalMs: 10 });
  return { w, cap, triggers };
}

describe('DriftWatcher', () => {
  it('asks for a reconcile when the kernel drifted, and only then', async () => {
    let drifted = false;
    const { w, cap, triggers } = setup(async () => drifted);
    await w.tick();
    expect(triggers).toEqual([]);
    drifted = true;
    await w.tick();
    expect(triggers).toEqual(['drift']);
    expect(cap.events('drift_detected')).toHaveLength(1);
  });

  it('does not look while a reconcile runs or waits', async () => {
    let checks = 0;
    const { w, triggers } = setup(
      async () => (checks++, true),
      () => true,
    );
    await w.tick();
    expect(checks).toBe(0);
    expect(triggers).toEqual([]);
  });

  it('never runs two checks at once', async () => {
    let release = () => {};
    let checks = 0;
    const { w } = setup(() => (checks++, new Promise<boolean>((r) => (release = () => r(false)))));
    const first = w.tick();
    await w.tick();
    expect(checks).toBe(1);
    release();
    await first;
  });

  it('reports a failing check once, and again after it recovered', async () => {
    let fail = true;
    const { w, cap } = setup(async () => {
      if (fail) throw new Error('iptables-save: exit 4');
      return false;
    });
    await w.tick();
    await w.tick();
    expect(cap.events('drift_check_failed')).toHaveLength(1);
    fail = false;
    await w.tick();
    fail = true;
    await w.tick();
    expect(cap.events('drift_check_failed')).toHaveLength(2);
  });

  it('runs on its timer until stopped', async () => {
    let checks = 0;
    const { w } = setup(async () => (checks++, false));
    w.start();
    await new Promise((r) => setTimeout(r, 55));
    w.stop();
    const seen = checks;
    expect(seen).toBeGreaterThanOrEqual(2);
    await new Promise((r) => setTimeout(r, 30));
    expect(checks).toBe(seen);
  });
});
