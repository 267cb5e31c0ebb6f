// dockerd's command line for a private engine (Docker 20.10 flag rules).
import { join } from 'node:path';

export interface DockerdFlags {
  /** Docker's own firewall (default false, the setup moat exists for). */
  readonly iptables?: boolean;
  /** Docker's ip6tables rules; 20.10 refuses this without --experimental, which is then added. */
  readonly ip6tables?: boolean;
  /** IPv6 on the default bridge; 20.10 refuses --ipv6 without --fixed-cidr-v6. User networks need neither. */
  readonly defaultBridgeIpv6?: string;
  /** false gives `--bridge none` (no docker0). */
  readonly defaultBridge?: boolean;
  readonly userlandProxy?: boolean;
  readonly extraArgs?: readonly string[];
}

/** Everything lives under `dir`; `name` is the containerd namespace and cgroup parent. */
export function dockerdArgs(dir: string, name: string, flags: DockerdFlags): string[] {
  return [
    'dockerd',
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
    `--ip6tables=${flags.ip6tables ?? false}`,
    `--userland-proxy=${flags.userlandProxy ?? true}`,
    ...(flags.ip6tables ? ['--experimental'] : []),
    ...(flags.defaultBridgeIpv6 ? ['--ipv6', `--fixed-cidr-v6=${flags.defaultBridgeIpv6}`] : []),
    ...(flags.defaultBridge === false ? ['--bridge=none'] : []),
    ...(flags.extraArgs ?? []),
  ];
}
