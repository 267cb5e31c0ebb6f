// The --configure-docker half of install/uninstall: reads daemon.json and
// turns the pure edit (core/daemon-json.ts) into a write step with a diff.
import { readFile, stat } from 'node:fs/promises';
import { disableDockerFirewall, restoreDockerFirewall, type PreviousValues } from '../core/daemon-json.js';
import { InstallError } from './install-layout.js';
import type { Step } from './install-steps.js';

async function readIfExists(path: string): Promise<{ text: string; mode: number } | null> {
  try {
    const [text, st] = await Promise.all([readFile(path, 'utf8'), stat(path)]);
    return { text, mode: st.mode & 0o7777 };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new InstallError(`cannot read ${path}: ${(err as Error).message}`, { cause: err });
  }
}

/** A step setting "iptables": false and "ip6tables": false, and what the keys held before. */
export async function planDockerDisable(path: string): Promise<{ step: Step; previous: PreviousValues }> {
  const file = await readIfExists(path);
  const res = disableDockerFirewall(file?.text ?? null);
  if (!res.ok) throw new InstallError(`${path}: ${res.error}`);
  const step: Step = res.changed
    ? { kind: 'write', path, content: res.text, mode: file?.mode ?? 0o644, old: file?.text ?? null, showDiff: true }
    : { kind: 'keep', path, why: 'already has "iptables": false and "ip6tables": false' };
  return { step, previous: res.previous };
}

/** A step putting back the values recorded at install, plus notes on keys left alone. */
export async function planDockerRestore(path: string, previous: PreviousValues): Promise<{ step: Step; notes: readonly string[]; changed: boolean }> {
  const file = await readIfExists(path);
  const res = restoreDockerFirewall(file?.text ?? null, previous);
  if (!res.ok) throw new InstallError(`${path}: ${res.error}`);
  if (!res.changed || !file) return { step: { kind: 'keep', path, why: 'nothing of moat\'s to restore' }, notes: res.notes, changed: false };
  return { step: { kind: 'write', path, content: res.text, mode: file.mode, old: file.text, showDiff: true }, notes: res.notes, changed: true };
}
