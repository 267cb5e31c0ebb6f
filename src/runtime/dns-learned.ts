// What the forwarder learned, per pattern: address, name asked, expiry and
// who asked. The kernel expires set entries by itself; this table only
// mirrors them for status and explain (an entry leaves when its clock runs
// out) and survives restarts in dns.stateFile (tmp + rename, debounced), so
// that a restart re-adds what is missing with the remaining TTL. Each set
// holds at most `maxPerSet` addresses (ipset's maxelem): beyond, the
// longest-unrefreshed entry is dropped, logged once per set.
import { readFile, rename, writeFile, mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Logger } from 'pino';
import { parseAddress } from '../core/addr.js';
import { DNS_SET_NAME, type DnsSet, parseDnsName } from '../core/dns-name.js';
import type { Ipset } from '../adapters/ipset.js';
import type { LearnRequest } from './dns-forwarder.js';

export interface LearnedEntry {
  readonly pattern: string;
  readonly set: string;
  readonly address: string;
  readonly family: 4 | 6;
  readonly name: string;
  /** Wall-clock milliseconds. */
  readonly expiresAt: number;
  readonly askedBy: string | null;
}

export interface DnsLearnedDeps {
  readonly ipset: Pick<Ipset, 'ensureSets' | 'addEntries'>;
  /** Wall-clock milliseconds (expiries survive restarts). */
  readonly wallClock: () => number;
  readonly stateFile: string | null;
  readonly log: Logger;
  readonly maxPerSet?: number;
  readonly persistDelayMs?: number;
}

/** One state-file entry checked field by field; null when anything is off. */
function readEntry(raw: unknown): LearnedEntry | null {
  if (typeof raw !== 'object' || raw === null) return null;
  const r = raw as Record<string, unknown>;
  const pattern = typeof r.pattern === 'string' ? parseDnsName(r.pattern) : null;
  const address = typeof r.address === 'string' ? parseAddress(r.address) : null;
  const expiresAt = typeof r.expiresAt === 'string' ? Date.parse(r.expiresAt) : NaN;
  if (!pattern || !('pattern' in pattern) || pattern.pattern !== r.pattern || !address || typeof r.set !== 'string' || !DNS_SET_NAME.test(r.set)) return null;
  if (r.set[8] !== String(address.family) || typeof r.name !== 'string' || r.name.length > 253 || !Number.isFinite(expiresAt)) return null;
  const askedBy = typeof r.askedBy === 'string' ? r.askedBy.slice(0, 256) : null;
  return { pattern: pattern.pattern, set: r.set, address: address.text, family: address.family, name: r.name, expiresAt, askedBy };
}

export class DnsLearned {
  /** Per set name, by address; Map order is refresh order (oldest first). */
  private readonly sets = new Map<string, Map<string, LearnedEntry>>();
  private readonly overflowLogged = new Set<string>();
  private timer: NodeJS.Timeout | null = null;
  private writing: Promise<void> = Promise.resolve();
  /** Changed since the last write: a moatd that learned nothing writes nothing. */
  private dirty = false;

  constructor(private readonly deps: DnsLearnedDeps) {}

  /**
   * Adds the entries to the kernel sets (throws when ipset fails), then to
   * the table. A set that would go past its bound loses its oldest entries
   * in the same ipset call: a full set would refuse every new address.
   */
  async learn(entries: readonly LearnRequest[]): Promise<void> {
    await this.deps.ipset.addEntries(
      entries.map((e) => ({ set: e.set, address: e.address, timeoutS: e.ttlS })),
      this.evictions(entries),
    );
    const now = this.deps.wallClock();
    for (const e of entries) {
      this.put({ pattern: e.pattern, set: e.set, address: e.address, family: e.family, name: e.name, expiresAt: now + e.ttlS * 1000, askedBy: e.askedBy });
    }
    this.schedulePersist();
  }

  /** The oldest entries to drop so that each set stays within maxPerSet once `entries` are in. */
  private evictions(entries: readonly LearnRequest[]): { set: string; address: string }[] {
    const max = this.deps.maxPerSet ?? 65_536;
    const out: { set: string; address: string }[] = [];
    for (const set of new Set(entries.map((e) => e.set))) {
      const table = this.sets.get(set);
      if (!table) continue;
      const incoming = new Set(entries.filter((e) => e.set === set).map((e) => e.address));
      let size = table.size + [...incoming].filter((a) => !table.has(a)).length;
      for (const addr of table.keys()) {
        if (size <= max) break;
        if (incoming.has(addr)) continue;
        out.push({ set, address: addr });
        size--;
      }
    }
    return out;
  }

