// Helpers for cli-*.test.ts: the `moat` CLI run in the bed's host namespace
// against the private engine, and a small concurrency pool.
import type { Bed } from './testbed/bed.js';
import type { RunResult } from './testbed/run.js';

export const MOAT = new URL('../../bin/moat', import.meta.url).pathname;

/** `moat ARGS` in the bed's host namespace (DOCKER_HOST = the private engine). Never throws on exit codes. */
export function moat(bed: Bed, args: readonly string[], env: Record<string, string> = {}, input?: string): Promise<RunResult> {
  return bed.topology.host.run(MOAT, args, { check: false, timeoutMs: 60_000, input, env: { DOCKER_HOST: bed.engine.dockerHost, NO_COLOR: '1', ...env } });
}

/** `moat ARGS --json`, parsed; throws with stderr when the output is not JSON. */
export async function moatJson<T>(bed: Bed, args: readonly string[], env: Record<string, string> = {}): Promise<{ exitCode: number; json: T; stderr: string }> {
  const res = await moat(bed, [...args, '--json'], env);
  try {
    return { exitCode: res.exitCode, json: JSON.parse(res.stdout) as T, stderr: res.stderr };
  } catch {
    throw new Error(`moat ${args.join(' ')} --json: exit ${res.exitCode}, not JSON:\n${res.stdout}\n${res.stderr}`);
  }
}

/** Runs `fn` over `items`, at most `limit` at a time, results in order. */
export async function pool<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i]!);
      }
    }),
  );
  return out;
}
