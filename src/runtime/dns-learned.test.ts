import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { dnsSetName, type DnsSet } from '../core/dns-name.js';
import type { SetEntry } from '../adapters/ipset.js';
import { DnsLearned } from './dns-learned.js';

const log = pino({ level: 'silent' });
const v4 = dnsSetName('api.example.com', 4);
const v6 = dnsSetName('api.example.com', 6);

function fakeIpset() {
  const calls = { ensured: [] as DnsSet[][], added: [] as SetEntry[][], removed: [] as Omit<SetEntry, 'timeoutS'>[][] };
  return {
    calls,
    ipset: {
      ensureSets: async (s: readonly DnsSet[]) => void calls.ensured.push([...s]),
      addEntries: async (e: readonly SetEntry[], r: readonly Omit<SetEntry, 'timeoutS'>[] = []) => {
        calls.added.push([...e]);
        if (r.length > 0) calls.removed.push([...r]);
      },
    },
  };
}

const req = (address: string, ttlS: number, set = v4) => ({
  pattern: 'api.example.com',
  set,
  address,
  family: (set === v4 ? 4 : 6) as 4 | 6,
  name: 'api.example.com',
  ttlS,
  askedBy: 'web',
});

let dir: string;
beforeEach(async () => (dir = await mkdtemp(join(tmpdir(), 'moat-dns-'))));
afterEach(() => rm(dir, { recursive: true, force: true }));

describe('DnsLearned', () => {
  it('adds to the kernel set first, then lists unexpired entries by address; expiry goes by the clock', async () => {
    let wall = Date.parse('2026-01-01T00:00:00Z');
    const { ipset, calls } = fakeIpset();
    const t = new DnsLearned({ ipset, wallClock: () => wall, stateFile: null, log });
    await t.learn([req('192.0.2.20', 60), req('192.0.2.10', 600)]);
    expect(calls.added).toEqual([
      [
        { set: v4, address: '192.0.2.20', timeoutS: 60 },
        { set: v4, address: '192.0.2.10', timeoutS: 600 },
      ],
    ]);
    expect(t.entries(v4).map((e) => e.address)).toEqual(['192.0.2.10', '192.0.2.20']);
    wall += 61_000;
    expect(t.entries(v4).map((e) => [e.address, new Date(e.expiresAt).toISOString()])).toEqual([['192.0.2.10', '2026-01-01T00:10:00.000Z']]);
    expect(t.sizes()).toEqual(new Map([[v4, 1]]));
  });

  it('an ipset failure throws and records nothing', async () => {
    const t = new DnsLearned({
      ipset: { ensureSets: async () => undefined, addEntries: () => Promise.reject(new Error('no such set')) },
      wallClock: () => 0,
      stateFile: null,
      log,
    });
    await expect(t.learn([req('192.0.2.1', 60)])).rejects.toThrow('no such set');
    expect(t.entries(v4)).toEqual([]);
  });

  it('holds at most maxPerSet addresses per set: the least recently refreshed goes, from the kernel set too', async () => {
    const { ipset, calls } = fakeIpset();
    const t = new DnsLearned({ ipset, wallClock: () => 0, stateFile: null, log, maxPerSet: 2 });
    await t.learn([req('192.0.2.1', 60), req('192.0.2.2', 60)]);
    await t.learn([req('192.0.2.1', 60)]); // refreshed: now the newest
    expect(calls.removed).toEqual([]);
    await t.learn([req('192.0.2.3', 60)]);
    expect(t.entries(v4).map((e) => e.address)).toEqual(['192.0.2.1', '192.0.2.3']);
    expect(calls.removed).toEqual([[{ set: v4, address: '192.0.2.2' }]]);
  });

  it('persists to the state file and restores: sets created first, unexpired entries re-added with the remaining TTL', async () => {
    const file = join(dir, 'sub', 'learned.json');
    let wall = Date.parse('2026-01-01T00:00:00Z');
    const first = new DnsLearned({ ...fakeIpset(), wallClock: () => wall, stateFile: file, log, persistDelayMs: 5 });
    await first.learn([req('192.0.2.10', 600), req('192.0.2.11', 30), req('2001:db8::1', 300, v6)]);
    await first.persist();
    const saved = JSON.parse(await readFile(file, 'utf8')) as { entries: unknown[] };
    expect(saved.entries).toHaveLength(3);

    wall += 100_000;
    const { ipset, calls } = fakeIpset();
    const second = new DnsLearned({ ipset, wallClock: () => wall, stateFile: file, log });
    await second.restore();
    expect(calls.ensured).toEqual([
      [
        { pattern: 'api.example.com', family: 4, name: v4 },
        { pattern: 'api.example.com', family: 6, name: v6 },
      ],
    ]);
    expect(calls.added).toEqual([
      [
        { set: v4, address: '192.0.2.10', timeoutS: 500 },
        { set: v6, address: '2001:db8::1', timeoutS: 200 },
      ],
    ]);
    expect(second.entries(v4)).toMatchObject([{ address: '192.0.2.10', name: 'api.example.com', askedBy: 'web' }]);
  });

  it('writes nothing when it learned nothing (a moatd without dns: grants leaves no state file)', async () => {
    const file = join(dir, 'none', 'learned.json');
    await new DnsLearned({ ...fakeIpset(), wallClock: () => 0, stateFile: file, log }).persist();
    await expect(readFile(file, 'utf8')).rejects.toThrow(/ENOENT/);
  });

  it('a state file with bad entries keeps only the valid ones; an unparsable one is ignored', async () => {
    const file = join(dir, 'learned.json');
    const good = {
      pattern: 'api.example.com',
      set: v4,
      address: '192.0.2.10',
      family: 4,
      name: 'api.example.com',
      expiresAt: '2026-01-01T01:00:00Z',
      askedBy: null,
    };
    const bad = [
      { ...good, set: 'moat-dns4-; rm -rf /' },
      { ...good, address: '192.0.2.10 timeout 0' },
      { ...good, set: v6 },
      { ...good, pattern: '*.com' },
      { ...good, expiresAt: 'soon' },
    ];
    await writeFile(file, JSON.stringify({ version: 1, entries: [...bad, good] }));
    const { ipset, calls } = fakeIpset();
    await new DnsLearned({ ipset, wallClock: () => Date.parse('2026-01-01T00:00:00Z'), stateFile: file, log }).restore();
    expect(calls.added).toEqual([[{ set: v4, address: '192.0.2.10', timeoutS: 3600 }]]);
    await writeFile(file, '{not json');
    const other = fakeIpset();
    await new DnsLearned({ ipset: other.ipset, wallClock: () => 0, stateFile: file, log }).restore();
    expect(other.calls.added).toEqual([]);
  });
});
