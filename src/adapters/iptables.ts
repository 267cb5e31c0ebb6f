// iptables-save / iptables-restore for one address family, through a
// command runner passed in (execa in production, a fake in tests).
import { parseSave, type LiveState } from '../core/live.js';
import type { Family } from '../core/model.js';
import type { TableName } from '../core/names.js';

export interface CommandResult {
  readonly stdout: string;
  readonly stderr: string;
  readonly exitCode: number;
}

/**
 * Runs a program to completion; never throws for a non-zero exit. `onSpawn`
 * hears the child's pid as soon as it runs (the drift watcher knows moat's own
 * commits by it).
 */
export type CommandRunner = (file: string, args: readonly string[], input?: string, onSpawn?: (pid: number) => void) => Promise<CommandResult>;

export class RestoreError extends Error {
  constructor(
    message: string,
    readonly family: Family,
    readonly text: string,
    readonly stderr: string,
    /** 1-based line of `text` the tool named, when it named one. */
    readonly line: number | null,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'RestoreError';
  }

  /** The restore input around the failing line, numbered, for the log. */
  context(radius = 3): string {
    const lines = this.text.split('\n');
    const at = this.line ?? 1;
    const from = Math.max(1, at - radius);
    const to = Math.min(lines.length, at + radius);
    const out: string[] = [];
    for (let n = from; n <= to; n++) out.push(`${n === this.line ? '>' : ' '}${String(n).padStart(5)}: ${lines[n - 1]}`);
    return out.join('\n');
  }
}

export class SaveError extends Error {
  override name = 'SaveError';
}

export class Iptables {
  constructor(
    private readonly run: CommandRunner,
    readonly family: Family,
    /** Seconds to wait for the xtables lock (legacy backend) before failing. */
    private readonly waitS = 5,
  ) {}

  private tool(kind: 'save' | 'restore'): string {
    return `${this.family === 4 ? 'iptables' : 'ip6tables'}-${kind}`;
  }

  async save(table: TableName): Promise<string> {
    const res = await this.run(this.tool('save'), ['-t', table]);
    if (res.exitCode !== 0) throw new SaveError(`${this.tool('save')} -t ${table} failed (exit ${res.exitCode}): ${res.stderr.trim()}`);
    return res.stdout;
  }

  /** Every table in one `iptables-save` call, parsed. */
  async live(): Promise<LiveState> {
    const res = await this.run(this.tool('save'), []);
    if (res.exitCode !== 0) throw new SaveError(`${this.tool('save')} failed (exit ${res.exitCode}): ${res.stderr.trim()}`);
    return parseSave(res.stdout);
  }

  /** Commits atomically per table; on failure nothing of the failing table is applied. */
  async restore(text: string): Promise<void> {
    const res = await this.run(this.tool('restore'), ['--noflush', '--wait', String(this.waitS)], text);
    if (res.exitCode === 0) return;
    const stderr = res.stderr.trim();
    const m = /line:? (\d+)/i.exec(stderr);
    const line = m ? Number(m[1]) : null;
    // nf_tables checks a table's rules when it commits them: it then names the table's COMMIT line, not the rule.
    const atCommit = line !== null && text.split('\n')[line - 1]?.trim() === 'COMMIT';
    const hint = atCommit ? " (the kernel refused the table this COMMIT ends: the bad rule is one of that table's)" : '';
    throw new RestoreError(`${this.tool('restore')} failed (exit ${res.exitCode}): ${stderr.split('\n')[0] ?? ''}${hint}`, this.family, text, stderr, line);
  }

  /** True when this family's tools run and the kernel answers. */
  async available(): Promise<boolean> {
    try {
      return (await this.run(this.tool('save'), ['-t', 'filter'])).exitCode === 0;
    } catch {
      return false;
    }
  }
}
