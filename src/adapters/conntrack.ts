// Deletes conntrack entries (Debian's conntrack tool) so revoked flows are cut.
import type { ConntrackFilter } from '../core/revocation.js';
import type { CommandRunner } from './iptables.js';

export interface ConntrackResult {
  readonly deleted: number;
  readonly errors: readonly string[];
}

export async function deleteConntrack(run: CommandRunner, filters: readonly ConntrackFilter[]): Promise<ConntrackResult> {
  let deleted = 0;
  const errors: string[] = [];
  for (const f of filters) {
    const res = await run('conntrack', ['-D', '-f', f.family === 4 ? 'ipv4' : 'ipv6', ...f.args]);
    const count = /(\d+) flow entries have been deleted/.exec(res.stderr);
    if (count) deleted += Number(count[1]);
    // Exit 1 with "0 flow entries" only means there was nothing to cut.
    else if (res.exitCode !== 0) errors.push(`conntrack ${f.args.join(' ')}: ${res.stderr.trim() || `exit ${res.exitCode}`}`);
  }
  return { deleted, errors };
}
