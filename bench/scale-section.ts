// Runs the scale worker (scale-main.ts) in a network namespace of its own,
// created here and deleted afterwards together with anything left inside it.
import { execa } from 'execa';
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rm } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { createNetns } from '../test/integration/testbed/netns.js';
import { pidsInNetns, signal } from '../test/integration/testbed/processes.js';
import { onAbort } from './abort.js';
import type { FootprintResult } from './synthetic-footprint.js';
import type { SizeResult } from './scale.js';

export interface ScaleSectionOptions {
  readonly moatdBin: string;
  readonly reps: number;
  readonly sizes: string;
  readonly footprint: string;
  readonly idleS: number;
  readonly churnS: number;
  readonly loneEvents: number;
  readonly heapVariant: string;
  readonly timeoutMs: number;
}

export async function runScaleSection(opts: ScaleSectionOptions): Promise<{ scale: SizeResult[]; footprint: FootprintResult[]; netns: string }> {
  const name = `moat-bench-${randomBytes(3).toString('hex')}`;
  const dir = `/tmp/${name}`;
  await mkdir(dir, { recursive: true });
  const ns = await createNetns(name);
  const undo = async () => {
    for (const pid of await pidsInNetns(ns.inode)) signal(pid, 'SIGKILL');
    await ns.delete();
    await rm(dir, { recursive: true, force: true });
  };
  const unregister = onAbort(undo);
  try {
    const worker = fileURLToPath(new URL('./scale-main.js', import.meta.url));
    const out = `${dir}/scale.json`;
    const [file, argv] = ns.enter([
      process.execPath,
      worker,
      '--out',
      out,
      '--dir',
      dir,
      '--bin',
      opts.moatdBin,
      '--reps',
      String(opts.reps),
      '--sizes',
      opts.sizes,
      '--footprint',
      opts.footprint,
      '--idle-s',
      String(opts.idleS),
      '--churn-s',
      String(opts.churnS),
      '--lone',
      String(opts.loneEvents),
      '--heap-variant',
      opts.heapVariant,
    ]);
    const res = await execa(file, argv, { stdin: 'ignore', stdout: 'inherit', stderr: 'inherit', reject: false, timeout: opts.timeoutMs, cleanup: true });
    if (res.exitCode !== 0) throw new Error(`scale worker failed (exit ${String(res.exitCode)}${res.timedOut ? ', timed out' : ''})`);
    const parsed = JSON.parse(await readFile(out, 'utf8')) as { scale: SizeResult[]; footprint: FootprintResult[] };
    return { ...parsed, netns: name };
  } finally {
    // Only what runs in the namespace this function created: the worker and its children.
    await undo();
    unregister();
  }
}
