// The drift check between reconciles and the repair while Docker is away.
import { describe, expect, it } from 'vitest';
import { hostMixed as fixture, reconcilerOnFakes as setup } from '../../test/fakes/reconciler-on-fakes.js';

describe('Reconciler drift check', () => {
  it('is false before any commit and right after one', async () => {
    const { rec } = setup();
    expect(await rec.drifted()).toBe(false);
    await rec.run(['start']);
    expect(await rec.drifted()).toBe(false);
  });

  it('sees a deleted jump, a pushed-down jump, a flushed chain and a wiped table, in either family', async () => {
    const { kernel, rec } = setup();
    await rec.run(['start']);
    const filter = (f: 4 | 6) => kernel.families[f].get('filter')!;
    filter(4).get('FORWARD')!.splice(0);
    expect(await rec.drifted()).toBe(true);
    await rec.run(['drift']);
    expect(await rec.drifted()).toBe(false);
    filter(6).get('INPUT')!.unshift('-j ACCEPT');
    expect(await rec.drifted()).toBe(true);
    await rec.run(['drift']);
    expect(kernel.chain(6, 'filter', 'INPUT')).toEqual(['-j MOAT-INPUT', '-j ACCEPT']);
    filter(4).set('MOAT-DENY', []);
    expect(await rec.drifted()).toBe(true);
    await rec.run(['drift']);
    kernel.families[4].set('nat', new Map([['POSTROUTING', []]]));
    expect(await rec.drifted()).toBe(true);
  });

  it('stays quiet while a commit is failing: the retry owns that', async () => {
    const { kernel, docker, rec } = setup();
    await rec.run(['start']);
    docker.lists_ = { ...fixture, containers: fixture.containers.slice(1) };
    kernel.failNext = 1;
    expect((await rec.run(['container.die'])).ok).toBe(false);
    kernel.families[4].get('filter')!.get('FORWARD')!.splice(0);
    expect(await rec.drifted()).toBe(false);
    expect((await rec.run(['retry'])).ok).toBe(true);
    expect(await rec.drifted()).toBe(false);
  });

  it('puts back exactly the last commit when Docker cannot be listed, and nothing new', async () => {
    const { kernel, docker, cap, rec } = setup();
    await rec.run(['start']);
    const before = [kernel.save(4, 'filter'), kernel.save(4, 'nat'), kernel.save(6, 'filter')];
    kernel.families[4].set(
      'filter',
      new Map([
        ['INPUT', []],
        ['FORWARD', ['-j ACCEPT']],
        ['OUTPUT', []],
      ]),
    );
    docker.down = true;
    const o = await rec.run(['drift']);
    expect(o).toMatchObject({ ok: false, committed: false });
    expect(kernel.chain(4, 'filter', 'FORWARD')).toEqual(['-j MOAT-FORWARD', '-j ACCEPT']);
    kernel.families[4].get('filter')!.get('FORWARD')!.pop();
    expect([kernel.save(4, 'filter'), kernel.save(4, 'nat'), kernel.save(6, 'filter')]).toEqual(before);
    expect(cap.events('drift_repaired')).toMatchObject([{ family: 4, source: 'last-commit' }]);
    // Nothing drifted: nothing written.
    const restores = kernel.restores.length;
    await rec.run(['resync']);
    expect(kernel.restores).toHaveLength(restores);
  });

  it('writes nothing without Docker before its first commit', async () => {
    const { kernel, docker, rec } = setup();
    docker.down = true;
    await rec.run(['start']);
    expect(kernel.restores).toHaveLength(0);
  });
});
