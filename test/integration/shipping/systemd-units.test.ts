// `systemd-analyze verify` on the shipped units. verify insists that every
// Exec path exists, and the units name /usr/local/bin/moat{,d}, which this
// machine does not have: so the units are rendered (the installer's own
// renderUnit) with the repository as the prefix — REPO/bin/moatd exists —
// into a temp dir, and verified there. No systemd needs to be running.
import { execa } from 'execa';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UNIT_NAMES } from '../../../src/adapters/install-layout.js';
import { ownPackageRoot } from '../../../src/adapters/install-package.js';
import { readUnitTemplate, renderUnit } from '../../../src/adapters/install-units.js';

const haveVerify = (await execa('systemd-analyze', ['--version'], { reject: false })).exitCode === 0;

describe.skipIf(!haveVerify)('systemd-analyze verify', () => {
  let dir = '';
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'moat-units-'));
    for (const name of UNIT_NAMES) await writeFile(join(dir, name), renderUnit(await readUnitTemplate(ownPackageRoot(), name), ownPackageRoot()));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  const verify = (...names: string[]) => execa('systemd-analyze', ['verify', '--man=no', ...names.map((n) => join(dir, n))], { reject: false, cwd: dir });

  it('accepts both units, with not a single warning', async () => {
    const res = await verify(...UNIT_NAMES);
    expect(res.stderr).toBe('');
    expect(res.exitCode).toBe(0);
  });

  it('would catch a broken unit (the check is not vacuous)', async () => {
    await writeFile(join(dir, 'broken.service'), '[Service]\nExecStart=/nonexistent/moatd\nProtectSystm=strict\n');
    const res = await verify('broken.service');
    expect(res.exitCode).not.toBe(0);
    expect(res.stderr).toMatch(/Unknown key|not executable/);
  });
});
