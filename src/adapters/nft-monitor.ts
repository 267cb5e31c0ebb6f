// `nft monitor`: a line for every change to the nf_tables ruleset of this
// network namespace, as it happens. iptables-nft writes nf_tables, so every
// iptables/ip6tables change shows up (a rule, chain or table line, then
// "# new generation N by process PID (COMM)" when the transaction commits).
// The legacy backend does not: there, nothing tells us, and the kernel is polled.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { CommandRunner } from './iptables.js';

export type MonitorLine =
  /** A transaction committed, by this process (kernel pid, comm truncated to 15 characters). */
  | { readonly kind: 'generation'; readonly pid: number; readonly comm: string }
  /** Anything else: a rule, chain, set or table changed, or an error (e.g. events lost). */
  | { readonly kind: 'change' };

const GENERATION = /^# new generation \d+ by process (\d+) \((.*)\)$/;

/** One line of `nft monitor` output; null for a blank line. */
export function parseMonitorLine(line: string): MonitorLine | null {
  const text = line.trim();
  if (text === '') return null;
  const m = GENERATION.exec(text);
  return m ? { kind: 'generation', pid: Number(m[1]), comm: m[2]! } : { kind: 'change' };
}

export interface MonitorEnd {
  /** The program is not installed: no point in starting it again. */
  readonly missing: boolean;
  readonly reason: string;
}

export interface MonitorHandlers {
  readonly onLine: (line: MonitorLine) => void;
  /** Once, when the monitor dies or cannot start; never after `close()`. */
  readonly onEnd: (end: MonitorEnd) => void;
}

/** Starts following the ruleset; the returned function stops (kills) it. */
export type RulesetMonitor = (handlers: MonitorHandlers) => () => void;

/** The production monitor: a long-lived `nft monitor` child, killed by its own handle. */
export function nftMonitor(file = 'nft'): RulesetMonitor {
  return ({ onLine, onEnd }) => {
    let ended = false;
    const end = (e: MonitorEnd) => {
      if (ended) return;
      ended = true;
      onEnd(e);
    };
    const child = spawn(file, ['monitor'], { stdio: ['ignore', 'pipe', 'pipe'] });
    // stderr too: an error nft reports (lost events) means "look again".
    for (const stream of [child.stdout, child.stderr]) {
      createInterface({ input: stream }).on('line', (text) => {
        const line = parseMonitorLine(text);
        if (line && !ended) onLine(line);
      });
    }
    child.on('error', (err: NodeJS.ErrnoException) => end({ missing: err.code === 'ENOENT', reason: String(err) }));
    child.on('exit', (code, signal) => end({ missing: false, reason: signal ? `killed by ${signal}` : `exited with ${code}` }));
    return () => {
      ended = true;
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    };
  };
}

/** True when every family's iptables writes nf_tables (`iptables --version` says "(nf_tables)"). */
export async function nfTablesBackend(run: CommandRunner, families: readonly number[]): Promise<boolean> {
  for (const f of families) {
    const res = await run(f === 4 ? 'iptables' : 'ip6tables', ['--version']).catch(() => null);
    if (!res || res.exitCode !== 0 || !res.stdout.includes('(nf_tables)')) return false;
  }
  return true;
}
