// Where `moat install` puts things. Every path exists twice: as the host will
// see it (`prefix`-relative, written into units and messages) and as the
// installer writes it (under `--root`, so tests use a scratch directory).
import { isAbsolute, join, resolve } from 'node:path';

export const UNIT_NAMES = ['moatd.service', 'moat-lockdown.service'] as const;
export const BIN_NAMES = ['moat', 'moatd'] as const;

export interface InstallLayout {
  /** The directory standing for `/` (`--root`). */
  readonly root: string;
  /** Host path of the prefix, e.g. /usr/local. */
  readonly prefix: string;
  /** The copied package: PREFIX/lib/moat. */
  readonly libDir: string;
  /** PREFIX/bin, holding the moat and moatd links. */
  readonly binDir: string;
  /** Local-admin units: searched by every systemd, whatever the prefix. */
  readonly unitDir: string;
  readonly configDir: string;
  readonly configFile: string;
  readonly daemonJson: string;
  /** What was installed and what daemon.json held before, for uninstall. */
  readonly manifest: string;
  readonly stateDir: string;
}

export class InstallError extends Error {
  override name = 'InstallError';
}

/** Paths as the host will see them (no root). */
export function hostLayout(prefix: string): InstallLayout {
  return layout('/', prefix);
}

/** Paths to write to: the host layout under `root`. */
export function installLayout(root: string, prefix: string): InstallLayout {
  return layout(resolve(root), prefix);
}

/** Strips `root` from a path this installer wrote, for messages and records. */
export function hostPath(l: InstallLayout, path: string): string {
  return l.root === '/' ? path : `/${path.slice(l.root.length).replace(/^\/+/, '')}`;
}

function layout(root: string, prefix: string): InstallLayout {
  if (!isAbsolute(prefix)) throw new InstallError(`--prefix must be an absolute path, not ${JSON.stringify(prefix)}`);
  const at = (p: string) => join(root, p);
  const pre = resolve(prefix);
  return {
    root,
    prefix: pre,
    libDir: at(join(pre, 'lib/moat')),
    binDir: at(join(pre, 'bin')),
    unitDir: at('/etc/systemd/system'),
    configDir: at('/etc/moat'),
    configFile: at('/etc/moat/config.yaml'),
    daemonJson: at('/etc/docker/daemon.json'),
    stateDir: at('/var/lib/moat'),
    manifest: at('/var/lib/moat/install.json'),
  };
}
