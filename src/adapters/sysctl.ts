// The few kernel switches moat writes. Interface names are validated by the
// core (IFACE) before they get here; this checks again, as a path component.
import { readFile, writeFile } from 'node:fs/promises';
import { IFACE } from '../core/docker-network.js';

export async function disableIpv6(bridges: readonly string[]): Promise<void> {
  for (const br of bridges) {
    if (!IFACE.test(br) || br === '.' || br === '..') throw new Error(`refusing interface name ${JSON.stringify(br)}`);
    await writeFile(`/proc/sys/net/ipv6/conf/${br}/disable_ipv6`, '1').catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw err; // the bridge is gone already
    });
  }
}

/** Reads `net.x.y` from /proc/sys; null when the switch does not exist (module not loaded). */
export async function readSysctl(name: string): Promise<string | null> {
  if (!/^[a-z0-9_.-]+$/.test(name)) throw new Error(`refusing sysctl name ${JSON.stringify(name)}`);
  try {
    return await readFile(`/proc/sys/${name.replaceAll('.', '/')}`, 'utf8');
  } catch {
    return null;
  }
}
