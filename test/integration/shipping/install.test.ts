// `moat install` / `moat uninstall` end to end, as an operator runs them
// (bin/moat, compiled: run `npm run build` first), into a scratch --root.
// Nothing here touches the real /etc, /usr or any service.
import { execa } from 'execa';
import { createHash } from 'node:crypto';
import { lstat, mkdir, mkdtemp, readdir, readFile, readlink, realpath, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ownPackageRoot, productionTree, readPackageJson, resolvePackage } from '../../../src/adapters/install-package.js';

const repo = ownPackageRoot();
const moat = join(repo, 'bin/moat');
const node24 = join(repo, 'node_modules/node/bin');
const PREFIX = '/opt/moat';

/** Every path under `dir`: file content hash, link target or "dir". */
async function snapshot(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const walk = async (rel: string): Promise<void> => {
    for (const name of await readdir(join(dir, rel))) {
      const path = join(rel, name);
      const st = await lstat(join(dir, path));
      if (st.isSymbolicLink()) out[path] = `-> ${await readlink(join(dir, path))}`;
      else if (st.isDirectory()) {
        out[path] = 'dir';
        await walk(path);
      } else
        out[path] = `${(st.mode & 0o777).toString(8)} ${createHash('sha256')
          .update(await readFile(join(dir, path)))
          .digest('hex')
          .slice(0, 16)}`;
    }
  };
  await walk('');
  return out;
}

const DAEMON_JSON = '{\n\t"log-driver": "journald",\n\t"iptables": true,\n\t"default-address-pools": [{"base": "10.200.0.0/16", "size": 24}]\n}\n';

