// A real moatd (bin/moatd) for the synthetic footprint runs, started by PID in
// the current (bench) namespace, its JSON log lines collected as they come.
import { execa, type ResultPromise } from 'execa';
import { createInterface } from 'node:readline';
import { wallMs } from './clock.js';

export interface LogLine {
  readonly event?: string;
  readonly time?: string;
  /** When the bench read the line (wall ms). */
  readonly seenAt: number;
  readonly [key: string]: unknown;
}

export interface MoatdProcess {
  readonly pid: number;
  readonly lines: LogLine[];
  waitFor(test: (l: LogLine) => boolean, since: number, timeoutMs: number): Promise<LogLine>;
  /** Resolves once no line has arrived for `quietMs` (bounded by `timeoutMs`). */
  quiet(quietMs: number, timeoutMs: number): Promise<void>;
  stop(): Promise<void>;
}

export function spawnMoatd(bin: string, configPath: string, env: Record<string, string>): MoatdProcess {
  const child: ResultPromise = execa(bin, ['--config', configPath], {
    env,
    extendEnv: true,
    stdin: 'ignore',
    stdout: 'pipe',
    stderr: 'pipe',
    buffer: false,
    reject: false,
    cleanup: true,
  });
  if (child.pid === undefined) throw new Error(`could not start ${bin}`);
  const pid = child.pid;
  const lines: LogLine[] = [];
  let stderr = '';
  let exited = false;
  let lastLineAt = wallMs();
  void child.then(
    () => (exited = true),
    () => (exited = true),
  );
  createInterface({ input: child.stdout! }).on('line', (text) => {
    lastLineAt = wallMs();
    try {
      lines.push({ ...(JSON.parse(text) as object), seenAt: lastLineAt });
    } catch {
      // not a log line
    }
  });
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));

  const waitFor = async (test: (l: LogLine) => boolean, since: number, timeoutMs: number) => {
    const deadline = wallMs() + timeoutMs;
    for (let i = since; ;) {
      for (; i < lines.length; i++) if (test(lines[i]!)) return lines[i]!;
      if (exited) throw new Error(`moatd exited; stderr: ${stderr.slice(-2000)}; last lines: ${JSON.stringify(lines.slice(-5))}`);
      if (wallMs() > deadline) throw new Error(`moatd: no matching line within ${timeoutMs} ms; last: ${JSON.stringify(lines.slice(-3))}`);
      await new Promise((r) => setTimeout(r, 5));
    }
  };
  return {
    pid,
    lines,
    waitFor,
    async quiet(quietMs, timeoutMs) {
      const deadline = wallMs() + timeoutMs;
      while (wallMs() - lastLineAt < quietMs && wallMs() < deadline) await new Promise((r) => setTimeout(r, 20));
    },
    async stop() {
      if (exited) return;
      try {
        process.kill(pid, 'SIGTERM');
      } catch {
        return;
      }
      const timer = setTimeout(() => {
        if (!exited) process.kill(pid, 'SIGKILL');
      }, 10_000);
      await child.catch(() => undefined);
      clearTimeout(timer);
    },
  };
}

export const isCommit = (l: LogLine) => l.event === 'reconcile' && l.committed === true;
export const isReconcile = (l: LogLine) => l.event === 'reconcile';
export const timeOf = (l: LogLine) => (l.time ? Date.parse(l.time) : l.seenAt);
