// Churn, short (issue 7; the 10-minute soak is test/soak/churn.ts): containers
// with random labels (seeded) started and removed across networks for ~40 s.
// At the end no rule or chain names anything gone, sampled flows are as the
// labels say, moatd's memory has not kept growing, and commits are far fewer
// than the Docker events that asked for them.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runChurn, type ChurnReport } from '../soak/churn-run.js';
import { createBed, type Bed } from './testbed/bed.js';
import type { Moatd } from './testbed/moatd.js';

const SEED = Number(process.env.MOAT_CHURN_SEED ?? 7);
const HEAP_MB = 64;

describe('churn (short)', () => {
  let bed: Bed;
  let moatd: Moatd;
  let report: ChurnReport;

  beforeAll(async () => {
    bed = await createBed();
    // A small old-space cap: garbage is collected, a leak would kill moatd within the run.
    moatd = bed.startMoatd({
      configPath: await bed.writeFile('config.yaml', 'reconcile: { resyncIntervalS: 10 }\n'),
      env: { NODE_OPTIONS: `--max-old-space-size=${HEAP_MB}` },
    });
    await moatd.waitForEvent('reconcile', { timeoutMs: 20_000 });
  });

  afterAll(async () => {
    const { rssKiB, ...rest } = report ?? { rssKiB: [] };
    console.log(
      `[faults-churn] ${JSON.stringify({ ...rest, rssFirstKiB: rssKiB[0], rssPeakKiB: Math.max(...rssKiB), rssLastKiB: rssKiB.at(-1), rssSamples: rssKiB.length })}`,
    );
    await bed?.dispose();
  });

  it('ends with nothing stale, flows as labelled, bounded memory, and coalesced commits', async () => {
    report = await runChurn(bed, moatd, { networks: 6, containers: 30, durationMs: 40_000, seed: SEED, workers: 4, sample: 8, rssEveryMs: 1_000 });
    expect(report.started).toBeGreaterThan(50);
    expect(report.removed).toBeGreaterThan(20);
    expect(report.stale).toEqual([]);
    expect(report.probes).toBeGreaterThanOrEqual(16);
    // Group commit, no hold: a container costs at most one commit when it comes (at its network
    // connect) and one when it goes (at die), of its five or more events.
    expect(report.commits).toBeLessThanOrEqual(report.started + report.removed);
    expect(report.commits).toBeLessThan(report.dockerEvents / 2);
    expect(moatd.running()).toBe(true);
    // Memory: the last third of the run peaks no higher than the first two thirds did, give or take.
    const rss = report.rssKiB;
    const cut = Math.floor((rss.length * 2) / 3);
    expect(Math.max(...rss.slice(cut))).toBeLessThan(Math.max(...rss.slice(0, cut)) * 1.25 + 20 * 1024);
  }, 150_000);
});
