// Docker events are planned against the last commit in memory: no
// iptables-save, the same minimal restore text; every other trigger, and any
// run after a failure, reads the kernel.
import { describe, expect, it } from 'vitest';
import { hostMixed as fixture, reconcilerOnFakes as setup } from '../../test/fakes/reconciler-on-fakes.js';

const withoutFirst = { ...fixture, containers: fixture.containers.slice(1) };

describe('Reconciler planning in memory', () => {
  it('reads the kernel for its first commit, then not for Docker events', async () => {
    const { kernel, docker, rec } = setup();
    await rec.run(['container.start']);
    expect(kernel.saves).toBe(2); // no previous commit: one save per family
    docker.lists_ = withoutFirst;
    expect(await rec.run(['container.die', 'network.disconnect'])).toMatchObject({ ok: true, committed: true });
    expect((await rec.run(['container.destroy'])).committed).toBe(false);
    expect(kernel.saves).toBe(2);
    expect(await rec.drifted()).toBe(false);
  });

  it('reads the kernel on every other trigger', async () => {
    for (const trigger of ['start', 'reconnect', 'resync', 'drift', 'config', 'policy', 'retry']) {
      const { kernel, rec } = setup();
      await rec.run(['container.start']);
      const saves = kernel.saves;
      await rec.run(['container.start', trigger]);
      expect(kernel.saves, trigger).toBe(saves + 2);
    }
  });

  it('commits the same minimal text as a plan against the kernel: only the changed chains', async () => {
    const a = setup();
    const b = setup();
    for (const { docker, rec } of [a, b]) {
      await rec.run(['start']);
      docker.lists_ = withoutFirst;
    }
    await a.rec.run(['container.destroy']);
    await b.rec.run(['resync']);
    const texts = (k: typeof a.kernel) => k.restores.slice(2).map((r) => r.text);
    expect(texts(a.kernel)).toEqual(texts(b.kernel));
    expect(texts(a.kernel)).not.toEqual([]);
    const declared = texts(a.kernel).join('').match(/^:\S+/gm) ?? [];
    const all = a.kernel.restores[0]!.text.match(/^:\S+/gm) ?? [];
    expect(declared.length).toBeGreaterThan(0);
    expect(declared.length).toBeLessThan(all.length);
    expect(a.kernel.save(4, 'filter')).toBe(b.kernel.save(4, 'filter'));
  });

  it('after a failed restore, the next run reads the kernel and rewrites every chain, even for an event', async () => {
    const { kernel, docker, rec } = setup();
    await rec.run(['start']);
    docker.lists_ = withoutFirst;
    // A chain vanished under us: the in-memory plan does not know, and its restore fails.
    kernel.families[4].get('filter')!.delete('MOAT-DENY');
    expect(await rec.run(['container.destroy'])).toMatchObject({ ok: false, stage: 'apply', error: expect.stringContaining('no chain MOAT-DENY') });
    const saves = kernel.saves;
    expect(await rec.run(['container.destroy'])).toMatchObject({ ok: true, committed: true });
    expect(kernel.saves).toBe(saves + 2);
    expect(kernel.restores.at(-2)!.text).toContain(':MOAT-DENY - [0:0]');
    expect(kernel.restores.at(-2)!.text).toContain(':MOAT-FORWARD - [0:0]');
    expect(await rec.drifted()).toBe(false);
    // Recovered: events trust memory again.
    const after = kernel.saves;
    await rec.run(['container.start']);
    expect(kernel.saves).toBe(after);
  });

  it('leaves drift that happened before an event to the drift check, which sees it after the commit', async () => {
    const { kernel, docker, cap, rec } = setup();
    await rec.run(['start']);
    kernel.families[4].get('filter')!.set('FORWARD', []);
    docker.lists_ = withoutFirst;
    expect(await rec.run(['container.destroy'])).toMatchObject({ ok: true, committed: true, driftRepaired: false });
    expect(await rec.drifted()).toBe(true);
    expect((await rec.run(['drift'])).driftRepaired).toBe(true);
    expect(cap.events('drift_repaired')).toHaveLength(1);
    expect(kernel.chain(4, 'filter', 'FORWARD')).toEqual(['-j MOAT-FORWARD']);
  });
});
