// Which address families moatd manages, decided once at start: IPv4 always
// (or moatd refuses to start), IPv6 as the config says and ip6tables allows.
import type { Logger } from 'pino';
import { type CommandRunner, Iptables } from '../adapters/iptables.js';
import type { Config } from '../core/config.js';

/** moatd cannot enforce what it must here: it does not start. */
export class StartupError extends Error {
  override name = 'StartupError';
}

/** One Iptables per managed family; refuses to start when it cannot enforce what it must. */
export async function managedFamilies(run: CommandRunner, config: Config, log: Logger): Promise<Iptables[]> {
  const v4 = new Iptables(run, 4);
  if (!(await v4.available()))
    throw new StartupError('iptables-save does not work here: moat cannot enforce anything (is iptables installed, and are we root with CAP_NET_ADMIN?)');
  if (config.ipv6 === 'off') return [v4];
  const v6 = new Iptables(run, 6);
  if (await v6.available()) return [v4, v6];
  if (config.ipv6 === 'on') throw new StartupError('ipv6: on, but ip6tables-save does not work here');
  log.warn({ event: 'ipv6_unavailable' }, 'ip6tables is not usable: IPv6 is not firewalled by moat');
  return [v4];
}
