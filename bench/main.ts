// `npm run bench`: moat's benchmarks (issue 5). Sections, in order:
//   scale  — synthetic hosts (100 / 1,000 / 5,000 containers) through the real
//            core and a real kernel in a namespace of the bench's own, plus the
//            real moatd against a fake engine at those sizes; and one event's
//            pure computation from scratch vs through the memo (incremental.ts);
//   native, floor, moat — one private engine each (the integration test bed):
//            start-to-reachable side by side; on moat also lone events,
//            50-container bursts and the footprint with 100 real containers;
//   gate   — the moat engine with the start gate (bin/moat-runc) in the same
//            interleaved runs, first connections on every engine, and the
//            gate's cost per runtime call (section gate-cost, no engine);
//   gate-scale — the gate on a host of 1,000 real containers: gated vs
//            ungated start-to-reachable on the same engine and moatd;
//   dns    — egress by DNS name (issue 13): answer-to-connection beside Docker's
//            own firewall, forwarder latency beside the upstream, memory with
//            10,000 learned addresses (dns.ts).
// Writes bench/results/<stamp>.json, and latest.json and latest.md (with --only: <stamp>.md); prints the
// summary. Options: --quick (few runs, small sizes, for trying it out),
// --only scale,native,floor,moat,gate,gate-cost,gate-scale,dns, --runs N.
import { mkdir, writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { installAbortHandlers, isAborting } from './abort.js';
import { runIncremental, type IncrementalResult } from './incremental.js';
import { runDns, type DnsBenchResult } from './dns.js';
import { runEngines, type EngineResult } from './engine-section.js';
import { runGateCost, type GateCostResult } from './gate-cost.js';
import { runGateScale, type GateScaleResult } from './gate-scale.js';
import { describeMachine } from './machine.js';
import { renderReport } from './report.js';
import { runScaleSection } from './scale-section.js';
import type { SizeResult } from './scale.js';
import type { FootprintResult } from './synthetic-footprint.js';

const SECTIONS = 'scale,native,floor,moat,gate,gate-cost,gate-scale,dns';
const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    only: { type: 'string', default: SECTIONS },
    runs: { type: 'string' },
  },
});
const quick = values.quick;
const only = new Set(values.only.split(','));
// Only a run of every section replaces latest.json/latest.md (the whole report); --only writes its own files.
const whole = SECTIONS.split(',').every((s) => only.has(s));
const runs = Number(values.runs ?? (quick ? 5 : 30));
const REPO = fileURLToPath(new URL('../../../../', import.meta.url));
const moatdBin = `${REPO}bin/moatd`;
const wrapperBin = `${REPO}bin/moat-runc`;
const proberJs = fileURLToPath(new URL('./prober.js', import.meta.url));
const resultsDir = `${REPO}bench/results`;
const started = Date.now();
const log = (s: string) => process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${s}\n`);

if (process.getuid?.() !== 0) throw new Error('the bench needs root: it creates network namespaces and private Docker engines');
installAbortHandlers(log);

const machine = await describeMachine();
log(`machine: ${machine.cpus} CPUs, ${machine.memoryGiB} GiB, kernel ${machine.kernel}, ${machine.iptables}, load ${machine.loadavgAtStart.join(' ')}`);

let scale: SizeResult[] = [];
const incremental: IncrementalResult[] = [];
let footprint: FootprintResult[] = [];
let gateCost: GateCostResult | null = null;
let gateScale: GateScaleResult | null = null;
let dns: DnsBenchResult | null = null;
const engines: EngineResult[] = [];
const errors: string[] = [];
const sectionTimes: Record<string, number> = {};

const sectionLoad: Record<string, { start: number[]; end: number[] }> = {};
const section = async (name: string, fn: () => Promise<void>) => {
  if (name === 'engines' ? !['native', 'floor', 'moat', 'gate'].some((m) => only.has(m)) : !only.has(name)) return;
  const start = loadavg().map((l) => Math.round(l * 100) / 100);
  const t = Date.now();
  try {
    await fn();
  } catch (err) {
    errors.push(`${name}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    log(`section ${name} FAILED: ${String(err)}`);
  }
  sectionTimes[name] = Math.round((Date.now() - t) / 1000);
  sectionLoad[name] = { start, end: loadavg().map((l) => Math.round(l * 100) / 100) };
  log(`section ${name} took ${sectionTimes[name]} s`);
};

