// dockerd's command line for a private engine, per engine line: the flags
// are the same on 20.10, 26.1 and 28.5, but what they default to and what
// they need beside them is not.
import { join } from 'node:path';
import type { EngineVersion } from './engine-choice.js';

export interface DockerdFlags {
  /** Docker's own firewall (default false, the setup moat exists for). */
  readonly iptables?: boolean;
  /**
   * Docker's ip6tables rules (default false). Always passed explicitly: from
   * 27.0 on the default is true, independently of --iptables. Before 27.0
   * (20.10, 26.1) ip6tables is experimental and is refused without
   * --experimental, which is then added. null: no flag, the engine's own
   * default (what a daemon.json with only `"iptables": false` gets).
   */
  readonly ip6tables?: boolean | null;
  /** IPv6 on the default bridge; 20.10 refuses --ipv6 without --fixed-cidr-v6. User networks need neither. */
  readonly defaultBridgeIpv6?: string;
  /** false gives `--bridge none` (no docker0). */
  readonly defaultBridge?: boolean;
  readonly userlandProxy?: boolean;
  readonly extraArgs?: readonly string[];
}

const major = (version: EngineVersion) => Number(version.split('.')[0]);

/** Everything lives under `dir`; `name` is the containerd namespace and cgroup parent. */
export function dockerdArgs(
  dir: string,
  name: string,
  flags: DockerdFlags,
  engine: { readonly version: EngineVersion; readonly dockerd: string } = { version: '20.10', dockerd: 'dockerd' },
): string[] {
  return [
    engine.dockerd,
    // An empty config file: /etc/docker/daemon.json must not leak in (and would clash with flags).
    `--config-file=${join(dir, 'daemon.json')}`,
    `--data-root=${join(dir, 'data')}`,
    `--exec-root=${join(dir, 'exec')}`,
    `--pidfile=${join(dir, 'docker.pid')}`,
    `--host=unix://${join(dir, 'docker.sock')}`,
    `--containerd-namespace=${name}`,
    `--containerd-plugins-namespace=${name}-plugins`,
    `--cgroup-parent=${name}`,
    `--iptables=${flags.iptables ?? false}`,
    ...(flags.ip6tables === null ? [] : [`--ip6tables=${flags.ip6tables ?? false}`]),
    `--userland-proxy=${flags.userlandProxy ?? true}`,
    ...(flags.ip6tables && major(engine.version) < 27 ? ['--experimental'] : []),
    ...(flags.defaultBridgeIpv6 ? ['--ipv6', `--fixed-cidr-v6=${flags.defaultBridgeIpv6}`] : []),
    ...(flags.defaultBridge === false ? ['--bridge=none'] : []),
    ...(flags.extraArgs ?? []),
  ];
}
