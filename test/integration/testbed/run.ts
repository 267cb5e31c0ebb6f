// Every short command the bed runs goes through a `Run`, so helpers take it
// as a parameter and a test can fake or log it. Never a shell.
import { execa } from 'execa';
import { constants } from 'node:os';

export interface RunResult {
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface RunOptions {
  readonly input?: string;
  readonly env?: Readonly<Record<string, string>>;
  readonly timeoutMs?: number;
  /** Throw on a non-zero exit (default true). */
  readonly check?: boolean;
}

export type Run = (file: string, args: readonly string[], options?: RunOptions) => Promise<RunResult>;

export class RunError extends Error {
  constructor(
    readonly argv: readonly string[],
    readonly result: RunResult,
  ) {
    super(`\`${argv.join(' ')}\` exited ${result.exitCode}: ${result.stderr.trim() || result.stdout.trim()}`);
    this.name = 'RunError';
  }
}

/** The real runner: execa, bounded in time (default 30 s). */
export const execaRun: Run = async (file, args, options = {}) => {
  const res = await execa(file, [...args], {
    input: options.input ?? '',
    env: options.env ? { ...options.env } : undefined,
    timeout: options.timeoutMs ?? 30_000,
    reject: false,
  });
  const result: RunResult = {
    // execa leaves exitCode undefined when the process died of a signal (report it the
    // way a shell does, 128 + signo) or never started.
    exitCode: res.exitCode ?? 128 + (res.signal ? constants.signals[res.signal] : 0),
    stdout: String(res.stdout ?? ''),
    stderr: res.exitCode === undefined ? `${String(res.stderr ?? '')}${res.shortMessage}` : String(res.stderr ?? ''),
  };
  if ((options.check ?? true) && result.exitCode !== 0) throw new RunError([file, ...args], result);
  return result;
};
