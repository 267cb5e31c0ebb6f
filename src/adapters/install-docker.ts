// The --configure-docker half of install/uninstall: reads daemon.json and
// turns the pure edit (core/daemon-json.ts) into a write step with a diff.
import { readFile, stat } from 'node:fs/promises';
import { disableDockerFirewall, restoreDockerFirewall, type PreviousValues } from '../core/daemon-json.js';
import { type GatePrevious, type GateTarget, registerStartGate, unregisterStartGate } from '../core/daemon-json-gate.js';
import { type DnsPrevious, pointDockerDns, restoreDockerDns } from './install-dns.js';
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

export interface DockerPlan {
  readonly step: Step;
  readonly previous: PreviousValues;
  /** The start gate: what default-runtime and runtimes.moat held before, and what it wraps; or why it was not registered. */
  readonly gate: { readonly previous: GatePrevious; readonly wraps: string } | { readonly error: string } | null;
  /** With dns.listen set: "dns" before moat pointed it at the forwarder, and the operator's entries it replaced. */
  readonly dns: (DnsPrevious & { readonly replaced: readonly unknown[] }) | null;
}

/** A step setting "iptables": false and "ip6tables": false (and registering the start gate), and what the keys held before. */
export async function planDockerDisable(path: string, gate: GateTarget | null = null, dnsListen: string | null = null): Promise<DockerPlan> {
  const file = await readIfExists(path);
  const res = disableDockerFirewall(file?.text ?? null);
  if (!res.ok) throw new InstallError(`${path}: ${res.error}`);
  let text = res.text;
  let gateResult: DockerPlan['gate'] = null;
  if (gate) {
    const g = registerStartGate(text, gate);
    if (g.ok) {
      text = g.text;
      gateResult = { previous: g.previous, wraps: g.wraps };
    } else gateResult = { error: g.error };
  }
  let dns: DockerPlan['dns'] = null;
  if (dnsListen !== null) {
    const d = pointDockerDns(text, dnsListen);
    if (!d.ok) throw new InstallError(`${path}: ${d.error}`);
    text = d.text;
    dns = { previous: d.previous, wrote: [dnsListen], replaced: d.replaced };
  }
  const step: Step =
    text !== (file?.text ?? null)
      ? { kind: 'write', path, content: text, mode: file?.mode ?? 0o644, old: file?.text ?? null, showDiff: true }
      : { kind: 'keep', path, why: `already has "iptables": false and "ip6tables": false${gateResult && 'wraps' in gateResult ? ' and the start gate' : ''}` };
  return { step, previous: res.previous, gate: gateResult, dns };
}

/** A step putting back the values recorded at install (the start gate's too), plus notes on keys left alone. */
export async function planDockerRestore(
  path: string,
  previous: PreviousValues & { readonly gate?: GatePrevious; readonly dns?: DnsPrevious },
): Promise<{ step: Step; notes: readonly string[]; changed: boolean }> {
  const file = await readIfExists(path);
  const res = restoreDockerFirewall(file?.text ?? null, previous);
  if (!res.ok) throw new InstallError(`${path}: ${res.error}`);
  let text = res.text;
  const notes = [...res.notes];
  if (previous.gate && file) {
    const g = unregisterStartGate(text, previous.gate);
    if (!g.ok) throw new InstallError(`${path}: ${g.error}`);
    text = g.text;
    notes.push(...g.notes);
  }
  if (previous.dns && file) {
    const d = restoreDockerDns(text, previous.dns);
    if (!d.ok) throw new InstallError(`${path}: ${d.error}`);
    text = d.text;
    notes.push(...d.notes);
  }
  if (!file || text === file.text) return { step: { kind: 'keep', path, why: "nothing of moat's to restore" }, notes, changed: false };
  return { step: { kind: 'write', path, content: text, mode: file.mode, old: file.text, showDiff: true }, notes, changed: true };
}
