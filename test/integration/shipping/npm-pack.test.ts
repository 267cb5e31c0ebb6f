// The npm package: `npm pack` holds what an installed moat needs (and no
// sources or tests), its bin entries are moat and moatd, and a global
// install of the tarball into a temp prefix runs. The install fetches the
// production dependencies from the npm registry (reachable on the test host).
//
// Node: the bin wrappers run the node on PATH. moat needs Node >= 22
// (execa uses Set.prototype.union); on a host whose system node is older the
// wrappers fail, so the runs put the repository's Node 24 first on PATH, and
// one case records what the system node does.
import { execa } from 'execa';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ownPackageRoot } from '../../../src/adapters/install-package.js';

const repo = ownPackageRoot();
const node24 = join(repo, 'node_modules/node/bin');

interface PackResult {
  readonly filename: string;
  readonly files: readonly { path: string }[];
}

describe('npm package', { timeout: 300_000 }, () => {
  let tmp = '';
  let pack: PackResult;
  beforeAll(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'moat-pack-'));
    const res = await execa('npm', ['pack', '--json', '--pack-destination', tmp], { cwd: repo, env: { PATH: `${node24}:${process.env.PATH ?? ''}` } });
    pack = (JSON.parse(res.stdout) as PackResult[])[0]!;
  }, 120_000);
  afterAll(() => rm(tmp, { recursive: true, force: true }));

  it('contains the wrappers, the compiled code, the units and the example config, and no sources or tests', () => {
    const paths = pack.files.map((f) => f.path);
    expect(paths).toEqual(
      expect.arrayContaining([
        'package.json',
        'bin/moat',
        'bin/moatd',
        'dist/cli/moat.js',
        'dist/cli/moatd.js',
        'dist/cli/commands/install.js',
        'config/config.yaml',
        'systemd/moatd.service',
        'systemd/moat-lockdown.service',
      ]),
    );
    expect(paths.filter((p) => /^(src|test|bench|scripts|node_modules)\/|\.test\.js$|\.ts$/.test(p))).toEqual([]);
  });

  it('installs globally from the tarball; moat --help and moatd --help run', async () => {
    const prefix = join(tmp, 'prefix');
    const env = { PATH: `${node24}:${process.env.PATH ?? ''}`, npm_config_audit: 'false', npm_config_fund: 'false', npm_config_update_notifier: 'false' };
    await execa('npm', ['install', '-g', '--prefix', prefix, join(tmp, pack.filename)], { env });
    for (const [bin, usage] of [
      ['moat', 'Usage: moat'],
      ['moatd', 'Usage: moatd'],
    ] as const) {
      const res = await execa(join(prefix, 'bin', bin), ['--help'], { reject: false, env: { PATH: `${node24}:/usr/bin:/bin` } });
      expect(res.exitCode, res.stderr).toBe(0);
      expect(res.stdout).toContain(usage);
    }

    // The globally installed package can install itself (its dependencies are nested under it).
    const plan = await execa(join(prefix, 'bin/moat'), ['install', '--dry-run', '--root', join(tmp, 'root')], {
      reject: false,
      env: { PATH: `${node24}:/usr/bin:/bin` },
    });
    expect(plan.exitCode, plan.stderr).toBe(0);
    expect(plan.stdout).toMatch(/copy +\/usr\/local\/lib\/moat +\(moat \d+\.\d+\.\d+, \d+ production packages/);

    // The system node: works when it is >= 22, fails (exit != 0) when older.
    const system = await execa('node', ['--version'], { reject: false, env: { PATH: '/usr/bin:/bin' } });
    if (system.exitCode === 0) {
      const major = Number(/^v(\d+)/.exec(system.stdout)?.[1]);
      const res = await execa(join(prefix, 'bin/moat'), ['--help'], { reject: false, env: { PATH: '/usr/bin:/bin' } });
      if (major >= 22) expect(res.exitCode, res.stderr).toBe(0);
      else {
        expect(res.exitCode).not.toBe(0);
        expect(res.stderr).toMatch(/Node v\d+\S* is too old: moat needs Node >= 22/);
      }
    }
  });
});
