// The reconciler's CommitSets hooks (the DNS ipsets): made before the commit,
// tidied after it; a failure to make them is a failed commit that changes nothing.
import { describe, expect, it } from 'vitest';
import { captureLogger } from '../../test/fakes/capture-logger.js';
import { FakeDocker } from '../../test/fakes/fake-docker.js';
import { FakeXtables } from '../../test/fakes/fake-xtables.js';
import { hostMixed } from '../../test/fakes/host-mixed.js';
import { Iptables } from '../adapters/iptables.js';
import { DEFAULT_CONFIG } from '../core/config.js';
import { type CommitSets, Reconciler } from './reconciler.js';

function setup(sets: CommitSets) {
  const kernel = new FakeXtables();
  const docker = new FakeDocker();
  docker.lists_ = hostMixed;
  const cap = captureLogger();
  const run = kernel.runner();
  const rec = new Reconciler({ docker, iptables: [new Iptables(run, 4)], config: () => DEFAULT_CONFIG, log: cap.log, now: () => 0, sets });
  return { kernel, cap, rec };
}

describe('Reconciler with CommitSets', () => {
  it('calls before ahead of the restore and after once it is in, saying whether the run was full', async () => {
    const order: string[] = [];
    const { kernel, rec } = setup({
      before: async (_d, full) => void order.push(`before full=${full} restores=${kernel.restores.length}`),
      after: async (_d, full) => void order.push(`after full=${full} restores=${kernel.restores.length}`),
    });
    await rec.run(['start']);
    await rec.run(['container.start']);
    expect(order).toEqual(['before full=true restores=0', 'after full=true restores=1', 'before full=false restores=1', 'after full=false restores=1']);
  });

  it('a failing before is a failed commit: nothing restored, after not called, the next run is full', async () => {
    let fail = true;
    const seen: string[] = [];
    const { kernel, cap, rec } = setup({
      before: async (_d, full) => {
        seen.push(`before full=${full}`);
        if (fail) throw new Error('ipset v7.17: Kernel error received: Operation not permitted');
      },
      after: async () => void seen.push('after'),
    });
    await rec.run(['start']);
    const o = await rec.run(['container.start']);
    expect(o).toMatchObject({ ok: false, committed: false, stage: 'apply', error: expect.stringContaining('Operation not permitted') });
    expect(kernel.restores).toHaveLength(0);
    expect(cap.events('apply_failed')).toHaveLength(1);
    fail = false;
    expect((await rec.run(['container.start'])).ok).toBe(true);
    expect(seen).toEqual(['before full=true', 'before full=true', 'before full=true', 'after']);
    expect(kernel.restores).toHaveLength(1);
  });
});
