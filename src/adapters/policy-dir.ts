// Loads /etc/moat/policy.d/*.yaml. A file that fails to parse is rejected
// whole (logged with path and line) and its last good version stays in
// force; a file that disappears takes its grants with it.
import { type FSWatcher, watch } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { parsePolicyFile, type PolicyRule } from '../core/policy-file.js';

const POLICY_FILE = /^[^.].*\.ya?ml$/;

export class PolicyDir {
  private readonly good = new Map<string, PolicyRule[]>();
  private watcher: FSWatcher | null = null;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private dir: string,
    private readonly log: Logger,
  ) {}

  rules(): PolicyRule[] {
    return [...this.good.keys()].sort().flatMap((f) => this.good.get(f)!);
  }

  /** Rereads every file; true when the rules in force changed. */
  async load(): Promise<boolean> {
    const before = JSON.stringify(this.rules());
    let names: string[] = [];
    try {
      names = (await readdir(this.dir)).filter((n) => POLICY_FILE.test(n)).sort();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT')
        this.log.warn({ event: 'policy_dir_unreadable', dir: this.dir, err: String(err) }, 'cannot read the policy directory');
    }
    const seen = new Set<string>();
    for (const name of names) {
      const path = join(this.dir, name);
      seen.add(path);
      let text: string;
      try {
        text = await readFile(path, 'utf8');
      } catch (err) {
        this.log.error({ event: 'policy_rejected', path, line: 0, err: String(err) }, `${path}: cannot read; its last good version stays`);
        continue;
      }
      const { rules, errors } = parsePolicyFile(path, text);
      if (errors.length > 0) {
        const first = errors[0]!;
        this.log.error(
          { event: 'policy_rejected', path, line: first.line, err: first.message, errors },
          `${path}:${first.line}: ${first.message}; the file's last good version stays`,
        );
        continue;
      }
      this.good.set(path, rules);
    }
    for (const path of [...this.good.keys()]) if (!seen.has(path)) this.good.delete(path);
    const changed = JSON.stringify(this.rules()) !== before;
    if (changed) this.log.info({ event: 'policy_loaded', dir: this.dir, files: [...this.good.keys()], rules: this.rules().length }, 'policy files loaded');
    return changed;
  }

  /** Calls `onChange` (debounced) when a file in the directory changes. */
  watch(onChange: () => void): void {
    try {
      this.watcher = watch(this.dir, () => {
        if (this.timer) clearTimeout(this.timer);
        this.timer = setTimeout(() => {
          this.timer = null;
          void this.load().then((changed) => changed && onChange());
        }, 100);
      });
      this.watcher.on('error', () => this.stop());
    } catch {
      // No directory yet: SIGHUP still reloads.
    }
  }

  stop(): void {
    this.watcher?.close();
    this.watcher = null;
    if (this.timer) clearTimeout(this.timer);
  }
}
