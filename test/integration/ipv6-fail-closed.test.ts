// When a network has IPv6 but ip6tables cannot be used, moatd says so loudly
// and fails closed: IPv6 is switched off on that network's bridge.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execaRun } from './testbed/run.js';
import { createBed, type Bed } from './testbed/bed.js';
import { check } from './testbed/check.js';
import { containerSource } from './testbed/probe.js';
import type { ServerContainer } from './testbed/server-container.js';

describe('IPv6 without ip6tables', () => {
  let bed: Bed;
  let c1: ServerContainer;

  beforeAll(async () => {
    bed = await createBed();
    await bed.createNetwork({ name: 'six', subnets: ['172.30.21.0/24', 'fd00:21::/64'] });
    c1 = await bed.startServer({ name: 'six1', networks: ['six'] });
  });

  afterAll(async () => {
    await bed?.dispose();
  });

  it('switches IPv6 off on the bridge, logs ipv6_fail_closed, and still enforces IPv4', async () => {
    const { world, lan } = bed.topology;
    const from = containerSource(bed.engine.docker, c1.id, 'six1');
    await check([{ name: 'v6 -> lan before moatd', from, to: lan.ipv6, port: 80, state: 'open' }]);
    // ip6tables that cannot work, first on moatd's PATH only.
    for (const tool of ['ip6tables-save', 'ip6tables-restore']) {
      const path = await bed.writeFile(`fakebin/${tool}`, '#!/bin/sh\necho "ip6tables: Could not fetch rule set generation id" >&2\nexit 1\n');
      await execaRun('chmod', ['+x', path]);
    }
    const config = await bed.writeFile('config.yaml', 'ipv6: auto\n');
    const moatd = bed.startMoatd({ configPath: config, env: { PATH: `${bed.dir}/fakebin:/usr/sbin:/usr/bin:/sbin:/bin` } });
    expect(await moatd.waitForEvent('ipv6_unavailable')).toBeTruthy();
    const closed = await moatd.waitForEvent('ipv6_fail_closed');
    expect(closed.bridges).toEqual([expect.stringMatching(/^br-/)]);
    await moatd.waitForEvent('reconcile');
    const br = String((closed.bridges as string[])[0]);
    expect((await bed.topology.host.run('sysctl', ['-n', `net.ipv6.conf.${br}.disable_ipv6`])).stdout.trim()).toBe('1');
    await check([
      { name: 'v6 -> lan after', from, to: lan.ipv6, port: 80, state: 'closed', reason: 'timeout', timeoutS: 1 },
      { name: 'v6 -> world after', from, to: world.ipv6, port: 80, state: 'closed', reason: 'timeout', timeoutS: 1 },
      { name: 'v4 -> lan after', from, to: lan.ipv4, port: 80, state: 'closed' },
      { name: 'v4 -> world after', from, to: world.ipv4, port: 80, state: 'open' },
    ]);
  });
});
