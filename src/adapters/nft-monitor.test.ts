import { existsSync, readFileSync } from 'node:fs';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CommandRunner } from './iptables.js';
import { type MonitorEnd, type MonitorLine, nfTablesBackend, nftMonitor, parseMonitorLine } from './nft-monitor.js';

describe('parseMonitorLine', () => {
  it('reads who committed a generation; anything else is a change', () => {
    expect(parseMonitorLine('# new generation 9 by process 20329 (iptables-restor)')).toEqual({ kind: 'generation', pid: 20329, comm: 'iptables-restor' });
    expect(parseMonitorLine('# new generation 3 by process 7 (my (odd) tool)')).toEqual({ kind: 'generation', pid: 7, comm: 'my (odd) tool' });
    expect(parseMonitorLine('insert rule ip filter FORWARD counter packets 0 bytes 0 jump MOAT-FORWARD')).toEqual({ kind: 'change' });
    expect(parseMonitorLine('# ERROR: We lost some netlink events!')).toEqual({ kind: 'change' });
    expect(parseMonitorLine('  ')).toBeNull();
  });
});

describe('nftMonitor', () => {
  let dir: string;
  const tool = async (name: string, body: string) => {
    const path = join(dir, name);
    await writeFile(path, `#!/bin/sh\n${body}\n`);
    await chmod(path, 0o755);
    return path;
  };
  const until = async (ok: () => boolean) => {
    for (let i = 0; i < 200 && !ok(); i++) await new Promise((r) => setTimeout(r, 10));
    return ok();
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'moat-nft-monitor-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('hands over every line, and its close() kills the child and stays quiet', async () => {
    const file = await tool(
      'nft',
      `echo $$ > ${dir}/pid\necho 'add table ip filter'\necho '# new generation 2 by process 77 (iptables-restor)' >&2\nexec sleep 30`,
    );
    const lines: MonitorLine[] = [];
    const ends: MonitorEnd[] = [];
    const close = nftMonitor(file)({ onLine: (l) => lines.push(l), onEnd: (e) => ends.push(e) });
    expect(await until(() => lines.length === 2)).toBe(true);
    expect(lines).toContainEqual({ kind: 'change' });
    expect(lines).toContainEqual({ kind: 'generation', pid: 77, comm: 'iptables-restor' });
    const pid = Number(await readFile(join(dir, 'pid'), 'utf8'));
    close();
    expect(await until(() => !existsSync(`/proc/${pid}`) || readFileSyncState(pid) === 'Z')).toBe(true);
    await new Promise((r) => setTimeout(r, 50));
    expect(ends).toEqual([]);
  });

  it('reports once when the child exits, or cannot start because it is not installed', async () => {
    const file = await tool('nft-dies', 'exit 3');
    const ends: MonitorEnd[] = [];
    nftMonitor(file)({ onLine: () => {}, onEnd: (e) => ends.push(e) });
    expect(await until(() => ends.length > 0)).toBe(true);
    expect(ends).toEqual([{ missing: false, reason: 'exited with 3' }]);
    const missing: MonitorEnd[] = [];
    nftMonitor(join(dir, 'not-there'))({ onLine: () => {}, onEnd: (e) => missing.push(e) });
    expect(await until(() => missing.length > 0)).toBe(true);
    await new Promise((r) => setTimeout(r, 50));
    expect(missing).toMatchObject([{ missing: true }]);
  });
});

function readFileSyncState(pid: number): string {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  } catch {
    return 'gone';
  }
}

describe('nfTablesBackend', () => {
  const runner =
    (versions: Record<string, string>): CommandRunner =>
    async (file) =>
      versions[file] ? { stdout: versions[file], stderr: '', exitCode: 0 } : { stdout: '', stderr: 'not found', exitCode: 127 };

  it('is true only when every family writes nf_tables', async () => {
    const nft = { iptables: 'iptables v1.8.9 (nf_tables)\n', ip6tables: 'ip6tables v1.8.9 (nf_tables)\n' };
    expect(await nfTablesBackend(runner(nft), [4, 6])).toBe(true);
    expect(await nfTablesBackend(runner({ ...nft, ip6tables: 'ip6tables v1.8.9 (legacy)\n' }), [4, 6])).toBe(false);
    expect(await nfTablesBackend(runner({ ...nft, ip6tables: 'ip6tables v1.8.9 (legacy)\n' }), [4])).toBe(true);
    expect(await nfTablesBackend(runner({}), [4])).toBe(false);
  });
});
