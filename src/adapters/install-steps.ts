// Install and uninstall are planned as a list of steps first (so --dry-run
// prints exactly what a real run does, and every refusal happens before the
// first change), then applied in order. Each file is replaced by rename, so
// an interrupted run never leaves a half-written unit, config or daemon.json.
import { chmod, copyFile, lstat, mkdir, rename, rm, rmdir, symlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { createTwoFilesPatch } from 'diff';
import { assertNever } from '../core/assert-never.js';
import { copyPackage, type Placement } from './install-package.js';

export type Step =
  | {
      readonly kind: 'package';
      readonly path: string;
      readonly from: string;
      readonly version: string;
      readonly files: readonly string[];
      readonly tree: readonly Placement[];
      readonly node: string | null;
      readonly replaces: boolean;
    }
  | { readonly kind: 'link'; readonly path: string; readonly target: string }
  | { readonly kind: 'mkdir'; readonly path: string }
  | { readonly kind: 'write'; readonly path: string; readonly content: string; readonly mode: number; readonly old: string | null; readonly showDiff: boolean }
  | { readonly kind: 'keep'; readonly path: string; readonly why: string }
  | { readonly kind: 'remove'; readonly path: string; readonly why?: string }
  | { readonly kind: 'rmdir-if-empty'; readonly path: string };

export interface Plan {
  readonly steps: readonly Step[];
  /** Printed before the steps: what the operator must know. */
  readonly warnings: readonly string[];
  /** Commands the operator runs afterwards (moat never runs systemctl). */
  readonly next: readonly string[];
}

/** Human lines for one step; `show` maps a written path to the host's view of it. */
export function describeStep(step: Step, show: (path: string) => string): string[] {
  const p = show(step.path);
  switch (step.kind) {
    case 'package':
      return [
        `${step.replaces ? 'replace' : 'copy   '} ${p}  (moat ${step.version}, ${step.tree.length} production packages${step.node ? ', bundled node' : ''}, from ${step.from})`,
      ];
    case 'link':
      return [`link    ${p} -> ${step.target}`];
    case 'mkdir':
      return [`mkdir   ${p}`];
    case 'write': {
      const head = `${step.old === null ? 'create ' : 'update '} ${p}`;
      if (!step.showDiff) return [head];
      const patch = createTwoFilesPatch(p, p, step.old ?? '', step.content, step.old === null ? '(does not exist)' : 'now', 'after moat', { context: 3 });
      return [
        head,
        ...patch
          .trimEnd()
          .split('\n')
          .slice(1)
          .map((l) => `    ${l}`),
      ];
    }
    case 'keep':
      return [`keep    ${p}  (${step.why})`];
    case 'remove':
      return [`remove  ${p}${step.why ? `  (${step.why})` : ''}`];
    case 'rmdir-if-empty':
      return [`remove  ${p}  (if empty)`];
    default:
      return assertNever(step);
  }
}

export async function applyStep(step: Step, pid: number): Promise<void> {
  switch (step.kind) {
    case 'package': {
      const fresh = `${step.path}.new-${pid}`;
      const old = `${step.path}.old-${pid}`;
      await rm(fresh, { recursive: true, force: true });
      try {
        await copyPackage(step.from, step.files, step.tree, fresh);
        if (step.node) {
          const node = join(fresh, 'node_modules/node/bin/node');
          await mkdir(dirname(node), { recursive: true });
          await copyFile(step.node, node);
          await chmod(node, 0o755);
        }
      } catch (err) {
        await rm(fresh, { recursive: true, force: true });
        throw err;
      }
      // Swap by rename: a running moatd keeps its open files until restarted.
      if (await present(step.path)) await rename(step.path, old);
      await rename(fresh, step.path);
      await rm(old, { recursive: true, force: true });
      return;
    }
    case 'link':
      await mkdir(dirname(step.path), { recursive: true });
      await rm(step.path, { force: true });
      await symlink(step.target, step.path);
      return;
    case 'mkdir':
      await mkdir(step.path, { recursive: true, mode: 0o755 });
      return;
    case 'write': {
      await mkdir(dirname(step.path), { recursive: true });
      const tmp = `${step.path}.moat-${pid}`;
      await writeFile(tmp, step.content, { mode: step.mode });
      await chmod(tmp, step.mode);
      await rename(tmp, step.path);
      return;
    }
    case 'keep':
      return;
    case 'remove':
      await rm(step.path, { recursive: true, force: true });
      return;
    case 'rmdir-if-empty':
      await rmdir(step.path).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'ENOTEMPTY' && err.code !== 'ENOENT') throw err;
      });
      return;
    default:
      assertNever(step);
  }
}

export async function present(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch {
    return false;
  }
}
