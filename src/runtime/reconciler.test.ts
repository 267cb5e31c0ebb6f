import { describe, expect, it } from 'vitest';
import { hostMixed as fixture, reconcilerOnFakes as setup } from '../../test/fakes/reconciler-on-fakes.js';

describe('Reconciler', () => {
  it('commits once, then skips while nothing changes', async () => {
    const { kernel, cap, rec } = setup();
    expect((await rec.run(['start'])).committed).toBe(true);
    expect(kernel.restores).toHaveLength(2); // one per family
    expect(kernel.chain(4, 'filter', 'FORWARD')).toEqual(['-j MOAT-FORWARD']);
    expect((await rec.run(['resync'])).committed).toBe(false);
    expect(kernel.restores).toHaveLength(2);
    const logs = cap.events('reconcile');
    expect(logs.map((l) => l.committed)).toEqual([true, false]);
    expect(logs[0]).toMatchObject({ trigger: 'start', ok: true, rules: { v4: { filter: expect.any(Number), nat: expect.any(Number) } } });
  });

  it('repairs drift in its own chains and jumps, and says so', async () => {
    const { kernel, cap, rec } = setup();
    await rec.run(['start']);
    kernel.families[4].get('filter')!.get('FORWARD')!.unshift('-i eth0 -j ACCEPT');
    kernel.families[4].get('filter')!.set('MOAT-DENY', []);
    const o = await rec.run(['resync']);
    expect(o.committed).toBe(true);
    expect(kernel.chain(4, 'filter', 'FORWARD')).toEqual(['-j MOAT-FORWARD', '-i eth0 -j ACCEPT']);
    expect(kernel.chain(4, 'filter', 'MOAT-DENY')!.length).toBeGreaterThan(0);
    expect(cap.events('drift_repaired')).toHaveLength(1);
    expect(cap.events('drift_repaired')[0]).toMatchObject({ family: 4, tables: [{ table: 'filter', chains: ['MOAT-DENY'], jumps: ['FORWARD'] }] });
  });

  it('reports drift even when the same reconcile also carries a Docker change', async () => {
    const { kernel, docker, cap, rec } = setup();
    await rec.run(['start']);
    kernel.families[4].get('filter')!.set('FORWARD', []);
    docker.lists_ = { ...fixture, containers: fixture.containers.slice(1) };
    expect((await rec.run(['container.destroy', 'drift'])).driftRepaired).toBe(true);
    expect(cap.events('drift_repaired')).toMatchObject([{ family: 4, tables: [{ table: 'filter', jumps: ['FORWARD'] }] }]);
    expect(kernel.chain(4, 'filter', 'FORWARD')).toEqual(['-j MOAT-FORWARD']);
  });

  it('keeps the previous rules on a failed commit, logs it once, then recovers with a full sync', async () => {
    const { kernel, docker, cap, rec } = setup();
    await rec.run(['start']);
    const before = kernel.save(4, 'filter');
    docker.lists_ = { ...fixture, containers: fixture.containers.slice(1) };
    kernel.failNext = 3;
    for (let i = 0; i < 3; i++) expect((await rec.run(['retry'])).ok).toBe(false);
    expect(kernel.save(4, 'filter')).toBe(before);
    const failed = cap.events('apply_failed');
    expect(failed).toHaveLength(1);
    expect(failed[0]).toMatchObject({ family: 4, line: 2 });
    expect(String(failed[0]!.context)).toContain('>    2: ');
    const o = await rec.run(['retry']);
    expect(o).toMatchObject({ ok: true, committed: true });
    expect(cap.events('apply_recovered')).toHaveLength(1);
    // Full sync: every moat chain was declared again, not only the changed one.
    const last = kernel.restores.at(-2)!.text;
    expect(last).toContain(':MOAT-DENY - [0:0]');
  });

  it('changes nothing when Docker cannot be listed', async () => {
    const { kernel, docker, cap, rec } = setup();
    await rec.run(['start']);
    docker.down = true;
    const o = await rec.run(['container.start']);
    expect(o).toMatchObject({ ok: false, committed: false });
    expect(kernel.restores).toHaveLength(2);
    expect(cap.events('snapshot_failed')).toHaveLength(1);
  });

  it('removes every rule naming a removed container', async () => {
    const { kernel, docker, rec } = setup();
    await rec.run(['start']);
    const legacy = fixture.containers.find((c: { Names: string[] }) => c.Names[0] === '/legacy');
    const ip = legacy.NetworkSettings.Networks.bridge.IPAddress;
    const all = () => [...kernel.families[4].get('filter')!.values()].flat().join('\n');
    expect(all()).toContain(`${ip}/32`);
    docker.lists_ = { ...fixture, containers: fixture.containers.filter((c: unknown) => c !== legacy) };
    await rec.run(['container.destroy']);
    expect(all()).not.toContain(`${ip}/32`);
    expect(all()).not.toContain(legacy.Id.slice(0, 12));
  });

  it('logs each problem once, not on every reconcile', async () => {
    const { cap, rec } = setup();
    await rec.run(['start']);
    await rec.run(['resync']);
    expect(cap.events('label_invalid')).toHaveLength(2);
    expect(cap.events('label_invalid')[0]).toMatchObject({ subject: 'network weird', key: 'moat.icc', value: 'maybe' });
  });
});
