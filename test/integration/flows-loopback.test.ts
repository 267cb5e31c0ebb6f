// Ports published on a loopback address (`-p 127.0.0.5:PORT:80`) are for the
// host itself (issue 12). In publishMode dnat a LAN neighbour can address a
// packet to 127.0.0.5 and send it to the host as next hop; the kernel drops
// such a packet as martian, unless a PREROUTING DNAT rewrites it first, which
// moat's did (Docker 28 closed the same hole in its own rules). The crafted
// packets are sent from the LAN namespace with its own local 127/8 route
// removed and route_localnet on; a raw-table counter in the bed's host
// namespace shows they did arrive.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { flowCases, startFlowsMoatd } from './flows-cases.js';
import { createBed, type Bed } from './testbed/bed.js';
import { check } from './testbed/check.js';
import { netnsSource } from './testbed/probe.js';
import type { ServerContainer } from './testbed/server-container.js';

const LOOP = '127.0.0.5';
const LOCAL_ONLY = 18090; // lo1:80 published on 127.0.0.5 only
const EVERYWHERE = 18091; // all1:80 published on every address

describe('ports published on a loopback address, in publishMode dnat', () => {
  let bed: Bed;
  let lo1: ServerContainer;

  beforeAll(async () => {
    bed = await createBed();
    await bed.createNetwork({ name: 'lb', subnets: ['172.31.30.0/24'] });
    [lo1] = await Promise.all([
      bed.startServer({ name: 'lo1', networks: ['lb'], publish: [{ containerPort: 80, hostPort: LOCAL_ONLY, hostIp: LOOP }] }),
      bed.startServer({ name: 'all1', networks: ['lb'], publish: [{ containerPort: 80, hostPort: EVERYWHERE }] }),
    ]);
    const { lan, host } = bed.topology;
    // The LAN peer routes 127.0.0.5 to the host: of its own 127/8 only 127.0.0.1 stays local.
    await lan.netns.ip('route', 'del', 'local', '127.0.0.0/8', 'dev', 'lo', 'table', 'local');
    await lan.netns.sysctl('net.ipv4.conf.eth0.route_localnet', 1);
    await lan.netns.ip('route', 'add', `${LOOP}/32`, 'via', lan.hostIpv4, 'dev', 'eth0');
    // Counts the crafted packets as they reach the host (raw is not moat's table).
    await host.run('iptables', ['-w', '-t', 'raw', '-A', 'PREROUTING', '-i', lan.hostIf, '-d', `${LOOP}/32`, '-m', 'comment', '--comment', 'crafted']);
    await startFlowsMoatd(bed, 'publishMode: dnat\n'); // the bed stops it
  });

  afterAll(async () => {
    await bed?.dispose();
  });

  const { peerToHost } = flowCases({ bed: () => bed, containers: {}, networkOf: () => 'lb' });

  const crafted = async () => {
    const save = await bed.topology.host.run('iptables-save', ['-c', '-t', 'raw']);
    return Number(/^\[(\d+):\d+\] -A PREROUTING .*crafted/m.exec(save.stdout)?.[1] ?? -1);
  };

  it('serves the loopback-published port to the host itself, and the other port to the LAN', async () => {
    const { lan, host } = bed.topology;
    await check([
      { name: 'host -> 127.0.0.5:LOCAL_ONLY', from: netnsSource(host, 'host'), to: LOOP, port: LOCAL_ONLY, state: 'open' },
      peerToHost('lan', EVERYWHERE, 'open', { seen: lan.ipv4 }),
      peerToHost('lan', LOCAL_ONLY, 'closed', { reason: 'refused' }), // not published there
    ]);
  });

  it('never DNATs a packet a LAN neighbour addressed to 127.0.0.5', async () => {
    const before = await crafted();
    const fromLan = netnsSource(bed.topology.lan.netns, 'lan');
    await check([
      { name: 'lan -> 127.0.0.5:LOCAL_ONLY via the host', from: fromLan, to: LOOP, port: LOCAL_ONLY, state: 'closed', reason: 'timeout', timeoutS: 1 },
      { name: 'lan -> 127.0.0.5:EVERYWHERE via the host', from: fromLan, to: LOOP, port: EVERYWHERE, state: 'closed', reason: 'timeout', timeoutS: 1 },
    ]);
    // The probes did reach the host: they were dropped there, not lost on the way.
    expect(await crafted()).toBeGreaterThan(before);
    const nat = await bed.topology.host.run('iptables-save', ['-t', 'nat']);
    expect(nat.stdout).not.toContain(`-d ${LOOP}/32`);
    expect(nat.stdout).toMatch(/^-A MOAT-PREROUTING ! -d 127\.0\.0\.0\/8 -m addrtype --dst-type LOCAL .*-j MOAT-DNAT$/m);
    expect(lo1.ipv4('lb')).toMatch(/^172\.31\.30\./);
  });
});