  private put(e: LearnedEntry): void {
    const table = this.sets.get(e.set) ?? new Map<string, LearnedEntry>();
    this.sets.set(e.set, table);
    table.delete(e.address);
    table.set(e.address, e);
    const max = this.deps.maxPerSet ?? 65_536;
    if (table.size <= max) return;
    const oldest = table.keys().next().value!;
    table.delete(oldest);
    if (!this.overflowLogged.has(e.set)) {
      this.overflowLogged.add(e.set);
      this.deps.log.warn(
        { event: 'dns_set_full', set: e.set, pattern: e.pattern, max },
        `dns:${e.pattern}: more than ${max} addresses learned; the oldest are dropped`,
      );
    }
  }

  /** Unexpired entries of one set, sorted by address. */
  entries(set: string): LearnedEntry[] {
    this.prune();
    return [...(this.sets.get(set)?.values() ?? [])].sort((a, b) => (a.address < b.address ? -1 : a.address > b.address ? 1 : 0));
  }

  /** Unexpired entries per set name (metrics). */
  sizes(): Map<string, number> {
    this.prune();
    return new Map([...this.sets].map(([name, t]) => [name, t.size]));
  }

  private prune(): void {
    const now = this.deps.wallClock();
    for (const [name, table] of this.sets) {
      for (const [addr, e] of table) if (e.expiresAt <= now) table.delete(addr);
      if (table.size === 0) this.sets.delete(name);
    }
  }

  /** The sets were destroyed: their entries go too. */
  forget(names: readonly string[]): void {
    for (const n of names) this.sets.delete(n);
    if (names.length > 0) this.schedulePersist();
  }

  /** Reads the state file; re-creates its sets and re-adds unexpired entries with the remaining TTL. */
  async restore(): Promise<void> {
    const { stateFile, log } = this.deps;
    if (!stateFile) return;
    let doc: unknown;
    try {
      doc = JSON.parse(await readFile(stateFile, 'utf8'));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT')
        log.warn({ event: 'dns_state_unreadable', file: stateFile, err: String(err) }, 'DNS state file ignored');
      return;
    }
    const raw = (doc as { entries?: unknown } | null)?.entries;
    const now = this.deps.wallClock();
    const entries = (Array.isArray(raw) ? raw : []).map(readEntry).filter((e): e is LearnedEntry => e !== null && e.expiresAt - now >= 1000);
    if (entries.length === 0) return;
    const sets = new Map<string, DnsSet>(entries.map((e) => [e.set, { pattern: e.pattern, family: e.family, name: e.set }]));
    await this.deps.ipset.ensureSets([...sets.values()]);
    await this.deps.ipset.addEntries(entries.map((e) => ({ set: e.set, address: e.address, timeoutS: Math.floor((e.expiresAt - now) / 1000) })));
    for (const e of entries) this.put(e);
    log.info({ event: 'dns_state_restored', file: stateFile, entries: entries.length, sets: sets.size }, 'learned DNS addresses restored');
  }

  private schedulePersist(): void {
    this.dirty = true;
    if (!this.deps.stateFile || this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.persist();
    }, this.deps.persistDelayMs ?? 1000);
    this.timer.unref();
  }

  /** Writes the table now (and cancels a pending write): on stop, and by the debounce. */
  persist(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const file = this.deps.stateFile;
    if (!file || !this.dirty) return this.writing;
    this.dirty = false;
    this.prune();
    const entries = [...this.sets.values()].flatMap((t) => [...t.values()]).map((e) => ({ ...e, expiresAt: new Date(e.expiresAt).toISOString() }));
    const text = `${JSON.stringify({ version: 1, entries })}\n`;
    this.writing = this.writing.then(async () => {
      try {
        await mkdir(dirname(file), { recursive: true, mode: 0o700 });
        const tmp = `${file}.tmp-${process.pid}`;
        await writeFile(tmp, text, { mode: 0o600 });
        await rename(tmp, file);
      } catch (err) {
        this.deps.log.warn({ event: 'dns_state_write_failed', file, err: String(err) }, 'could not write the DNS state file');
      }
    });
    return this.writing;
  }
}
