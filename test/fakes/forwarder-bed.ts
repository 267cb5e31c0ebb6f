// The forwarder on 127.0.0.1 for unit tests: its listeners, a fake upstream,
// and a fake learner standing in for ipset (records what was learned, and
// when relative to the answers). Every bed is closed after each test.
import pino from 'pino';
import { afterEach } from 'vitest';
import { dnsSet, type DnsSet } from '../../src/core/dns-name.js';
import { DnsForwarder, type LearnRequest } from '../../src/runtime/dns-forwarder.js';
import { type DnsListeners, startDnsListeners } from '../../src/runtime/dns-listeners.js';
import { type Answerer, type FakeUpstream, startFakeUpstream } from './fake-dns-upstream.js';

export const log = pino({ level: 'silent' });
export const sets = (...patterns: string[]): DnsSet[] => patterns.flatMap((pattern) => ([4, 6] as const).map((family) => dnsSet(pattern, family)));

export interface Bed {
  readonly port: number;
  readonly upstream: FakeUpstream;
  readonly forwarder: DnsForwarder;
  readonly learned: LearnRequest[][];
  readonly order: string[];
}

const open: { close(): Promise<void> }[] = [];
afterEach(async () => {
  for (const o of open.splice(0)) await o.close();
});

export async function bed(
  answer: Answerer,
  opts: { learn?: (e: readonly LearnRequest[]) => Promise<void>; timeoutMs?: number; maxInFlight?: number; upstreams?: number[]; perClientRate?: number } = {},
): Promise<Bed> {
  const upstream = await startFakeUpstream(answer);
  open.push(upstream);
  const learned: LearnRequest[][] = [];
  const order: string[] = [];
  const forwarder = new DnsForwarder({
    upstreams: () => (opts.upstreams ?? [upstream.port]).map((port) => ({ host: '127.0.0.1', port, family: 4 as const })),
    learn: async (entries) => {
      await opts.learn?.(entries);
      learned.push([...entries]);
      order.push('learned');
    },
    clientName: (a) => (a === '127.0.0.1' ? 'web' : null),
    ttl: () => ({ floorS: 60, ceilingS: 3600 }),
    log,
    now: () => performance.now(),
    timeoutMs: opts.timeoutMs ?? 500,
    maxInFlight: opts.maxInFlight,
    perClientRate: opts.perClientRate,
  });
  forwarder.setSets(sets('api.example.com', '*.cdn.example.net'));
  const listeners: DnsListeners = await startDnsListeners(forwarder, '127.0.0.1', 0, log);
  open.push(listeners);
  return { port: listeners.port, upstream, forwarder, learned, order };
}

export const a = (name: string, data: string, ttl = 300) => ({ type: 'A' as const, name, ttl, class: 'IN' as const, data });