await section('scale', async () => {
  const r = await runScaleSection({
    moatdBin,
    reps: quick ? 3 : 8,
    sizes: quick ? '100/10,1000/100' : '100/10,1000/100,5000/500',
    footprint: quick ? '0/0,1000/100' : '0/0,100/10,1000/100,5000/500',
    idleS: quick ? 3 : 10,
    churnS: quick ? 3 : 10,
    loneEvents: quick ? 2 : 5,
    heapVariant: quick ? '' : '1000/100',
    timeoutMs: 9 * 60_000,
  });
  scale = r.scale;
  footprint = r.footprint;
  // CPU only, in this process: no kernel, no namespace needed.
  for (const size of (quick ? '100/10,1000/100' : '100/10,1000/100,5000/500').split(',')) {
    const [containers, networks] = size.split('/').map(Number);
    incremental.push(runIncremental({ containers: containers!, networks: networks! }, quick ? 5 : 15));
    log(`incremental ${size} done`);
  }
});

const modes = (['native', 'floor', 'moat', 'gate'] as const).filter((m) => only.has(m));
await section('engines', async () => {
  engines.push(
    ...(await runEngines({
      modes,
      runs,
      warmup: 2,
      bursts: quick ? 1 : 3,
      burstSize: 50,
      footprintContainers: quick ? 20 : 100,
      idleS: quick ? 3 : 10,
      churnS: quick ? 5 : 15,
      loneEvents: quick ? 3 : 10,
      moatdBin,
      proberJs,
      wrapperBin,
      firstTries: quick ? 2 : 8,
      firstBursts: quick ? 1 : 2,
      firstBurstSize: 50,
      log,
    })),
  );
});

await section('gate-cost', async () => {
  gateCost = await runGateCost({ wrapper: wrapperBin, calls: quick ? 30 : 200, staleCalls: quick ? 2 : 5, log });
});

await section('gate-scale', async () => {
  gateScale = await runGateScale({ containers: quick ? 100 : 1000, networks: 10, runs: quick ? 5 : Math.min(runs, 20), warmup: 2, moatdBin, wrapperBin, log });
});

await section('dns', async () => {
  dns = await runDns({
    runs: Math.min(runs, quick ? 5 : 30),
    warmup: 2,
    latencyRounds: quick ? 3 : 10,
    latencyPerRound: quick ? 20 : 100,
    bulk: quick ? 1_000 : 10_000,
    moatdBin,
    log,
  });
});

if (isAborting()) {
  // The signal handler is tearing down and will exit; partial results are not written.
  await new Promise(() => undefined);
}

const result = {
  startedAt: new Date(started).toISOString(),
  wallS: Math.round((Date.now() - started) / 1000),
  options: { quick, only: [...only], runs },
  machine: { ...machine, loadavgAtEnd: loadavg().map((l) => Math.round(l * 100) / 100) },
  sectionTimes,
  sectionLoad,
  errors,
  scale,
  incremental,
  footprint,
  engines,
  gateCost,
  gateScale,
  dns,
};
await mkdir(resultsDir, { recursive: true });
const stamp = result.startedAt.replace(/[:.]/g, '-');
const json = JSON.stringify(result, null, 1);
await writeFile(`${resultsDir}/${stamp}.json`, json);
const md = renderReport(result);
const report = whole ? 'latest.md' : `${stamp}.md`;
if (whole) await writeFile(`${resultsDir}/latest.json`, json);
await writeFile(`${resultsDir}/${report}`, md);
process.stdout.write(md);
log(`wrote ${resultsDir}/${report} and ${stamp}.json in ${result.wallS} s`);
if (errors.length > 0) {
  log(`${errors.length} section(s) failed:\n${errors.join('\n')}`);
  process.exitCode = 1;
}
