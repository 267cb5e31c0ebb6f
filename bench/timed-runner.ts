// The production command runner (execa), with every call timed, so a
// reconcile can be split into its steps: iptables-save, iptables-restore.
import { execaRunner } from '../src/adapters/exec.js';
import type { CommandRunner } from '../src/adapters/iptables.js';

export interface Call {
  readonly file: string;
  readonly args: readonly string[];
  readonly ms: number;
  readonly input: string;
  readonly inputLines: number;
}

export interface TimedRunner {
  readonly run: CommandRunner;
  /** Calls since the last take(), and forgets them. */
  take(): Call[];
}

export function timedRunner(inner: CommandRunner = execaRunner()): TimedRunner {
  let calls: Call[] = [];
  return {
    run: async (file, args, input) => {
      const t = performance.now();
      try {
        return await inner(file, args, input);
      } finally {
        calls.push({ file, args, ms: performance.now() - t, input: input ?? '', inputLines: input ? input.split('\n').length - 1 : 0 });
      }
    },
    take: () => {
      const out = calls;
      calls = [];
      return out;
    },
  };
}

/** Sums call time by tool (iptables-save, ip6tables-restore, …). */
export function byTool(calls: readonly Call[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const c of calls) out[c.file] = (out[c.file] ?? 0) + c.ms;
  return out;
}
