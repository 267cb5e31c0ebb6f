// Without br_netfilter, traffic between containers on one bridge never
// reaches iptables: ICC-off networks and same-network rules do nothing.
// moatd does not flip host-wide switches itself; it says so, loudly.
import type { Logger } from 'pino';

/** Logs `br_netfilter_off` for each family whose bridge-nf-call sysctl is not 1. */
export async function checkBridgeNetfilter(readSysctl: (name: string) => Promise<string | null>, log: Logger, families: readonly number[]): Promise<void> {
  for (const f of families) {
    const name = `net.bridge.bridge-nf-call-${f === 4 ? 'iptables' : 'ip6tables'}`;
    const value = await readSysctl(name);
    if (value?.trim() === '1') continue;
    log.error(
      {
        event: 'br_netfilter_off',
        sysctl: name,
        value: value?.trim() ?? null,
        fix: `modprobe br_netfilter && sysctl -w ${name}=1 (persist in /etc/sysctl.d/)`,
      },
      `${name} is not 1: traffic inside a Docker network bypasses iptables, so enable_icc=false / moat.icc=false are not enforced`,
    );
  }
}
