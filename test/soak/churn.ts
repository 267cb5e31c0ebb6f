// The churn soak (issue 7), outside the fast suite. Run as root from the
// repository root, after `npm run build`:
//
//   npx tsx test/soak/churn.ts [--minutes 10] [--containers 200] [--networks 20] [--seed 7]
//
// It builds the test bed (private dockerd in its own network namespaces),
// starts bin/moatd on it, churns containers with random labels for the given
// time, and prints a JSON report: Docker events vs commits, the slowest
// reconcile, moatd's RSS over time, stale references and the probes. Exit
// status 0 when every check holds, 1 otherwise. Always tears the bed down.
import { parseArgs } from 'node:util';
import { createBed } from '../integration/testbed/bed.js';
import { runChurn } from './churn-run.js';

const { values } = parseArgs({
  options: {
    minutes: { type: 'string', default: '10' },
    containers: { type: 'string', default: '200' },
    networks: { type: 'string', default: '20' },
    seed: { type: 'string', default: '7' },
    workers: { type: 'string', default: '4' },
  },
});
const num = (s: string | undefined, name: string) => {
  const n = Number(s);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`--${name}: a positive number`);
  return n;
};
const minutes = num(values.minutes, 'minutes');
const say = (line: string) => process.stderr.write(`${new Date().toISOString()} ${line}\n`);

const bed = await createBed();
let failed = false;
try {
  const config = await bed.writeFile('config.yaml', 'reconcile: { resyncIntervalS: 30 }\n');
  const moatd = bed.startMoatd({ configPath: config });
  await moatd.waitForEvent('reconcile', { timeoutMs: 30_000 });
  say(`bed ${bed.prefix} up, moatd ${moatd.pid}; churning for ${minutes} min`);
  const report = await runChurn(bed, moatd, {
    networks: num(values.networks, 'networks'),
    containers: num(values.containers, 'containers'),
    durationMs: minutes * 60_000,
    seed: num(values.seed, 'seed'),
    workers: num(values.workers, 'workers'),
    sample: 12,
    rssEveryMs: 10_000,
    log: say,
  }).catch((err: unknown) => {
    failed = true;
    say(`churn failed: ${err instanceof Error ? err.message : String(err)}`);
    return null;
  });
  if (report) {
    const rss = report.rssKiB;
    const third = Math.max(1, Math.floor(rss.length / 3));
    const checks = {
      noStaleReferences: report.stale.length === 0,
      commitsBelowAThirdOfEvents: report.commits < report.dockerEvents / 3,
      rssFlat: Math.max(...rss.slice(-third)) < Math.max(...rss.slice(third, 2 * third)) * 1.15 + 10 * 1024,
      moatdRunning: moatd.running(),
    };
    failed ||= Object.values(checks).includes(false);
    process.stdout.write(`${JSON.stringify({ ...report, rssKiB: undefined, rssSeriesKiB: rss, checks }, null, 1)}\n`);
  }
} finally {
  const teardown = await bed.dispose();
  say(`bed torn down: ${JSON.stringify(teardown)}`);
}
process.exit(failed ? 1 : 0);
