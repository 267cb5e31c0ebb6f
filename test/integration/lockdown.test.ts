// Boot lockdown: before moatd's first reconcile, Docker bridges have no reach
// at all; moatd's first commit replaces the lockdown atomically.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBed, type Bed } from './testbed/bed.js';
import { check } from './testbed/check.js';
import { readRuleset } from './testbed/iptables.js';
import { containerSource, netnsSource, probe } from './testbed/probe.js';
import type { ServerContainer } from './testbed/server-container.js';

const MOAT = new URL('../../bin/moat', import.meta.url).pathname;
const HOST_PORT = 9000;

describe('moat lockdown', () => {
  let bed: Bed;
  let a1: ServerContainer, a2: ServerContainer, b1: ServerContainer, c1: ServerContainer;
  let config: string;

  beforeAll(async () => {
    bed = await createBed({ hostHttpPorts: [HOST_PORT] });
    await bed.createNetwork({ name: 'lk-a', subnets: ['172.30.31.0/24'] });
    await bed.createNetwork({ name: 'lk-b', subnets: ['172.30.32.0/24'] });
    await bed.createNetwork({ name: 'lk-custom', subnets: ['172.30.33.0/24'], options: { 'com.docker.network.bridge.name': 'moatcustom0' } });
    [a1, a2, b1, c1] = await Promise.all([
      bed.startServer({ name: 'lka1', networks: ['lk-a'] }),
      bed.startServer({ name: 'lka2', networks: ['lk-a'] }),
      bed.startServer({ name: 'lkb1', networks: ['lk-b'] }),
      bed.startServer({ name: 'lkc1', networks: ['lk-custom'] }),
    ]);
    config = await bed.writeFile('config.yaml', 'dockerBridges: ["br-+", docker0, moatcustom0]\n');
  });

  afterAll(async () => {
    await bed?.dispose();
  });

  const src = (c: ServerContainer) => containerSource(bed.engine.docker, c.id, c.name);

  it('denies every Docker bridge all reach, custom bridge names included, and nothing else', async () => {
    const res = await bed.topology.host.run(MOAT, ['lockdown', '--config', config, '--json'], { check: false, env: { DOCKER_HOST: bed.engine.dockerHost } });
    expect(res.exitCode, res.stderr).toBe(0);
    expect(JSON.parse(res.stdout).lockdown).toHaveLength(2);
    const { world, lan, host } = bed.topology;
    await check([
      { name: 'same network', from: src(a1), to: a2.ipv4('lk-a'), port: 80, state: 'closed', reason: 'timeout', timeoutS: 1 },
      { name: 'other network', from: src(a1), to: b1.ipv4('lk-b'), port: 80, state: 'closed', reason: 'timeout', timeoutS: 1 },
      { name: 'world', from: src(a1), to: world.ipv4, port: 80, state: 'closed', reason: 'timeout', timeoutS: 1 },
      { name: 'host', from: src(a1), to: '172.30.31.1', port: HOST_PORT, state: 'closed', reason: 'timeout', timeoutS: 1 },
      { name: 'custom bridge -> world', from: src(c1), to: world.ipv4, port: 80, state: 'closed', reason: 'timeout', timeoutS: 1 },
      { name: 'world -> container', from: netnsSource(world.netns, 'world'), to: a1.ipv4('lk-a'), port: 80, state: 'closed', reason: 'timeout', timeoutS: 1 },
      // Traffic that touches no Docker bridge is not moat's business.
      { name: 'lan -> world (no Docker bridge)', from: netnsSource(lan.netns, 'lan'), to: world.ipv4, port: 80, state: 'open' },
      { name: 'world -> host service', from: netnsSource(world.netns, 'world'), to: world.hostIpv4, port: HOST_PORT, state: 'open' },
    ]);
    expect((await readRuleset(host, 6)).rules('filter', 'MOAT-FORWARD').length).toBeGreaterThan(0);
  });

  it("is replaced by moatd's first commit without a denied flow opening in between", async () => {
    let stop = false;
    const seen: string[] = [];
    const prober = (async () => {
      while (!stop) seen.push((await probe(src(a1), b1.ipv4('lk-b'), 80, { timeoutS: 1 })).state);
    })();
    const moatd = bed.startMoatd({ configPath: config });
    await moatd.waitForEvent('reconcile', { timeoutMs: 20_000 });
    stop = true;
    await prober;
    expect(seen.filter((s) => s === 'open')).toEqual([]);
    const text = (await readRuleset(bed.topology.host, 4)).text;
    expect(text).not.toContain('moat:lockdown');
    await check([
      { name: 'same network after moatd', from: src(a1), to: a2.ipv4('lk-a'), port: 80, state: 'open' },
      { name: 'world after moatd', from: src(a1), to: bed.topology.world.ipv4, port: 80, state: 'open' },
      { name: 'custom bridge -> world after moatd', from: src(c1), to: bed.topology.world.ipv4, port: 80, state: 'open' },
      { name: 'other network after moatd', from: src(a1), to: b1.ipv4('lk-b'), port: 80, state: 'closed' },
    ]);
  });
});
