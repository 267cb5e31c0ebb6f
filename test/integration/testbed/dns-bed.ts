// The bed's DNS (createBed({ dns })), for moat's `dns:` grants (issue 13):
//
//   container ──> Docker's resolver ──> DNS_LISTEN:53 (host ns lo; moatd's forwarder)
//                                          └──> WORLD_DNS:53 (world ns; test DNS server, authoritative)
//   its names answer WORLD_SERVERS (world ns), which serve HTTP on `ports` (default 443) and 80.
//
// daemon.json gets `"dns": [DNS_LISTEN]`: a host address containers reach
// through their gateway (the issue measured that a loopback address is never
// asked). Without moatd nothing listens there; `standIn()` starts a second
// test DNS server on it, with the same records, to prove the path from a
// container to that address (testbed.test.ts).
import { join } from 'node:path';
import type { DnsZone } from './dns-zone.js';
import type { Spawn } from './spawn.js';
import { startTestDns, type TestDns } from './test-dns.js';
import type { Topology } from './topology.js';

export const DNS_LISTEN = '198.51.100.53';
export const WORLD_DNS = { ipv4: '203.0.113.53', ipv6: '2001:db8:77::53' } as const;
/** The two servers the test names answer with. */
export const WORLD_SERVERS = [
  { ipv4: '203.0.113.10', ipv6: '2001:db8:77::10' },
  { ipv4: '203.0.113.11', ipv6: '2001:db8:77::11' },
] as const;

/** What topology.ts adds for the DNS bed. */
export const DNS_WORLD_ADDRESSES = [WORLD_DNS, ...WORLD_SERVERS].flatMap((a) => [`${a.ipv4}/24`, `${a.ipv6}/64`]);
export const DNS_HOST_LO_ADDRESSES = [`${DNS_LISTEN}/32`];

export interface DnsBedOptions {
  readonly zone?: DnsZone;
  /** TCP ports busybox httpd serves in world (so on WORLD_SERVERS) besides peerHttpPorts. Default [443]. */
  readonly ports?: readonly number[];
  /** moatd's dns.ttlFloorS in `config`. Default 1 (short-TTL tests). */
  readonly ttlFloorS?: number;
}

export interface BedDns {
  /** The address daemon.json names and moatd's forwarder listens on. */
  readonly listen: string;
  /** The authoritative server in world, at WORLD_DNS. */
  readonly server: TestDns;
  readonly servers: typeof WORLD_SERVERS;
  /** moatd's learned-address state file (inside the bed's directory). */
  readonly stateFile: string;
  /** moatd's config key for this bed, one YAML line: `dns: { listen, upstream: [WORLD_DNS:53], ttlFloorS, stateFile }`. */
  readonly config: string;
  /** A test DNS server in the host ns at `listen`, with the server's records: the bed without moat. Stopped with the bed. */
  standIn(): Promise<TestDns>;
}

export async function setUpDns(
  topology: Topology,
  dir: string,
  options: DnsBedOptions,
  spawn: Spawn,
  onCleanup: (cleanup: () => Promise<void>) => void,
): Promise<BedDns> {
  for (const port of options.ports ?? [443]) await topology.serve(topology.world.netns, port);
  const server = await startTestDns({
    netns: topology.world.netns,
    addresses: [WORLD_DNS.ipv4, WORLD_DNS.ipv6],
    zonePath: join(dir, 'dns-zone.json'),
    ...(options.zone ? { zone: options.zone } : {}),
    spawn,
  });
  onCleanup(() => server.stop());
  const stateFile = join(dir, 'dns-learned.json');
  return {
    listen: DNS_LISTEN,
    server,
    servers: WORLD_SERVERS,
    stateFile,
    config: `dns: { listen: "${DNS_LISTEN}", upstream: ["${WORLD_DNS.ipv4}:53"], ttlFloorS: ${options.ttlFloorS ?? 1}, stateFile: "${stateFile}" }`,
    async standIn() {
      // Its own zone file, kept equal to the world server's at start.
      const standIn = await startTestDns({
        netns: topology.host,
        addresses: [DNS_LISTEN],
        zonePath: join(dir, 'dns-zone-stand-in.json'),
        zone: server.zone(),
        spawn,
      });
      onCleanup(() => standIn.stop());
      return standIn;
    },
  };
}
