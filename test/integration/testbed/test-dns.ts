// The test DNS server (dns-server.ts) as a process the bed starts in a
// namespace, by `nsenter --net` like dockerd and moatd, and stops by the PID
// it recorded. Its records are a file the test rewrites (setZone); its query
// log is kept in order, so a test can wait for a query or prove there was none.
import { rename, writeFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import type { DnsQueryLine, DnsZone } from './dns-zone.js';
import type { Netns } from './netns.js';
import { terminate } from './processes.js';
import { execaSpawn, type Spawn } from './spawn.js';

export interface TestDnsOptions {
  readonly netns: Netns;
  /** Where it binds port 53 (UDP and TCP); addresses of `netns`. */
  readonly addresses: readonly string[];
  /** The zone file (rewritten by setZone). */
  readonly zonePath: string;
  readonly zone?: DnsZone;
  readonly spawn?: Spawn;
}

export interface TestDns extends AsyncDisposable {
  readonly pid: number;
  readonly addresses: readonly string[];
  /** Every query read, in order. */
  readonly queries: readonly DnsQueryLine[];
  /** Index of the next query line (pass to since). */
  mark(): number;
  zone(): DnsZone;
  /** Replaces the records; the next query sees them. */
  setZone(zone: DnsZone): Promise<void>;
  waitForQuery(match: (q: DnsQueryLine) => boolean, options?: { since?: number; timeoutMs?: number }): Promise<DnsQueryLine>;
  running(): boolean;
  stop(): Promise<void>;
}

// dns-server.ts beside this file under vitest (run as stripped TypeScript), dns-server.js beside the bench's compiled copy.
const SERVER = fileURLToPath(new URL(`./dns-server${extname(fileURLToPath(import.meta.url))}`, import.meta.url));

async function writeZone(path: string, zone: DnsZone): Promise<void> {
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, JSON.stringify(zone));
  await rename(tmp, path);
}

export async function startTestDns(options: TestDnsOptions): Promise<TestDns> {
  let zone: DnsZone = options.zone ?? { records: {} };
  await writeZone(options.zonePath, zone);
  // The node running this process: Node 24 under the repository's scripts, which runs .ts files as they are.
  const [file, argv] = options.netns.enter([process.execPath, SERVER, options.zonePath, ...options.addresses]);
  const proc = (options.spawn ?? execaSpawn)(file, argv, { stdout: 'pipe', stderr: 'pipe' });
  const queries: DnsQueryLine[] = [];
  let stderr = '';
  let exited = false;
  let ready = false;
  const waiters = new Set<() => void>();
  proc.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr = (stderr + d).slice(-4000)));
  if (proc.stdout) {
    createInterface({ input: proc.stdout }).on('line', (text) => {
      let line: { event?: string };
      try {
        line = JSON.parse(text) as { event?: string };
      } catch {
        stderr = (stderr + text + '\n').slice(-4000);
        return;
      }
      if (line.event === 'ready') ready = true;
      else if (line.event === 'query') queries.push(line as DnsQueryLine);
      waiters.forEach((w) => w());
    });
  }
  void proc.exited.then(() => {
    exited = true;
    waiters.forEach((w) => w());
  });
  const stop = async () => {
    if (!exited) await terminate(proc.pid, 3_000);
  };
  for (const deadline = Date.now() + 10_000; !ready; await sleep(20)) {
    if (exited || Date.now() > deadline) {
      await stop();
      throw new Error(`the test DNS server on ${options.addresses.join(', ')} in ${options.netns.name} did not come up:\n${stderr}`);
    }
  }
  const dns: TestDns = {
    pid: proc.pid,
    addresses: options.addresses,
    queries,
    mark: () => queries.length,
    zone: () => zone,
    async setZone(next) {
      zone = next;
      await writeZone(options.zonePath, next);
    },
    waitForQuery(match, { since = 0, timeoutMs = 10_000 } = {}) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const hit = queries.slice(since).find(match);
          if (hit) done(() => resolve(hit));
          else if (exited) done(() => reject(new Error(`the test DNS server exited before the awaited query:\n${stderr}`)));
        };
        const timer = setTimeout(
          () => done(() => reject(new Error(`no matching query within ${timeoutMs} ms; last queries:\n${JSON.stringify(queries.slice(-10), null, 1)}`))),
          timeoutMs,
        );
        const done = (settle: () => void) => {
          clearTimeout(timer);
          waiters.delete(check);
          settle();
        };
        waiters.add(check);
        check();
      });
    },
    running: () => !exited,
    stop,
    [Symbol.asyncDispose]: stop,
  };
  return dns;
}
