// What `moat install` will do, decided before anything is touched.
import { readFile, readlink } from 'node:fs/promises';
import { join, relative } from 'node:path';
import type { Config } from '../core/config.js';
import { DEFAULT_GATE_SOCKET } from '../core/daemon-json-gate.js';
import { loadConfig } from './config-file.js';
import { planDockerDisable } from './install-docker.js';
import { BIN_NAMES, hostPath, installLayout, InstallError, UNIT_NAMES, type InstallLayout } from './install-layout.js';
import { readManifest, renderManifest, type Manifest } from './install-manifest.js';
import { packageFiles, productionTree, readPackageJson } from './install-package.js';
import { present, type Plan, type Step } from './install-steps.js';
import { readUnitTemplate, renderUnit } from './install-units.js';

export interface InstallOptions {
  readonly root: string;
  readonly prefix: string;
  readonly configureDocker: boolean;
  /** With configureDocker: register bin/moat-runc as Docker's default runtime (the start gate). */
  readonly startGate?: boolean;
  /** Write the systemd units (off for container images). */
  readonly systemd: boolean;
  /** A node binary to bundle into the package (the wrappers prefer it), or null. */
  readonly bundleNode: string | null;
  /** The package to install: the one this code runs from. */
  readonly packageRoot: string;
  /** `node --version` of the node the wrappers would fall back to, null if none. */
  readonly nodeOnPath: () => Promise<string | null>;
}

export const MIN_NODE_MAJOR = 22;

/** The config the install keeps (or the defaults when there is none); null when it cannot be read or is not valid. */
async function keptConfig(configFile: string): Promise<Config | null> {
  try {
    return await loadConfig(configFile, false);
  } catch {
    return null;
  }
}

export async function planInstall(o: InstallOptions): Promise<{ plan: Plan; layout: InstallLayout }> {
  const l = installLayout(o.root, o.prefix);
  const pkg = await readPackageJson(o.packageRoot);
  const previous = await readManifest(l.manifest);
  const steps: Step[] = [];
  const warnings: string[] = [];
  const next: string[] = [];
  const upgrade = await present(l.libDir);

  const [files, tree] = await Promise.all([packageFiles(o.packageRoot, pkg), productionTree(o.packageRoot)]);
  steps.push({ kind: 'package', path: l.libDir, from: o.packageRoot, version: pkg.version, files, tree, node: o.bundleNode, replaces: upgrade });
  for (const name of BIN_NAMES) {
    const path = join(l.binDir, name);
    if ((await present(path)) && !(await readlink(path).catch(() => null))) {
      throw new InstallError(`${hostPath(l, path)} exists and is not a link: remove it (or install with another --prefix) first`);
    }
    steps.push({ kind: 'link', path, target: relative(l.binDir, join(l.libDir, 'bin', name)) });
  }

  const units: string[] = [];
  if (o.systemd) {
    for (const name of UNIT_NAMES) {
      const path = join(l.unitDir, name);
      const content = renderUnit(await readUnitTemplate(o.packageRoot, name), l.prefix);
      const old = await readFile(path, 'utf8').catch(() => null);
      steps.push(old === content ? { kind: 'keep', path, why: 'unchanged' } : { kind: 'write', path, content, mode: 0o644, old, showDiff: false });
      units.push(hostPath(l, path));
    }
  }

  const configExists = await present(l.configFile);
  if (configExists) steps.push({ kind: 'keep', path: l.configFile, why: 'exists; moat install never overwrites a config' });
  else
    steps.push({
      kind: 'write',
      path: l.configFile,
      content: await readFile(join(o.packageRoot, 'config/config.yaml'), 'utf8'),
      mode: 0o644,
      old: null,
      showDiff: false,
    });
  const policyDir = join(l.configDir, 'policy.d');
  if (!(await present(policyDir))) steps.push({ kind: 'mkdir', path: policyDir });

  let docker = previous?.docker ?? null;
  if (o.configureDocker) {
    // Where the start gate asks (control.socket) and the DNS forwarder's address (dns.listen), from the config the install keeps.
    const config = await keptConfig(l.configFile);
    const socket = config?.control.socket ?? DEFAULT_GATE_SOCKET;
    const gateTarget = o.startGate === false ? null : { wrapper: join(l.prefix, 'lib/moat/bin/moat-runc'), socket };
    const { step, previous: before, gate, dns } = await planDockerDisable(l.daemonJson, gateTarget, config?.dns.listen ?? null);
    steps.push(step);
    // The values from before moat's first change are the ones to restore.
    docker ??= { path: hostPath(l, l.daemonJson), previous: before };
    // The first install's "dns" is the one to restore; what moat wrote is this install's.
    if (dns) docker = { ...docker, previous: { ...docker.previous, dns: { previous: docker.previous.dns?.previous ?? dns.previous, wrote: [...dns.wrote] } } };
    if (dns && dns.replaced.length > 0)
      warnings.push(
        `${hostPath(l, l.daemonJson)}: "dns" pointed Docker at ${JSON.stringify(dns.replaced)}; it now holds only [${JSON.stringify(dns.wrote[0])}], moat's forwarder (dns.listen), which asks dns.upstream (or the host's resolv.conf) in their place`,
      );
    if (gate && 'error' in gate)
      warnings.push(`${hostPath(l, l.daemonJson)}: ${gate.error}; without it a new container's first connections can fail until moatd has committed its rules`);
    if (gate && 'wraps' in gate) {
      if (!docker.previous.gate) docker = { ...docker, previous: { ...docker.previous, gate: gate.previous } };
      if (step.kind === 'write')
        warnings.push(
          `start gate: Docker's default runtime becomes "moat" (${gateTarget?.wrapper}, handing over to ${gate.wraps}); containers created from now on wait for their rules before their process starts. Bypass it for one container with \`docker run --runtime runc\`.`,
        );
    }
    if (step.kind === 'write') {
      warnings.push(
        'Docker reads daemon.json only when it starts. Restart it after moatd is running; the rules Docker wrote before stay until reboot, so a reboot is the cleanest switch-over.',
      );
      next.push('systemctl restart docker');
    }
  }

  const manifest: Manifest = {
    version: 1,
    moatVersion: pkg.version,
    prefix: l.prefix,
    paths: [...BIN_NAMES.map((b) => hostPath(l, join(l.binDir, b))), ...units],
    config: { path: hostPath(l, l.configFile), createdByMoat: previous?.config.createdByMoat ?? !configExists },
    docker,
  };
  steps.push({
    kind: 'write',
    path: l.manifest,
    content: renderManifest(manifest),
    mode: 0o644,
    old: await readFile(l.manifest, 'utf8').catch(() => null),
    showDiff: false,
  });

  if (o.systemd) {
    next.unshift('systemctl daemon-reload', upgrade ? 'systemctl restart moatd.service' : 'systemctl enable --now moat-lockdown.service moatd.service');
  }
  if (o.bundleNode === null) {
    const version = await o.nodeOnPath();
    const major = version === null ? null : Number(/^v?(\d+)/.exec(version)?.[1] ?? 0);
    if (major === null || major < MIN_NODE_MAJOR) {
      warnings.push(
        `moat needs Node >= ${MIN_NODE_MAJOR}; the node on PATH is ${version ?? 'missing'}. Install a newer one, or re-run with --with-node to bundle the Node running this installer (${process.version}).`,
      );
    }
  }
  return { plan: { steps, warnings, next }, layout: l };
}
