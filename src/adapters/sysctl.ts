// The few kernel switches moat writes. Interface names are validated by the
// core (IFACE) before they get here; this checks again, as a path component.
import { writeFile } from 'node:fs/promises';
import { IFACE } from '../core/from-docker.js';

export async function disableIpv6(bridges: readonly string[]): Promise<void> {
  for (const br of bridges) {
    if (!IFACE.test(br) || br === '.' || br === '..') throw new Error(`refusing interface name ${JSON.stringify(br)}`);
    await writeFile(`/proc/sys/net/ipv6/conf/${br}/disable_ipv6`, '1').catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw err; // the bridge is gone already
    });
  }
}
