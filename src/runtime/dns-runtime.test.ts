// The DNS runtime inside moatd: forwarder bound at start, status and metrics,
// a bind failure that leaves enforcement alone, and the ipsets around commits.
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { captureLogger } from '../../test/fakes/capture-logger.js';
import { askUdp, decodeReply, type FakeUpstream, query, reply, startFakeUpstream } from '../../test/fakes/fake-dns-upstream.js';
import { FakeDocker } from '../../test/fakes/fake-docker.js';
import { FakeXtables } from '../../test/fakes/fake-xtables.js';
import type { Ipset, SetEntry } from '../adapters/ipset.js';
import { type Config, ConfigSchema } from '../core/config.js';
import { dnsSet, dnsSetName, type DnsSet } from '../core/dns-name.js';
import type { Desired } from '../core/desired.js';
import { Daemon } from './daemon.js';
import { DnsRuntime } from './dns-runtime.js';
import { Metrics } from './metrics.js';
import { DaemonStatus } from './status.js';

type FakeIpset = Pick<Ipset, 'ensureSets' | 'addEntries' | 'destroySets' | 'listSets'>;

function fakeIpset(live: string[] = []) {
  const calls: string[] = [];
  const added: SetEntry[] = [];
  const ipset: FakeIpset = {
    ensureSets: async (s) => {
      calls.push(`ensure ${s.map((x) => x.name).join(' ')}`);
      for (const x of s) if (!live.includes(x.name)) live.push(x.name);
    },
    addEntries: async (e) => void added.push(...e),
    destroySets: async (names) => {
      calls.push(`destroy ${names.join(' ')}`);
      for (const n of names) live.splice(live.indexOf(n), 1);
    },
    listSets: async () => live.map((name) => ({ name, family: name[8] === '4' ? (4 as const) : (6 as const), members: [] })),
  };
  return { ipset, calls, added, live };
}

const withDns = (dns: Partial<Config['dns']>): Config => {
  const base = ConfigSchema.parse({ policyDir: join(tmpdir(), `moat-no-policy-${process.pid}`, 'none') });
  // stateFile null (not a valid config value) keeps the tests off the machine's /var/lib/moat.
  return { ...base, dns: { ...base.dns, stateFile: null, ...dns } } as unknown as Config;
};
const desiredWith = (sets: DnsSet[]) => ({ dnsSets: sets, snapshot: { networks: [], containers: [] } }) as unknown as Desired;
const setsOf = (pattern: string): DnsSet[] => ([4, 6] as const).map((family) => dnsSet(pattern, family));

const open: { close(): Promise<void> }[] = [];
afterEach(async () => {
  for (const o of open.splice(0)) await o.close();
});

describe('DnsRuntime around commits', () => {
  it('creates the referenced sets before a commit, and destroys unreferenced moat-dns sets after it', async () => {
    const stale = dnsSetName('gone.example.com', 4);
    const f = fakeIpset([stale]);
    const cap = captureLogger();
    const rt = new DnsRuntime({
      config: () => withDns({ listen: null }),
      run: async () => ({ stdout: '', stderr: '', exitCode: 0 }),
      log: cap.log,
      now: () => 0,
      wallClock: () => 0,
      ipset: f.ipset,
    });
    const sets = setsOf('api.example.com');
    await rt.beforeCommit(desiredWith(sets), true);
    await rt.afterCommit(desiredWith(sets), true);
    expect(f.calls).toEqual([`ensure ${sets[0]!.name} ${sets[1]!.name}`, `destroy ${stale}`]);
    expect(cap.events('dns_set_destroyed')).toMatchObject([{ set: stale }]);
    // An event-only run with the same sets touches no ipset.
    await rt.beforeCommit(desiredWith(sets), false);
    await rt.afterCommit(desiredWith(sets), false);
    expect(f.calls).toHaveLength(2);
    expect(rt.status().grants).toEqual([{ pattern: 'api.example.com', sets: { '4': sets[0]!.name, '6': sets[1]!.name }, learned: [] }]);
    // The grant is revoked: its sets go after the commit that dropped the rules.
    await rt.beforeCommit(desiredWith([]), false);
    await rt.afterCommit(desiredWith([]), false);
    expect(f.calls.slice(2)).toEqual([`destroy ${sets[0]!.name}`, `destroy ${sets[1]!.name}`]);
  });
});

