// A named network namespace (`ip netns add`) and the few things the bed does
// in it. Programs enter it with `nsenter --net=/run/netns/NAME`, never
// `ip netns exec`: the latter remounts /sys, which hides the cgroup mounts
// dockerd needs.
import { stat } from 'node:fs/promises';
import { execaRun, type Run, type RunOptions, type RunResult } from './run.js';

export interface Netns extends AsyncDisposable {
  readonly name: string;
  /** The nsfs bind mount, e.g. /run/netns/moat-1a2b3c-host. */
  readonly path: string;
  /** The namespace's inode: what /proc/PID/ns/net points at. Stable after deletion. */
  readonly inode: number;
  /** argv that runs `argv` inside this namespace. */
  enter(argv: readonly string[]): [string, string[]];
  run(file: string, args: readonly string[], options?: RunOptions): Promise<RunResult>;
  /** `ip -n NAME ARGS…` */
  ip(...args: string[]): Promise<RunResult>;
  sysctl(key: string, value: string | number): Promise<void>;
  /** IPv6 addresses get `nodad`: usable at once, no tentative window. */
  addAddress(dev: string, cidr: string): Promise<void>;
  addRoute(destination: string, via: string): Promise<void>;
  /** Creates a veth pair `localIf` (here) <-> `peerIf` (in `peer`) and brings both ends up. */
  addVeth(localIf: string, peer: Netns, peerIf: string): Promise<void>;
  /** `ip netns delete`; idempotent. Processes still inside keep the namespace alive. */
  delete(): Promise<void>;
}

export async function createNetns(name: string, run: Run = execaRun): Promise<Netns> {
  const path = `/run/netns/${name}`;
  await run('ip', ['netns', 'add', name]);
  let deleted = false;
  const ns: Netns = {
    name,
    path,
    inode: (await stat(path)).ino,
    enter: (argv) => ['nsenter', [`--net=${path}`, ...argv]],
    run: (file, args, options) => run('nsenter', [`--net=${path}`, file, ...args], options),
    ip: (...args) => run('ip', ['-n', name, ...args]),
    async sysctl(key, value) {
      await ns.run('sysctl', ['-q', '-w', `${key}=${value}`]);
    },
    async addAddress(dev, cidr) {
      await ns.ip('address', 'add', cidr, 'dev', dev, ...(cidr.includes(':') ? ['nodad'] : []));
    },
    async addRoute(destination, via) {
      await ns.ip(via.includes(':') ? '-6' : '-4', 'route', 'add', destination, 'via', via);
    },
    async addVeth(localIf, peer, peerIf) {
      await ns.ip('link', 'add', localIf, 'type', 'veth', 'peer', 'name', peerIf, 'netns', peer.name);
      await ns.ip('link', 'set', localIf, 'up');
      await peer.ip('link', 'set', peerIf, 'up');
    },
    async delete() {
      if (deleted) return;
      deleted = true;
      await run('ip', ['netns', 'delete', name], { check: false });
    },
    [Symbol.asyncDispose]: () => ns.delete(),
  };
  try {
    await ns.ip('link', 'set', 'lo', 'up');
    // No DAD anywhere in the bed: an address (including a Docker bridge's
    // IPv6 gateway) is usable the moment it is added, so probes need no sleeps.
    await ns.sysctl('net.ipv6.conf.all.accept_dad', 0);
    await ns.sysctl('net.ipv6.conf.default.accept_dad', 0);
  } catch (err) {
    await ns.delete();
    throw err;
  }
  return ns;
}
