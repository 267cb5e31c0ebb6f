/*
 * The bed's network. Everything lives in namespaces this run creates
 * (PREFIX = moat-<6 hex>); the machine's own namespace is never touched.
 *
 *   PREFIX-lan (LAN peer)          PREFIX-host (dockerd + moatd)           PREFIX-world (internet peer)
 *   eth0 192.168.77.2/24 ──veth── lan0   192.168.77.1/24
 *        fd77::2/64                      fd77::1/64
 *                                 world0 203.0.113.1/24     ──veth── eth0 203.0.113.2/24
 *                                        2001:db8:77::1/64                2001:db8:77::2/64
 *   default via .1 / ::1          docker0, br-* (Docker's bridges)        default via .1 / ::1
 *
 * - Both peers send everything to the host ns, Docker subnets included, so a
 *   peer can reach a container's address directly: the hole moat must close.
 * - The host ns has no default route: a packet to any address the bed did not
 *   create dies there, it never leaves the machine.
 * - "lan" is 192.168.77.0/24 (inside moat's default protectedNetworks),
 *   "world" is 203.0.113.0/24 and 2001:db8:77::/64 (outside them).
 * - IPv4 and IPv6 forwarding are on in the host ns; DAD is off everywhere.
 * - Each peer runs busybox httpd on `peerHttpPorts` (default 80); the host
 *   ns on `hostHttpPorts`, so tests can probe container -> host on the
 *   bridge gateway and on the uplink addresses.
 * - `worldAddresses` adds addresses to world's eth0 (the DNS bed, dns-bed.ts:
 *   203.0.113.53 / 2001:db8:77::53 for the name server, .10/.11 and ::10/::11
 *   for the two servers its names answer), `hostLoAddresses` to the host
 *   ns's lo (198.51.100.53, TEST-NET-2: where moat's DNS forwarder listens).
 *   Both live and die with the bed's namespaces.
 */
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { createNetns, type Netns } from './netns.js';
import { startNsHttpd, type NsHttpd } from './ns-httpd.js';
import { pidsInNetns, signal } from './processes.js';
import { execaRun, type Run } from './run.js';
import { execaSpawn, type Spawn } from './spawn.js';
import { writeWwwRoot } from './www-root.js';

export interface Peer {
  readonly netns: Netns;
  readonly ipv4: string;
  readonly ipv6: string;
  /** The host ns's address on this link (the peer's gateway). */
  readonly hostIpv4: string;
  readonly hostIpv6: string;
  /** The host ns's interface towards this peer. */
  readonly hostIf: string;
  readonly subnet4: string;
  readonly subnet6: string;
}

export interface TopologyOptions {
  readonly prefix: string;
  /** Scratch directory (document root for the namespace servers). */
  readonly dir: string;
  readonly peerHttpPorts?: readonly number[];
  readonly hostHttpPorts?: readonly number[];
  /** More addresses on world's eth0 (CIDR, inside world's /24 or /64). */
  readonly worldAddresses?: readonly string[];
  /** Addresses on the host namespace's lo (CIDR, /32 or /128). */
  readonly hostLoAddresses?: readonly string[];
  readonly run?: Run;
  readonly spawn?: Spawn;
}

export interface Topology extends AsyncDisposable {
  readonly prefix: string;
  readonly host: Netns;
  readonly lan: Peer;
  readonly world: Peer;
  readonly namespaces: readonly Netns[];
  /** Starts busybox httpd in `netns` on `port`; stopped with the topology. */
  serve(netns: Netns, port: number): Promise<NsHttpd>;
  /** Stops servers, deletes the namespaces. Returns what had to be killed. */
  dispose(): Promise<string[]>;
}

const PLAN = {
  lan: { hostIf: 'lan0', v4: '192.168.77', v6: 'fd77:', subnet4: '192.168.77.0/24', subnet6: 'fd77::/64' },
  world: { hostIf: 'world0', v4: '203.0.113', v6: '2001:db8:77:', subnet4: '203.0.113.0/24', subnet6: '2001:db8:77::/64' },
} as const;

export async function createTopology(options: TopologyOptions): Promise<Topology> {
  const run = options.run ?? execaRun;
  const spawn = options.spawn ?? execaSpawn;
  const wwwDir = join(options.dir, 'www');
  const namespaces: Netns[] = [];
  const servers: NsHttpd[] = [];
  let disposed: Promise<string[]> | null = null;

  const dispose = () =>
    (disposed ??= (async () => {
      const killed: string[] = [];
      for (const server of [...servers].reverse()) await server.stop();
      for (const ns of [...namespaces].reverse()) {
        // Whatever still runs in a namespace this run created was started by this run.
        for (const pid of await pidsInNetns(ns.inode)) {
          signal(pid, 'SIGKILL');
          killed.push(`pid ${pid} in ${ns.name}`);
        }
        await ns.delete();
      }
      await rm(wwwDir, { recursive: true, force: true });
      return killed;
    })());

  const serve = async (netns: Netns, port: number) => {
    const server = await startNsHttpd(netns, port, wwwDir, spawn);
    servers.push(server);
    return server;
  };

  try {
    await mkdir(options.dir, { recursive: true });
    await writeWwwRoot(wwwDir);
    const host = await createNetns(`${options.prefix}-host`, run);
    namespaces.push(host);
    await host.sysctl('net.ipv4.ip_forward', 1);
    await host.sysctl('net.ipv6.conf.all.forwarding', 1);

    const makePeer = async (kind: keyof typeof PLAN): Promise<Peer> => {
      const plan = PLAN[kind];
      const netns = await createNetns(`${options.prefix}-${kind}`, run);
      namespaces.push(netns);
      await host.addVeth(plan.hostIf, netns, 'eth0');
      const peer: Peer = {
        netns,
        ipv4: `${plan.v4}.2`,
        ipv6: `${plan.v6}:2`,
        hostIpv4: `${plan.v4}.1`,
        hostIpv6: `${plan.v6}:1`,
        hostIf: plan.hostIf,
        subnet4: plan.subnet4,
        subnet6: plan.subnet6,
      };
      await host.addAddress(plan.hostIf, `${peer.hostIpv4}/24`);
      await host.addAddress(plan.hostIf, `${peer.hostIpv6}/64`);
      await netns.addAddress('eth0', `${peer.ipv4}/24`);
      await netns.addAddress('eth0', `${peer.ipv6}/64`);
      await netns.addRoute('default', peer.hostIpv4);
      await netns.addRoute('default', peer.hostIpv6);
      return peer;
    };
    const lan = await makePeer('lan');
    const world = await makePeer('world');
    for (const cidr of options.worldAddresses ?? []) await world.netns.addAddress('eth0', cidr);
    for (const cidr of options.hostLoAddresses ?? []) await host.addAddress('lo', cidr);
    for (const port of options.peerHttpPorts ?? [80]) {
      await serve(lan.netns, port);
      await serve(world.netns, port);
    }
    for (const port of options.hostHttpPorts ?? []) await serve(host, port);

    const topology: Topology = {
      prefix: options.prefix,
      host,
      lan,
      world,
      namespaces,
      serve,
      dispose,
      async [Symbol.asyncDispose]() {
        await dispose();
      },
    };
    return topology;
  } catch (err) {
    await dispose();
    throw err;
  }
}
