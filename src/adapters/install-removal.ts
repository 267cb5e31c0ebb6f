// What `moat uninstall` will do: the reverse of install-plan.ts, led by the
// install record when there is one, and touching only what moat wrote.
import { readdir, readlink } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { planDockerRestore } from './install-docker.js';
import { BIN_NAMES, hostLayout, installLayout, UNIT_NAMES, type InstallLayout } from './install-layout.js';
import { readManifest } from './install-manifest.js';
import { present, type Plan, type Step } from './install-steps.js';

export interface UninstallOptions {
  readonly root: string;
  /** Defaults to the prefix in the install record, else /usr/local. */
  readonly prefix: string | undefined;
  /** Also remove /etc/moat (config and policy files). */
  readonly purge: boolean;
}

export const ISOLATION_WARNING =
  'moat\'s chains stay in the kernel (and keep containers isolated) until `moat flush` or a reboot. Once they are gone, containers lose isolation: with "iptables": false nothing else filters their traffic. Give Docker its own firewall back (daemon.json without "iptables": false, then restart Docker) or run another one.';

export async function planUninstall(o: UninstallOptions): Promise<{ plan: Plan; layout: InstallLayout; installed: boolean }> {
  const manifest = await readManifest(installLayout(o.root, '/').manifest);
  const l = installLayout(o.root, o.prefix ?? manifest?.prefix ?? '/usr/local');
  const steps: Step[] = [];
  const warnings: string[] = [ISOLATION_WARNING];
  const next: string[] = [];

  if (await present(join(o.root, 'run/moat'))) {
    warnings.push(
      'moatd seems to be running (/run/moat exists). It keeps enforcing from deleted files until stopped: run `systemctl disable --now moatd.service moat-lockdown.service` (before this, or right after).',
    );
  }
  let units = false;
  for (const name of UNIT_NAMES) {
    const path = join(l.unitDir, name);
    if (await present(path)) {
      steps.push({ kind: 'remove', path });
      units = true;
    }
    // What `systemctl enable` created; left behind they would dangle.
    for (const dir of await readdir(l.unitDir).catch(() => [] as string[])) {
      const link = join(l.unitDir, dir, name);
      if (/\.(wants|requires)$/.test(dir) && (await readlink(link).catch(() => null)) !== null)
        steps.push({ kind: 'remove', path: link, why: 'enablement link' });
    }
  }
  for (const name of BIN_NAMES) {
    const path = join(l.binDir, name);
    const target = await readlink(path).catch(() => null);
    if (target === null) continue;
    const points = resolve(l.binDir, target);
    const ours = [join(l.libDir, 'bin', name), join(hostLayout(l.prefix).libDir, 'bin', name)].includes(points);
    steps.push(ours ? { kind: 'remove', path } : { kind: 'keep', path, why: `points to ${target}, not to moat's install` });
  }
  const installed = await present(l.libDir);
  if (installed) steps.push({ kind: 'remove', path: l.libDir });

  if (manifest?.docker) {
    const { step, notes, changed } = await planDockerRestore(l.daemonJson, manifest.docker.previous);
    steps.push(step);
    warnings.push(...notes.map((n) => `${manifest.docker?.path}: ${n}`));
    if (changed) next.push('systemctl restart docker   # Docker writes its own firewall rules again');
  }
  if (o.purge) {
    if (await present(l.configDir)) steps.push({ kind: 'remove', path: l.configDir, why: '--purge' });
  } else if (await present(l.configDir)) {
    steps.push({ kind: 'keep', path: l.configDir, why: 'config and policy files; --purge removes them' });
  }
  if (manifest) steps.push({ kind: 'remove', path: l.manifest }, { kind: 'rmdir-if-empty', path: l.stateDir });
  if (units) next.unshift('systemctl daemon-reload');
  return { plan: { steps, warnings, next }, layout: l, installed: installed || manifest !== null || units };
}