describe('Daemon with dns.listen', () => {
  let upstream: FakeUpstream;

  async function start(listen: string) {
    upstream = await startFakeUpstream((q) => [reply(q, [{ type: 'A', name: 'api.example.com', ttl: 30, class: 'IN', data: '192.0.2.10' }])]);
    open.push(upstream);
    const cap = captureLogger();
    const kernel = new FakeXtables();
    const metrics = new Metrics({ dockerConnected: () => true, processMetrics: false });
    const status = new DaemonStatus({ now: () => 0, wallClock: () => 0, pid: 1, metrics });
    const d = new Daemon({
      config: withDns({ listen, upstream: [`127.0.0.1:${upstream.port}`] }),
      docker: new FakeDocker(),
      run: kernel.runner(),
      log: cap.log,
      now: () => performance.now(),
      observer: status,
      dns: { port: 0, ipset: fakeIpset().ipset },
    });
    open.push({ close: () => d.stop() });
    await d.start();
    return { d, cap, kernel, status, metrics };
  }

  it('forwards on dns.listen and reports it in status and metrics', async () => {
    const { d, status, metrics } = await start('127.0.0.1');
    const port = d.dns!.port!;
    const got = decodeReply((await askUdp(port, query('api.example.com', 'A', 3)))!);
    expect(got).toMatchObject({ id: 3, rcode: 'NOERROR', answers: [{ data: '192.0.2.10' }] });
    expect(status.document().dns).toEqual({
      enabled: true,
      listen: '127.0.0.1',
      upstream: [`127.0.0.1:${upstream.port}`],
      grants: [],
      queries: 1,
      answersLearned: 0,
      upstreamFailures: 0,
      dropped: 0,
    });
    expect(await metrics.text()).toMatch(/^moat_dns_queries_total 1$/m);
    await d.stop();
    expect(await askUdp(port, query('api.example.com'), 300)).toBeNull();
  });

  it('a listen address it cannot bind is logged as dns_listen_failed; moatd still enforces', async () => {
    const { cap, kernel, status } = await start('192.0.2.1');
    expect(cap.events('dns_listen_failed')).toMatchObject([{ listen: '192.0.2.1', err: expect.stringMatching(/EADDRNOTAVAIL/) }]);
    for (let i = 0; i < 50 && kernel.restores.length === 0; i++) await new Promise((r) => setTimeout(r, 5));
    expect(kernel.chain(4, 'filter', 'FORWARD')).toEqual(['-j MOAT-FORWARD']);
    expect(status.document().dns).toMatchObject({ enabled: false, listen: '192.0.2.1' });
  });
});

describe('DnsRuntime reconfigure', () => {
  it('binds again after a reload and answers there; stop is idempotent', async () => {
    const upstream = await startFakeUpstream((q) => [reply(q, [])]);
    open.push(upstream);
    let config = withDns({ listen: null, upstream: [`127.0.0.1:${upstream.port}`] });
    const rt = new DnsRuntime({
      config: () => config,
      run: async () => ({ stdout: '', stderr: '', exitCode: 0 }),
      log: captureLogger().log,
      now: () => performance.now(),
      wallClock: () => 0,
      port: 0,
      ipset: fakeIpset().ipset,
    });
    await rt.start();
    expect(rt.port).toBeNull();
    config = withDns({ listen: '127.0.0.1', upstream: [`127.0.0.1:${upstream.port}`] });
    await rt.reconfigure();
    expect(decodeReply((await askUdp(rt.port!, query('a.example.com')))!).rcode).toBe('NOERROR');
    await rt.stop();
    await rt.stop();
    expect(rt.port).toBeNull();
  });
});

describe('DnsRuntime bind retry', () => {
  it('a port that is taken is tried again until it is free, logged once', async () => {
    const { createSocket } = await import('node:dgram');
    const blocker = createSocket('udp4');
    await new Promise<void>((r) => blocker.bind(0, '127.0.0.1', r));
    const port = blocker.address().port;
    const cap = captureLogger();
    const config = withDns({ listen: '127.0.0.1', upstream: ['127.0.0.1:9'] });
    const rt = new DnsRuntime({
      config: () => config,
      run: async () => ({ stdout: '', stderr: '', exitCode: 0 }),
      log: cap.log,
      now: () => 0,
      wallClock: () => 0,
      port,
      rebindMs: 30,
      ipset: fakeIpset().ipset,
    });
    open.push({ close: () => rt.stop() });
    await rt.start();
    expect(rt.port).toBeNull();
    await new Promise((r) => setTimeout(r, 100));
    expect(cap.events('dns_listen_failed')).toHaveLength(1);
    expect(cap.events('dns_listen_failed')[0]!.err).toMatch(/EADDRINUSE/);
    await new Promise<void>((r) => blocker.close(() => r()));
    for (let i = 0; i < 50 && rt.port === null; i++) await new Promise((r) => setTimeout(r, 10));
    expect(rt.port).toBe(port);
    expect(cap.events('dns_listening')).toHaveLength(1);
  });
});
