// The default bridge (docker0) under "iptables": false, by real connections.
// The engine reports enable_ip_masquerade=false for it whenever iptables is
// off (moby's verifyDaemonSettings turns ip-masq off with iptables), which
// is not the operator's word: without moat's masquerade, default-bridge
// containers would leave for the world with their private addresses. moat
// masquerades docker0 as Docker's own firewall does; `defaultBridgeNat:
// false` (the operator's "ip-masq": false) routes it with real addresses.
// Every cell is probed before moatd runs, so the masquerade below is moat's.
import { writeFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBed, type Bed } from './testbed/bed.js';
import { check, type Case } from './testbed/check.js';
import type { Moatd } from './testbed/moatd.js';
import { containerSource } from './testbed/probe.js';
import type { ServerContainer } from './testbed/server-container.js';

const BRIDGE_V6 = 'fd00:17::/64';

describe("the default bridge under iptables: false: masqueraded like Docker's own firewall, IPv4 and IPv6", () => {
  let bed: Bed;
  let moatd: Moatd;
  let d1: ServerContainer;
  let config: string;

  beforeAll(async () => {
    bed = await createBed({ peerHttpPorts: [80], engine: { defaultBridgeIpv6: BRIDGE_V6 } });
    d1 = await bed.startServer({ name: 'd1', networks: ['bridge'] });
    config = await bed.writeFile('config.yaml', 'reconcile: { resyncIntervalS: 3600 }\n');
  });

  afterAll(async () => {
    await bed?.dispose();
  });

  const toWorld = (f: 4 | 6, seen: string): Case => ({
    name: `v${f} d1 (default bridge) -> world:80`,
    from: containerSource(bed.engine.docker, d1.id, 'd1'),
    to: f === 4 ? bed.topology.world.ipv4 : bed.topology.world.ipv6,
    port: 80,
    state: 'open',
    seen,
  });
  const own = (f: 4 | 6) => (f === 4 ? d1.ipv4('bridge') : d1.ipv6('bridge'));
  const host = (f: 4 | 6) => (f === 4 ? bed.topology.world.hostIpv4 : bed.topology.world.hostIpv6);

  it('the engine says enable_ip_masquerade=false for docker0, and nothing masquerades before moatd', async () => {
    const net = await bed.engine.docker.getNetwork('bridge').inspect();
    expect(net.Options).toMatchObject({ 'com.docker.network.bridge.default_bridge': 'true', 'com.docker.network.bridge.enable_ip_masquerade': 'false' });
    await check([toWorld(4, own(4)), toWorld(6, own(6))]);
  });

  it('moatd masquerades docker0 by default', async () => {
    moatd = bed.startMoatd({ configPath: config });
    expect(await moatd.waitForEvent('reconcile', { timeoutMs: 20_000 })).toMatchObject({ ok: true, committed: true });
    await check([toWorld(4, host(4)), toWorld(6, host(6))]);
  });

  it('defaultBridgeNat: false (the operator\'s "ip-masq": false) routes it with its own addresses, on SIGHUP', async () => {
    await writeFile(config, 'reconcile: { resyncIntervalS: 3600 }\ndefaultBridgeNat: false\n');
    const mark = moatd.mark();
    process.kill(moatd.pid, 'SIGHUP');
    expect(await moatd.waitForEvent('reconcile', { since: mark, timeoutMs: 20_000 })).toMatchObject({ ok: true, committed: true });
    await check([toWorld(4, own(4)), toWorld(6, own(6))]);
    await moatd.stop();
  });
});