describe('moat install / uninstall into a scratch root', () => {
  let root = '';
  let original: Record<string, string> = {};
  const run = (...args: string[]) => execa(moat, [...args, '--root', root], { reject: false, env: { PATH: `${node24}:${process.env.PATH ?? ''}` } });

  beforeAll(async () => {
    await readFile(join(repo, 'dist/cli/commands/install.js')).catch(() => {
      throw new Error('dist/ is not built: run `npm run build` first');
    });
    root = await mkdtemp(join(tmpdir(), 'moat-root-'));
    await mkdir(join(root, 'etc/docker'), { recursive: true });
    await writeFile(join(root, 'etc/docker/daemon.json'), DAEMON_JSON, { mode: 0o600 });
    original = await snapshot(root);
  });
  afterAll(() => rm(root, { recursive: true, force: true }));

  it('--dry-run prints the plan and the daemon.json diff, and changes nothing', async () => {
    const res = await run('install', '--prefix', PREFIX, '--configure-docker', '--dry-run');
    expect(res.exitCode, res.stderr).toBe(0);
    expect(res.stdout).toContain('Would do (dry run, nothing changed)');
    expect(res.stdout).toMatch(/^ +-\t"iptables": true,$/m);
    expect(res.stdout).toMatch(/^ +\+\t"iptables": false,$/m);
    expect(res.stdout).toMatch(/\+\t"ip6tables": false/);
    expect(await snapshot(root)).toEqual(original);
  });

  it('installs the package, links, units pointing into the prefix, the config and daemon.json', async () => {
    const res = await run('install', '--prefix', PREFIX, '--configure-docker');
    expect(res.exitCode, res.stderr).toBe(0);
    expect(res.stdout).toContain('systemctl enable --now moat-lockdown.service moatd.service');
    expect(res.stdout).toContain('systemctl restart docker');

    expect(await readlink(join(root, PREFIX, 'bin/moatd'))).toBe('../lib/moat/bin/moatd');
    const unit = await readFile(join(root, 'etc/systemd/system/moatd.service'), 'utf8');
    expect(unit).toMatch(/^ExecStart=\/opt\/moat\/bin\/moatd$/m);
    expect(await readFile(join(root, 'etc/systemd/system/moat-lockdown.service'), 'utf8')).toMatch(/^ExecStart=\/opt\/moat\/bin\/moat lockdown$/m);
    expect(await readFile(join(root, 'etc/moat/config.yaml'), 'utf8')).toBe(await readFile(join(repo, 'config/config.yaml'), 'utf8'));

    const daemon = await readFile(join(root, 'etc/docker/daemon.json'), 'utf8');
    expect(daemon).toBe(
      '{\n\t"log-driver": "journald",\n\t"iptables": false,\n\t"default-address-pools": [{"base": "10.200.0.0/16", "size": 24}],\n\t"ip6tables": false,\n\t"runtimes": {"moat":{"path":"/opt/moat/lib/moat/bin/moat-runc"}},\n\t"default-runtime": "moat"\n}\n',
    );
    expect(res.stdout).toContain('start gate: Docker\'s default runtime becomes "moat"');
    expect((await lstat(join(root, PREFIX, 'lib/moat/bin/moat-runc'))).mode & 0o111).toBe(0o111);
    expect((await lstat(join(root, 'etc/docker/daemon.json'))).mode & 0o777).toBe(0o600);
  });

  it('the installed copy runs, and its config passes `moat config check`', async () => {
    const bin = join(root, PREFIX, 'bin');
    const res = await execa(join(bin, 'moat'), ['config', 'check', join(root, 'etc/moat/config.yaml')], {
      reject: false,
      env: { PATH: `${node24}:/usr/bin:/bin` },
    });
    expect(res.exitCode, res.stderr).toBe(0);
    const help = await execa(join(bin, 'moatd'), ['--help'], { reject: false, env: { PATH: `${node24}:/usr/bin:/bin` } });
    expect(help.stdout).toContain('Usage: moatd');
  });

  it('every copied package finds, from where it was put, a copy of what it found in the source tree', async () => {
    const lib = join(root, PREFIX, 'lib/moat');
    const tree = await productionTree(repo);
    const copyOf = new Map(tree.map((p) => [join(lib, p.dest), p.source]));
    copyOf.set(await realpath(lib), await realpath(repo));
    for (const [installed, source] of copyOf) {
      const pkg = await readPackageJson(source);
      for (const dep of Object.keys({ ...pkg.dependencies, ...pkg.peerDependencies })) {
        const want = await resolvePackage(dep, source);
        if (want === null) continue; // optional peer, absent in the source too
        const got = await resolvePackage(dep, installed);
        expect(got === null ? null : copyOf.get(got), `${installed} -> ${dep}`).toBe(want);
      }
    }
  });

  it('a second install (upgrade) keeps an edited config and the first record of daemon.json', async () => {
    // The edit turns dns: grants on: daemon.json's "dns" then points Docker at the forwarder (uninstall below takes it out).
    const edited = 'denyAction: drop\ndns: { listen: 10.255.53.53 }\n';
    await writeFile(join(root, 'etc/moat/config.yaml'), edited);
    const res = await run('install', '--prefix', PREFIX, '--configure-docker');
    expect(res.exitCode, res.stderr).toBe(0);
    expect(res.stdout).toMatch(/replace +\/opt\/moat\/lib\/moat/);
    expect(res.stdout).toMatch(/keep +\/etc\/moat\/config.yaml/);
    expect(res.stdout).toContain('systemctl restart moatd.service');
    expect(await readFile(join(root, 'etc/moat/config.yaml'), 'utf8')).toBe(edited);
    const record = JSON.parse(await readFile(join(root, 'var/lib/moat/install.json'), 'utf8'));
    expect(record.docker.previous.iptables).toEqual({ present: true, value: true });
    expect(JSON.parse(await readFile(join(root, 'etc/docker/daemon.json'), 'utf8')).dns).toEqual(['10.255.53.53']);
    expect(record.docker.previous.dns).toEqual({ previous: { present: false }, wrote: ['10.255.53.53'] });
  });

  it('refuses to replace a file it did not write, before changing anything', async () => {
    const other = await mkdtemp(join(tmpdir(), 'moat-root-'));
    try {
      await mkdir(join(other, 'usr/local/bin'), { recursive: true });
      await writeFile(join(other, 'usr/local/bin/moat'), '#!/bin/sh\n');
      await mkdir(join(other, 'etc/docker'), { recursive: true });
      const res = await execa(moat, ['install', '--root', other], { reject: false, env: { PATH: `${node24}:${process.env.PATH ?? ''}` } });
      expect(res.exitCode).toBe(1);
      expect(res.stderr).toContain('/usr/local/bin/moat exists and is not a link');
      await writeFile(join(other, 'etc/docker/daemon.json'), '{"iptables": true,}');
      await rm(join(other, 'usr/local/bin/moat'));
      const bad = await execa(moat, ['install', '--root', other, '--configure-docker'], {
        reject: false,
        env: { PATH: `${node24}:${process.env.PATH ?? ''}` },
      });
      expect(bad.exitCode).toBe(1);
      expect(bad.stderr).toMatch(/daemon\.json.*not valid JSON/);
      expect(Object.keys(await snapshot(other)).sort()).toEqual(['etc', 'etc/docker', 'etc/docker/daemon.json', 'usr', 'usr/local', 'usr/local/bin']);
    } finally {
      await rm(other, { recursive: true, force: true });
    }
  });

  it('uninstall removes what install wrote, restores daemon.json (but for runtime "moat", now plain runc), keeps /etc/moat, and warns', async () => {
    // What `systemctl enable` would have added.
    await mkdir(join(root, 'etc/systemd/system/multi-user.target.wants'), { recursive: true });
    await symlink('/etc/systemd/system/moatd.service', join(root, 'etc/systemd/system/multi-user.target.wants/moatd.service'));
    const dry = await run('uninstall', '--dry-run');
    expect(dry.exitCode, dry.stderr).toBe(0);
    const before = await snapshot(root);
    expect(before['etc/systemd/system/multi-user.target.wants/moatd.service']).toBeDefined();

    const res = await run('uninstall');
    expect(res.exitCode, res.stderr).toBe(0);
    expect(res.stdout).toContain('containers lose isolation');
    expect(res.stdout).toContain('systemctl restart docker');
    // Containers created under the gate name runtime "moat": it stays, as runc itself, so they still start.
    expect(await readFile(join(root, 'etc/docker/daemon.json'), 'utf8')).toBe(DAEMON_JSON.replace(/\n}\n$/, ',\n\t"runtimes": {"moat":{"path":"runc"}}\n}\n'));
    expect(res.stdout).toMatch(/runtimes\.moat now runs runc directly/);
    const after = await snapshot(root);
    const left = Object.keys(after).filter((p) => !(p in original));
    expect(left.sort()).toEqual([
      'etc/moat',
      'etc/moat/config.yaml',
      'etc/moat/policy.d',
      'etc/systemd',
      'etc/systemd/system',
      'etc/systemd/system/multi-user.target.wants',
      'opt',
      'opt/moat',
      'opt/moat/bin',
      'opt/moat/lib',
      'var',
      'var/lib',
    ]);
    expect(after['etc/docker/daemon.json']?.split(' ')[0]).toBe(original['etc/docker/daemon.json']?.split(' ')[0]); // its mode
  });

  it("--with-node bundles the installer's Node, so moat runs where the node on PATH is too old or missing", async () => {
    const other = await mkdtemp(join(tmpdir(), 'moat-root-'));
    try {
      const res = await execa(moat, ['install', '--root', other, '--with-node', '--no-systemd'], {
        reject: false,
        env: { PATH: `${node24}:${process.env.PATH ?? ''}` },
      });
      expect(res.exitCode, res.stderr).toBe(0);
      expect(res.stdout).toContain('bundled node');
      await expect(lstat(join(other, 'etc/systemd'))).rejects.toThrow();
      const help = await execa(join(other, 'usr/local/bin/moat'), ['--help'], { reject: false, env: { PATH: '/usr/bin:/bin' } }); // the system node: v20 on this machine
      expect(help.exitCode, help.stderr).toBe(0);
      expect(help.stdout).toContain('Usage: moat');
    } finally {
      await rm(other, { recursive: true, force: true });
    }
  });

  it('uninstall --purge removes /etc/moat too; a second uninstall finds nothing', async () => {
    await run('install', '--prefix', PREFIX);
    const res = await run('uninstall', '--purge');
    expect(res.exitCode, res.stderr).toBe(0);
    await expect(lstat(join(root, 'etc/moat'))).rejects.toThrow();
    const again = await run('uninstall');
    expect(again.stdout).toContain('nothing to remove');
  });
});
