// ipset for moat's DNS-learned sets (hash:ip with per-entry timeouts),
// through a command runner passed in (execa in production, a fake in tests).
// Only names of moat's own shape and canonical addresses ever reach ipset:
// everything else is refused before a command runs.
import { parseAddress } from '../core/addr.js';
import { DNS_SET_NAME, type DnsSet } from '../core/dns-name.js';
import type { CommandRunner } from './iptables.js';

export class IpsetError extends Error {
  override name = 'IpsetError';
}

export interface SetEntry {
  readonly set: string;
  readonly address: string;
  /** Seconds the kernel keeps the entry; >= 1 (0 would make it permanent). */
  readonly timeoutS: number;
}

export interface ListedSet {
  readonly name: string;
  readonly family: 4 | 6;
  readonly members: readonly { readonly address: string; readonly timeoutS: number }[];
}

function checkName(name: string): string {
  if (!DNS_SET_NAME.test(name)) throw new IpsetError(`refusing ipset name ${JSON.stringify(name)}: not moat-dns4-/moat-dns6- and 16 hex digits`);
  return name;
}

function familyOf(name: string): 4 | 6 {
  return name.startsWith('moat-dns4-') ? 4 : 6;
}

function checkEntry(e: SetEntry): string {
  const set = checkName(e.set);
  const addr = parseAddress(e.address);
  if (!addr || addr.family !== familyOf(set)) throw new IpsetError(`refusing ${JSON.stringify(e.address)} for ${set}: not an IPv${familyOf(set)} address`);
  if (!Number.isInteger(e.timeoutS) || e.timeoutS < 1 || e.timeoutS > 2_147_483) throw new IpsetError(`refusing timeout ${e.timeoutS} for ${set}`);
  return `add ${set} ${addr.text} timeout ${e.timeoutS}\n`;
}

export class Ipset {
  constructor(private readonly run: CommandRunner) {}

  private async exec(args: readonly string[], input?: string): Promise<string> {
    const res = await this.run('ipset', args, input);
    if (res.exitCode !== 0) throw new IpsetError(`ipset ${args.join(' ')} failed (exit ${res.exitCode}): ${res.stderr.trim()}`);
    return res.stdout;
  }

  /** Creates each set that is missing (timeouts on, default 0); one `ipset restore -exist`. */
  async ensureSets(sets: readonly DnsSet[]): Promise<void> {
    if (sets.length === 0) return;
    const text = sets
      .map((s) => {
        if (familyOf(checkName(s.name)) !== s.family) throw new IpsetError(`set ${s.name} is not of family ${s.family}`);
        return `create ${s.name} hash:ip family ${s.family === 4 ? 'inet' : 'inet6'} timeout 0\n`;
      })
      .join('');
    await this.exec(['restore', '-exist'], text);
  }

  /**
   * Adds (or refreshes the timeout of) every entry in one `ipset restore
   * -exist`, after deleting `remove` (room in a full set: its maxelem is 65,536).
   */
  async addEntries(entries: readonly SetEntry[], remove: readonly Omit<SetEntry, 'timeoutS'>[] = []): Promise<void> {
    if (entries.length === 0 && remove.length === 0) return;
    const del = remove.map((e) => checkEntry({ ...e, timeoutS: 1 }).replace(/^add (\S+ \S+) timeout 1\n$/, 'del $1\n'));
    await this.exec(['restore', '-exist'], [...del, ...entries.map(checkEntry)].join(''));
  }

  /** Destroys each set; one still referenced by a rule fails (the kernel refuses). */
  async destroySets(names: readonly string[]): Promise<void> {
    for (const name of names) await this.exec(['destroy', checkName(name)]);
  }

  /** moat's sets whose names start with `prefix`, with members and remaining timeouts. */
  async listSets(prefix = 'moat-dns'): Promise<ListedSet[]> {
    const out = await this.exec(['save']);
    const sets = new Map<string, { address: string; timeoutS: number }[]>();
    for (const line of out.split('\n')) {
      const create = /^create (\S+) /.exec(line);
      if (create && DNS_SET_NAME.test(create[1]!) && create[1]!.startsWith(prefix)) sets.set(create[1]!, []);
      const add = /^add (\S+) (\S+)(?: timeout (\d+))?/.exec(line);
      const members = add ? sets.get(add[1]!) : undefined;
      const addr = add ? parseAddress(add[2]!) : null;
      if (members && addr) members.push({ address: addr.text, timeoutS: Number(add![3] ?? 0) });
    }
    return [...sets].map(([name, members]) => ({ name, family: familyOf(name), members })).sort((a, b) => a.name.localeCompare(b.name));
  }
}
