// Mount bookkeeping for a private directory: dockerd leaves its data-root
// bind mount behind when it dies early, and overlay / nsfs mounts when it is
// killed. Everything under `dir` is ours, nothing else is touched.
import { readFile } from 'node:fs/promises';
import { execaRun, type Run } from './run.js';

const unescape = (field: string) => field.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));

/** Mount points at or below `dir`, deepest first. */
export async function mountsUnder(dir: string): Promise<string[]> {
  const info = await readFile('/proc/self/mountinfo', 'utf8');
  const points = info
    .split('\n')
    .map((line) => unescape(line.split(' ')[4] ?? ''))
    .filter((point) => point === dir || point.startsWith(`${dir}/`));
  return [...new Set(points)].sort((a, b) => b.split('/').length - a.split('/').length || b.localeCompare(a));
}

/** Lazily unmounts every mount at or below `dir`. Returns what it unmounted. */
export async function unmountUnder(dir: string, run: Run = execaRun): Promise<string[]> {
  const done: string[] = [];
  // A bind mount can be stacked on itself: loop until nothing is left.
  for (let pass = 0; pass < 5; pass++) {
    const points = await mountsUnder(dir);
    if (points.length === 0) break;
    for (const point of points) {
      await run('umount', ['--lazy', point], { check: false });
      done.push(point);
    }
  }
  return done;
}
