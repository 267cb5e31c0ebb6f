// The container image builds OFFLINE and runs: a private Docker engine in a
// network namespace of its own (no uplink, so nothing can be fetched), a
// BASE made by scripts/make-base-image.sh (debootstrap of Debian bookworm
// from the package mirror, cached in /var/cache/moat-base, plus the repo's
// Node), `docker build --network none`, then moatd in the image, run the
// documented way (--network host = that namespace), commits its chains there,
// and the default matrix (docs/policy.md#default-matrix) holds by real connections on the test bed.
// Needs root, debootstrap and dockerd; dist/ built. The machine's own
// namespace and firewall are never touched.
import { execa } from 'execa';
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ownPackageRoot } from '../../../src/adapters/install-package.js';
import { createBed, type Bed } from '../testbed/bed.js';
import { check } from '../testbed/check.js';
import type { Engine } from '../testbed/engine.js';
import type { Netns } from '../testbed/netns.js';
import { containerSource, netnsSource } from '../testbed/probe.js';
import type { ServerContainer } from '../testbed/server-container.js';

const repo = ownPackageRoot();
const have = async (cmd: string, args = ['--version']) => (await execa(cmd, args, { reject: false })).exitCode === 0;
const ready =
  process.getuid?.() === 0 &&
  (await have('dockerd')) &&
  (await have('debootstrap', ['--help'])) &&
  (await readFile(join(repo, 'dist/cli/moatd.js')).then(
    () => true,
    () => false,
  ));

describe.skipIf(!ready)('container image (offline build)', { timeout: 600_000 }, () => {
  const id = randomBytes(3).toString('hex');
  let bed: Bed;
  let netns: Netns;
  let engine: Engine;
  let a1: ServerContainer, a2: ServerContainer, b1: ServerContainer;
  const docker = (args: string[], opts: { reject?: boolean } = {}) =>
    execa('docker', args, { env: { DOCKER_HOST: engine.dockerHost }, reject: opts.reject ?? true });

  beforeAll(async () => {
    // The bed's host namespace has no uplink: nothing can be fetched from it.
    bed = await createBed({ hostHttpPorts: [9000] });
    netns = bed.topology.host;
    engine = bed.engine;
    await bed.createNetwork({ name: 'img-a', subnets: ['172.30.41.0/24'] });
    await bed.createNetwork({ name: 'img-b', subnets: ['172.30.42.0/24'] });
    [a1, a2, b1] = await Promise.all([
      bed.startServer({ name: 'imga1', networks: ['img-a'] }),
      bed.startServer({ name: 'imga2', networks: ['img-a'] }),
      bed.startServer({ name: 'imgb1', networks: ['img-b'], publish: [{ containerPort: 8080, hostPort: 18080 }] }),
    ]);
    const started = Date.now();
    await execa(join(repo, 'scripts/make-base-image.sh'), ['moat-base:test'], { env: { DOCKER_HOST: engine.dockerHost } });
    console.info(`make-base-image.sh took ${((Date.now() - started) / 1000).toFixed(1)} s`);
  }, 900_000);

  afterAll(async () => {
    await bed?.dispose();
  }, 120_000);

  it('builds with no network at all', async () => {
    const res = await docker(['build', '--network', 'none', '--build-arg', 'BASE=moat-base:test', '-t', 'moat:test', repo]);
    expect(res.stdout).toMatch(/Successfully tagged moat:test|naming to .*moat:test/);
    const help = await docker(['run', '--rm', '--network', 'none', 'moat:test', '--help']);
    expect(help.stdout).toContain('Usage: moatd');
  });

  it('moatd in the image commits its chains through the backend it picked', async () => {
    const name = `moatd-${id}`;
    await docker([
      'run',
      '-d',
      '--name',
      name,
      '--network',
      'host',
      '--cap-add',
      'NET_ADMIN',
      '--cap-add',
      'NET_RAW',
      '-v',
      `${engine.socketPath}:/var/run/docker.sock:ro`,
      'moat:test',
    ]);
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
      const { world, lan } = bed.topology;
      const src = (c: ServerContainer) => containerSource(engine.docker, c.id, c.name);
      await check([
        { name: 'same network', from: src(a1), to: a2.ipv4('img-a'), port: 80, state: 'open' },
        { name: 'other network', from: src(a1), to: b1.ipv4('img-b'), port: 80, state: 'closed' },
        { name: 'host', from: src(a1), to: '172.30.41.1', port: 9000, state: 'closed' },
        { name: 'lan', from: src(a1), to: lan.ipv4, port: 80, state: 'closed' },
        { name: 'world (masqueraded)', from: src(a1), to: world.ipv4, port: 80, state: 'open', seen: world.hostIpv4 },
        {
          name: 'world -> container direct',
          from: netnsSource(world.netns, 'world'),
          to: a1.ipv4('img-a'),
          port: 80,
          state: 'closed',
          reason: 'timeout',
          timeoutS: 1,
        },
        { name: 'world -> published', from: netnsSource(world.netns, 'world'), to: world.hostIpv4, port: 18080, state: 'open' },
      ]);
    } finally {
      await docker(['rm', '-f', name], { reject: false });
    }
  });
});
