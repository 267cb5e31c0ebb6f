// The real moatd against a fake engine serving a synthetic host (fake-docker.ts):
// time to its first commit, RSS and CPU at idle, lone-event latency at that
// size, and RSS/CPU under churn (a container added or removed every 250 ms).
import { writeFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { execaRunner } from '../src/adapters/exec.js';
import { Iptables } from '../src/adapters/iptables.js';
import { sleep, wallMs } from './clock.js';
import { FakeDocker } from './fake-docker.js';
import { flushMoat } from './kernel.js';
import { isCommit, isReconcile, spawnMoatd, timeOf, type LogLine } from './moatd-process.js';
import { measureWindow, peakRssKb, type Window } from './proc-stats.js';
import { summarize, type Summary } from './stats.js';
import { extraContainer, hexId, synthetic, type SyntheticSpec } from './synthetic.js';

export interface FootprintOptions {
  readonly bin: string;
  readonly dir: string;
  readonly idleS: number;
  readonly churnS: number;
  readonly loneEvents: number;
  readonly log: (line: string) => void;
  /** NODE_OPTIONS for this moatd (a variant run, e.g. a smaller V8 young generation). */
  readonly nodeOptions?: string;
}

export interface FootprintResult {
  readonly spec: SyntheticSpec;
  readonly nodeOptions: string | null;
  /** The first reconcile of a fresh moatd into an empty kernel (its own durationMs), and spawn -> that commit. */
  readonly firstReconcileMs: number;
  readonly spawnToCommitMs: number;
  readonly idle: Window;
  readonly lone: { readonly eventToCommit: Summary | null; readonly reconcileMs: Summary | null; readonly kind: string };
  readonly churn: Window & { readonly events: number; readonly reconciles: number; readonly commits: number; readonly reconcileMs: Summary | null };
  readonly peakRssMb: number;
}

const triggerHas = (l: LogLine, what: string) => String(l.trigger ?? '').includes(what);

export async function runFootprint(spec: SyntheticSpec, opts: FootprintOptions): Promise<FootprintResult> {
  const say = (s: string) => opts.log(`[footprint ${spec.containers}/${spec.networks}${opts.nodeOptions ? ` ${opts.nodeOptions}` : ''}] ${s}`);
  await mkdir(join(opts.dir, 'policy.d'), { recursive: true });
  const socketPath = join(opts.dir, `fake-${spec.containers}.sock`);
  const configPath = join(opts.dir, 'moatd.yaml');
  await writeFile(
    configPath,
    `reconcile: { resyncIntervalS: 3600 }\npolicyDir: ${join(opts.dir, 'policy.d')}\ncontrol: { socket: ${join(opts.dir, 'moat.sock')} }\nlog: { level: info }\n`,
  );
  const families = [new Iptables(execaRunner(), 4), new Iptables(execaRunner(), 6)];
  for (const ipt of families) await flushMoat(ipt);
  const base = synthetic(spec);
  const fake = new FakeDocker(socketPath);
  fake.setLists(base);
  await fake.start();
  const t0 = wallMs();
  const moatd = spawnMoatd(opts.bin, configPath, { DOCKER_HOST: `unix://${socketPath}`, ...(opts.nodeOptions ? { NODE_OPTIONS: opts.nodeOptions } : {}) });
  try {
    const first = await moatd.waitFor(isReconcile, 0, 120_000);
    if (first.ok !== true) throw new Error(`first reconcile failed: ${JSON.stringify(first)}`);
    say(`first reconcile ${String(first.durationMs)} ms`);
    await moatd.quiet(500, 5_000);

    say(`idle ${opts.idleS} s`);
    const idle = await measureWindow(moatd.pid, opts.idleS);

    // An empty host (no user networks) is only the baseline: idle RSS and CPU.
    const loneEvents = spec.networks === 0 ? 0 : opts.loneEvents;
    const churnS = spec.networks === 0 ? 0 : opts.churnS;
    say(`${loneEvents} lone events`);
    const latency: number[] = [];
    const durations: number[] = [];
    for (let r = 0; r < loneEvents; r++) {
      // Lone: more than a second apart, or two starts would make a burst (reconcile.burstHoldMs).
      if (r > 0) await sleep(1_100);
      const extra = extraContainer(spec, 1000 + r);
      const steps: [Record<string, unknown>[], string][] = [
        [[...base.containers, extra], 'start'],
        [base.containers, 'destroy'],
      ];
      for (const [containers, action] of steps) {
        const mark = moatd.lines.length;
        fake.setLists({ networks: base.networks, containers });
        const tE = wallMs();
        fake.emit({ Type: 'container', Action: action, id: hexId(`extra-${1000 + r}`) });
        const line = await moatd.waitFor((l) => isCommit(l) && triggerHas(l, `container.${action}`), mark, 30_000);
        if (action === 'start') {
          latency.push(timeOf(line) - tE);
          durations.push(Number(line.durationMs));
        }
        await moatd.quiet(200, 5_000);
      }
    }

    say(`churn ${churnS} s`);
    const mark = moatd.lines.length;
    let events = 0;
    const churn = await measureWindow(moatd.pid, churnS, async () => {
      const end = wallMs() + churnS * 1000;
      let current = [...base.containers];
      for (let k = 0; wallMs() < end; k++) {
        const id = hexId(`extra-${2000 + Math.floor(k / 2)}`);
        if (k % 2 === 0) current = [...base.containers, extraContainer(spec, 2000 + Math.floor(k / 2))];
        else current = [...base.containers];
        fake.setLists({ networks: base.networks, containers: current });
        fake.emit({ Type: 'container', Action: k % 2 === 0 ? 'start' : 'destroy', id });
        events++;
        await sleep(250);
      }
    });
    await moatd.quiet(500, 10_000);
    const during = moatd.lines.slice(mark).filter(isReconcile);
    const peakRssMb = Math.round((await peakRssKb(moatd.pid)) / 102.4) / 10;
    return {
      spec,
      nodeOptions: opts.nodeOptions ?? null,
      firstReconcileMs: Number(first.durationMs),
      spawnToCommitMs: Math.round(timeOf(first) - t0),
      idle,
      lone: {
        eventToCommit: summarize(latency),
        reconcileMs: summarize(durations),
        kind: 'fake engine emits container.start after the list changed; commit = moatd reconcile log time',
      },
      churn: {
        ...churn,
        events,
        reconciles: during.length,
        commits: during.filter(isCommit).length,
        reconcileMs: summarize(during.map((l) => Number(l.durationMs))),
      },
      peakRssMb,
    };
  } finally {
    await moatd.stop();
    await fake.stop();
    for (const ipt of families) await flushMoat(ipt).catch(() => undefined);
  }
}
