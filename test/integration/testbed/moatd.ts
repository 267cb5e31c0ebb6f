// The daemon under test, run in the bed's host namespace against the private
// engine. Contract (docs/design.md#moatd): `bin/moatd --config FILE`, pino
// JSON on stdout, one object per line with an `event` string; SIGTERM exits
// and leaves the rules in place.
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { Netns } from './netns.js';
import { signal } from './processes.js';
import { execaSpawn, type Exit, type Spawn } from './spawn.js';

export interface MoatdLine {
  readonly event?: string;
  readonly [key: string]: unknown;
}

export interface MoatdOptions {
  readonly netns: Netns;
  /** The private engine's DOCKER_HOST (unix://…). */
  readonly dockerHost: string;
  readonly configPath: string;
  readonly args?: readonly string[];
  readonly env?: Readonly<Record<string, string>>;
  /** Default: bin/moatd of this repository. */
  readonly bin?: string;
  readonly spawn?: Spawn;
}

export interface WaitOptions {
  readonly timeoutMs?: number;
  /** Only lines at or after this index count (see mark()). Default 0. */
  readonly since?: number;
}

export interface Moatd extends AsyncDisposable {
  readonly pid: number;
  /** Parsed JSON lines, in order. */
  readonly lines: readonly MoatdLine[];
  /** stdout lines that were not JSON objects. */
  readonly noise: readonly string[];
  readonly exited: Promise<Exit>;
  running(): boolean;
  stderr(): string;
  /** Index of the next line: pass as `since` to wait only for what happens after now. */
  mark(): number;
  waitForEvent(match: string | ((line: MoatdLine) => boolean), options?: WaitOptions): Promise<MoatdLine>;
  /** SIGTERM by PID; SIGKILL after `graceMs`. */
  stop(graceMs?: number): Promise<Exit>;
  kill(): Promise<Exit>;
}

const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

export function startMoatd(options: MoatdOptions): Moatd {
  const bin = options.bin ?? join(REPO_ROOT, 'bin', 'moatd');
  const [file, argv] = options.netns.enter([bin, '--config', options.configPath, ...(options.args ?? [])]);
  const proc = (options.spawn ?? execaSpawn)(file, argv, {
    env: { ...options.env, DOCKER_HOST: options.dockerHost },
    stdout: 'pipe',
    stderr: 'pipe',
  });
  const lines: MoatdLine[] = [];
  const noise: string[] = [];
  let stderr = '';
  let exit: Exit | null = null;
  const waiters = new Set<() => void>();
  const wake = () => waiters.forEach((w) => w());

  if (proc.stdout) {
    createInterface({ input: proc.stdout }).on('line', (text) => {
      try {
        const parsed: unknown = JSON.parse(text);
        if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) lines.push(parsed as MoatdLine);
        else noise.push(text);
      } catch {
        noise.push(text);
      }
      wake();
    });
  }
  proc.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exited = proc.exited.then((e) => {
    exit = e;
    wake();
    return e;
  });

  const describe = () =>
    `last lines:\n${lines
      .slice(-20)
      .map((l) => JSON.stringify(l))
      .join('\n')}\nnoise:\n${noise.slice(-10).join('\n')}\nstderr:\n${stderr.slice(-3000)}`;

  const moatd: Moatd = {
    pid: proc.pid,
    lines,
    noise,
    exited,
    running: () => exit === null,
    stderr: () => stderr,
    mark: () => lines.length,
    waitForEvent(match, { timeoutMs = 15_000, since = 0 } = {}) {
      const test = typeof match === 'string' ? (l: MoatdLine) => l.event === match : match;
      return new Promise((resolve, reject) => {
        let next = since;
        const check = () => {
          for (; next < lines.length; next++) {
            const line = lines[next];
            if (line && test(line)) return done(() => resolve(line));
          }
          if (exit) done(() => reject(new Error(`moatd exited (${JSON.stringify(exit)}) before the awaited event; ${describe()}`)));
        };
        const timer = setTimeout(() => done(() => reject(new Error(`no matching moatd event within ${timeoutMs} ms; ${describe()}`))), timeoutMs);
        const done = (settle: () => void) => {
          clearTimeout(timer);
          waiters.delete(check);
          settle();
        };
        waiters.add(check);
        check();
      });
    },
    async stop(graceMs = 10_000) {
      // Never signal a PID after its process is gone: the number may be reused.
      if (exit) return exit;
      signal(proc.pid, 'SIGTERM');
      const timer = setTimeout(() => exit || signal(proc.pid, 'SIGKILL'), graceMs);
      try {
        return await exited;
      } finally {
        clearTimeout(timer);
      }
    },
    async kill() {
      if (!exit) signal(proc.pid, 'SIGKILL');
      return exited;
    },
    async [Symbol.asyncDispose]() {
      if (!exit) await moatd.stop();
    },
  };
  return moatd;
}
