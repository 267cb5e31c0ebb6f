// The probe image, built offline: Debian's static busybox plus a document
// root, imported as a one-layer image (`docker import`). Nothing is pulled.
import type Docker from 'dockerode';
import { chmod, copyFile, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execaRun, type Run } from './run.js';
import { writeWwwRoot } from './www-root.js';

export const PROBE_IMAGE = 'moat-probe:latest';

const APPLETS = [
  'sh',
  'ash',
  'cat',
  'echo',
  'printf',
  'true',
  'false',
  'sleep',
  'timeout',
  'kill',
  'ps',
  'ls',
  'mkdir',
  'rm',
  'env',
  'id',
  'hostname',
  'grep',
  'sed',
  'tr',
  'seq',
  'wc',
  'head',
  'nc',
  'wget',
  'httpd',
  'ip',
  'ifconfig',
  'route',
  'netstat',
  'ping',
  'ping6',
  'traceroute',
  'nslookup',
];

// PID 1 of a server container: start one httpd per port (busybox httpd binds
// before it daemonizes, so "ready" means every port is listening), then idle
// until told to stop. The trap makes `docker stop` immediate.
const SERVE = `#!/bin/sh
set -e
for port in "$@"; do httpd -p "$port" -h /www; done
trap 'exit 0' TERM INT
echo ready
sleep 2147483647 &
wait
`;

export interface ProbeImageOptions {
  readonly tag?: string;
  readonly busybox?: string;
  /** Scratch space for the root file system and the tarball; removed afterwards. */
  readonly tmpDir?: string;
  readonly run?: Run;
}

/** Builds (or finds) the probe image in `docker`; returns its reference. */
export async function buildProbeImage(docker: Docker, options: ProbeImageOptions = {}): Promise<string> {
  const tag = options.tag ?? PROBE_IMAGE;
  const [repo = tag, version = 'latest'] = tag.split(':');
  if (
    await docker
      .getImage(tag)
      .inspect()
      .then(
        () => true,
        () => false,
      )
  )
    return tag;
  const run = options.run ?? execaRun;
  const work = await mkdtemp(join(options.tmpDir ?? '/tmp', 'probe-image-'));
  try {
    const root = join(work, 'root');
    for (const dir of ['bin', 'etc', 'tmp', 'proc', 'sys', 'dev']) await mkdir(join(root, dir), { recursive: true });
    await copyFile(options.busybox ?? '/bin/busybox', join(root, 'bin/busybox'));
    await chmod(join(root, 'bin/busybox'), 0o755);
    for (const applet of APPLETS) await symlink('busybox', join(root, 'bin', applet));
    await writeFile(join(root, 'bin/serve'), SERVE, { mode: 0o755 });
    await writeFile(join(root, 'etc/passwd'), 'root:x:0:0:root:/:/bin/sh\n');
    await writeFile(join(root, 'etc/group'), 'root:x:0:\n');
    await writeWwwRoot(join(root, 'www'));
    const tarball = join(work, 'root.tar');
    await run('tar', ['-C', root, '-cf', tarball, '.']);
    const progress = await docker.importImage(tarball, { repo, tag: version });
    await new Promise<void>((resolve, reject) => docker.modem.followProgress(progress, (err: Error | null) => (err ? reject(err) : resolve())));
    await docker.getImage(tag).inspect();
    return tag;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
