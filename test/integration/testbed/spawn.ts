// Long-running children (dockerd, httpd, moatd): started through a `Spawn` so
// callers record the PID and stop it by PID, never by name.
import { execa } from 'execa';
import type { Readable } from 'node:stream';

export interface Exit {
  readonly exitCode: number | null;
  readonly signal: string | null;
}

export interface Spawned {
  readonly pid: number;
  /** Resolves once the process has exited; never rejects. */
  readonly exited: Promise<Exit>;
  /** Present when the stream was asked for as 'pipe'. */
  readonly stdout: Readable | null;
  readonly stderr: Readable | null;
}

export interface SpawnOptions {
  readonly env?: Readonly<Record<string, string>>;
  /** 'pipe', 'ignore', or a file path to append to. */
  readonly stdout?: string;
  readonly stderr?: string;
}

export type Spawn = (file: string, args: readonly string[], options?: SpawnOptions) => Spawned;

const stdio = (target: string | undefined) =>
  target === undefined || target === 'ignore' ? 'ignore' : target === 'pipe' ? 'pipe' : { file: target, append: true };

export const execaSpawn: Spawn = (file, args, options = {}) => {
  const child = execa(file, [...args], {
    stdin: 'ignore',
    stdout: stdio(options.stdout),
    stderr: stdio(options.stderr),
    env: options.env ? { ...options.env } : undefined,
    reject: false,
    buffer: false,
    // If the test runner dies, execa takes its children down with it.
    cleanup: true,
  });
  if (child.pid === undefined) throw new Error(`could not start ${file}`);
  return {
    pid: child.pid,
    exited: child.then(
      (r) => ({ exitCode: r.exitCode ?? null, signal: r.signal ?? null }),
      () => ({ exitCode: null, signal: null }),
    ),
    stdout: options.stdout === 'pipe' ? child.stdout : null,
    stderr: options.stderr === 'pipe' ? child.stderr : null,
  };
};
