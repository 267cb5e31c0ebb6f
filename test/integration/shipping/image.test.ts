// The container image builds OFFLINE and runs: a private Docker engine in a
// network namespace of its own (no uplink, so nothing can be fetched), a
// BASE made by scripts/make-base-image.sh (debootstrap of Debian bookworm
// from the package mirror, cached in /var/cache/moat-base, plus the repo's
// Node), `docker build --network none`, then moatd in the image, run the
// documented way (--network host = that namespace), commits its chains there.
// Needs root, debootstrap and dockerd; dist/ built. The machine's own
// namespace and firewall are never touched.
import { execa } from 'execa';
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ownPackageRoot } from '../../../src/adapters/install-package.js';
import { startEngine, type Engine } from '../testbed/engine.js';
import { createNetns, type Netns } from '../testbed/netns.js';

const repo = ownPackageRoot();
const have = async (cmd: string, args = ['--version']) => (await execa(cmd, args, { reject: false })).exitCode === 0;
const ready = process.getuid?.() === 0 && (await have('dockerd')) && (await have('debootstrap', ['--help'])) && (await readFile(join(repo, 'dist/cli/moatd.js')).then(() => true, () => false));

describe.skipIf(!ready)('container image (offline build)', { timeout: 600_000 }, () => {
  const id = randomBytes(3).toString('hex');
  let netns: Netns;
  let engine: Engine;
  const docker = (args: string[], opts: { reject?: boolean } = {}) => execa('docker', args, { env: { DOCKER_HOST: engine.dockerHost }, reject: opts.reject ?? true });

  beforeAll(async () => {
    netns = await createNetns(`moat-ship-${id}`);
    engine = await startEngine({ netns, dir: `/tmp/ms-${id}`, name: `moatship${id}` });
    const started = Date.now();
    await execa(join(repo, 'scripts/make-base-image.sh'), ['moat-base:test'], { env: { DOCKER_HOST: engine.dockerHost } });
    console.info(`make-base-image.sh took ${((Date.now() - started) / 1000).toFixed(1)} s`);
  }, 900_000);

  afterAll(async () => {
    const report = await engine?.stop();
    await netns?.delete();
    if (report && report.forced.length + report.cgroupsLeft.length > 0) console.warn('engine teardown was not clean', report);
  }, 120_000);

  it('builds with no network at all', async () => {
    const res = await docker(['build', '--network', 'none', '--build-arg', 'BASE=moat-base:test', '-t', 'moat:test', repo]);
    expect(res.stdout).toMatch(/Successfully tagged moat:test|naming to .*moat:test/);
    const help = await docker(['run', '--rm', '--network', 'none', 'moat:test', '--help']);
    expect(help.stdout).toContain('Usage: moatd');
  });

  it('moatd in the image commits its chains through the backend it picked', async () => {
    const name = `moatd-${id}`;
    await docker(['run', '-d', '--name', name, '--network', 'host', '--cap-add', 'NET_ADMIN', '--cap-add', 'NET_RAW', '-v', `${engine.socketPath}:/var/run/docker.sock:ro`, 'moat:test']);
    try {
      let logs = '';
      for (let i = 0; i < 200 && !/"event":"reconcile".*"ok":true/.test(logs); i++) {
        await sleep(100);
        const res = await docker(['logs', name], { reject: false });
        logs = `${res.stdout}\n${res.stderr}`;
      }
      expect(logs).toMatch(/"event":"reconcile".*"committed":true.*"ok":true/);
      const backend = /using iptables-(nft|legacy)/.exec(logs)?.[1];
      expect(backend).toBeDefined();
      const saved = await netns.run(`iptables-${backend}-save`, []);
      expect(saved.stdout).toMatch(/^:MOAT-FORWARD /m);
    } finally {
      await docker(['rm', '-f', name], { reject: false });
    }
  });
});
