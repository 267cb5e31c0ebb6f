// Gathers what `moat doctor` judges: Docker's info and flags, its config
// file, sysctls, both iptables backends, moat's desired rules and the control
// socket. Every path is a parameter so tests can point it elsewhere; every
// failure becomes a fact (null, reachable: false), never an exception.
import { readdir, readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import Docker from 'dockerode';
import type { Config } from '../core/config.js';
import type { DoctorFacts } from '../core/doctor-facts.js';
import { flagValue } from '../core/dockerd-flags.js';
import type { PolicyRule } from '../core/policy-file.js';
import { computeDesired } from '../core/desired.js';
import { controlGet } from './control-client.js';
import { dockerSource } from './docker.js';
import type { CommandRunner } from './iptables.js';

export interface DoctorPaths {
  /** Default /proc/sys. */
  readonly sysctlRoot?: string;
  /** Default /proc (dockerd's command line). */
  readonly procRoot?: string;
  /** Used when dockerd has no --config-file; default /etc/docker/daemon.json. */
  readonly daemonJson?: string;
}

export const SYSCTLS = [
  'net.bridge.bridge-nf-call-iptables',
  'net.bridge.bridge-nf-call-ip6tables',
  'net.ipv4.ip_forward',
  'net.ipv6.conf.all.forwarding',
] as const;

async function readText(path: string): Promise<string | null> {
  try {
    return await readFile(path, 'utf8');
  } catch {
    return null;
  }
}

/** dockerd's argv (after the program name): the one whose --data-root is `rootDir`. */
export async function findDockerdArgs(procRoot: string, rootDir: string | undefined): Promise<string[] | null> {
  let pids: string[];
  try {
    pids = (await readdir(procRoot)).filter((p) => /^\d+$/.test(p));
  } catch {
    return null;
  }
  const found: string[][] = [];
  for (const pid of pids) {
    const raw = await readText(join(procRoot, pid, 'cmdline'));
    if (!raw) continue;
    const argv = raw.split('\0').filter((a) => a !== '');
    if (basename(argv[0] ?? '') !== 'dockerd') continue;
    found.push(argv.slice(1));
  }
  const byRoot = found.filter((args) => (flagValue(args, 'data-root') ?? '/var/lib/docker') === (rootDir ?? '/var/lib/docker'));
  return byRoot[0] ?? (found.length === 1 ? found[0]! : null);
}

export async function gatherFacts(
  config: Config,
  run: CommandRunner,
  policyRules: readonly PolicyRule[],
  paths: DoctorPaths = {},
  docker: Docker = new Docker(),
): Promise<DoctorFacts> {
  const sysctlRoot = paths.sysctlRoot ?? '/proc/sys';
  const sysctl: Record<string, string | null> = {};
  for (const name of SYSCTLS) sysctl[name] = (await readText(join(sysctlRoot, ...name.split('.'))))?.trim() ?? null;

  let dockerFacts: DoctorFacts['docker'];
  let runtime: DoctorFacts['runtime'] = null;
  try {
    const info = (await docker.info()) as {
      ServerVersion?: string;
      DockerRootDir?: string;
      Swarm?: { LocalNodeState?: string };
      FirewallBackend?: { Driver?: string };
      DefaultRuntime?: string;
      Runtimes?: Record<string, { path?: string; runtimeArgs?: string[] }>;
    };
    const firewallBackend = info.FirewallBackend?.Driver;
    dockerFacts = {
      reachable: true,
      version: info.ServerVersion,
      swarm: info.Swarm?.LocalNodeState ?? '',
      rootDir: info.DockerRootDir,
      ...(firewallBackend ? { firewallBackend } : {}),
    };
    runtime = { default: info.DefaultRuntime ?? null, runtimes: info.Runtimes ?? {} };
  } catch (err) {
    dockerFacts = { reachable: false, error: err instanceof Error ? err.message : String(err) };
  }
  const dockerdArgs = await findDockerdArgs(paths.procRoot ?? '/proc', dockerFacts.rootDir);
  const daemonJsonPath = flagValue(dockerdArgs, 'config-file') ?? paths.daemonJson ?? '/etc/docker/daemon.json';

  const tool = async (file: string, args: readonly string[]) => {
    try {
      const r = await run(file, args);
      return r.exitCode === 0 ? r.stdout : null;
    } catch {
      return null;
    }
  };
  const version = (await tool('iptables', ['-V']))?.trim() ?? null;
  const saves = {
    legacy4: await tool('iptables-legacy-save', []),
    nft4: await tool('iptables-nft-save', []),
    legacy6: await tool('ip6tables-legacy-save', []),
    nft6: await tool('ip6tables-nft-save', []),
  };

  // Docker 29's nftables backend writes its own tables, beside iptables.
  const nftTables =
    (await tool('nft', ['list', 'tables']))?.split('\n').flatMap((l) => /^table (\S+) (\S+)$/.exec(l.trim())?.slice(1, 3).join(' ') ?? []) ?? null;

  let desired: DoctorFacts['desired'] = null;
  let ipv6Networks = false;
  const containers: DoctorFacts['containers'][number][] = [];
  if (dockerFacts.reachable) {
    try {
      const lists = await dockerSource(docker).lists();
      const d = computeDesired(lists, config, config.ipv6 === 'off' ? [4] : [4, 6], policyRules);
      desired = d.rendered;
      ipv6Networks = d.snapshot.networks.some((n) => n.subnets6.length > 0);
      for (const c of lists.containers as { Id: string }[]) {
        try {
          const i = await docker.getContainer(c.Id).inspect();
          containers.push({
            name: i.Name.replace(/^\//, ''),
            networkMode: i.HostConfig.NetworkMode ?? '',
            privileged: i.HostConfig.Privileged === true,
            capAdd: i.HostConfig.CapAdd ?? [],
          });
        } catch {
          // gone meanwhile
        }
      }
    } catch {
      desired = null;
    }
  }

  let control: DoctorFacts['control'];
  try {
    const res = await controlGet(config.control.socket, '/status', 3_000);
    const doc = res.status === 200 ? (JSON.parse(res.body) as { docker?: { connected?: boolean }; lastReconcile?: { ok?: boolean } | null }) : null;
    control = doc
      ? { socket: config.control.socket, ok: true, dockerConnected: doc.docker?.connected, lastOk: doc.lastReconcile?.ok ?? null }
      : { socket: config.control.socket, ok: false, error: `answered ${res.status}` };
  } catch (err) {
    control = { socket: config.control.socket, ok: false, error: err instanceof Error ? err.message : String(err) };
  }

  return {
    docker: dockerFacts,
    dockerdArgs,
    daemonJson: { path: daemonJsonPath, text: await readText(daemonJsonPath) },
    sysctl,
    iptablesVersion: version,
    saves,
    desired,
    containers,
    control,
    ipv6Networks,
    nftTables,
    runtime,
  };
}
