// Egress by DNS name (issue 13 part 1, docs/policy.md#dns) by real connections on the DNS bed
// (testbed/dns-bed.ts): containers ask names through Docker's resolver, which asks moat's
// forwarder (daemon.json "dns"), which asks the bed's DNS server in world. A container with
// `moat.egress: dns:NAME:443` opens the answered address on 443 from its first connection
// after the lookup (one busybox wget, no retry), and nothing else: not another port, not
// the other server, not for a container without the grant; and a client that connects the
// moment it decodes the answer (no resolver in between) finds the address already in the
// kernel, 20 fresh addresses out of 20. Short TTLs expire and close; a
// changed answer opens the new address; exact names, `*.` over one label and several, never
// the suffix itself; a CNAME counts for the name asked, not for its target; IPv6 (AAAA); the
// default bridge (its containers ask the forwarder directly); a container whose own command
// looks up and connects at start (start gate on); status, metrics and explain show the
// learned address with its expiry.
//
// The config has `defaultEgress: none` (flows-dns-support.ts): world is closed unless a grant
// opens it, on user networks and on the default bridge alike (a network label could not close
// the default bridge), and the first case below proves it is closed. Every cell is probed
// open before moatd runs, so each "closed" is moat's doing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { controlGet } from '../../src/adapters/control-client.js';
import { moat, moatJson } from './cli-support.js';
import { byName, caseTo, dnsStatus, configPath, learnedOf, PORT, S1, S2, startDnsMoatd, verdicts, zoneOf } from './flows-dns-support.js';
import { createBed, type Bed } from './testbed/bed.js';
import { check, type Case } from './testbed/check.js';
import { execInContainer } from './testbed/container-exec.js';
import { startFirstConnection } from './testbed/first-connection.js';
import type { Moatd } from './testbed/moatd.js';
import { askOnce, inContainer } from './testbed/dns-client.js';
import type { ServerContainer } from './testbed/server-container.js';
import type { TestDns } from './testbed/test-dns.js';
import { setTimeout as sleep } from 'node:timers/promises';

/** 20 more world addresses (served by world's httpd, which listens on all): one fresh address per race. */
const RACE = (i: number) => `203.0.113.${100 + i}`;
const ZONE = zoneOf({
  'api.example.test': [['A', S1.ipv4]],
  'x.api.example.test': [['A', S2.ipv4]],
  'short.example.test': [['A', S2.ipv4, 2]],
  'moving.example.test': [['A', S1.ipv4]],
  'wild.example.test': [['A', S2.ipv4]],
  'a.wild.example.test': [['A', S1.ipv4]],
  'a.b.wild.example.test': [['A', S2.ipv4]],
  'alias.example.test': [['CNAME', 'cdn.provider.test']],
  'cdn.provider.test': [['A', S2.ipv4]],
  'alias2.example.test': [['CNAME', 'cdn2.provider.test']],
  'cdn2.provider.test': [['A', S1.ipv4]],
  'v6.example.test': [['AAAA', S1.ipv6]],
  'bridge.example.test': [['A', S2.ipv4]],
  'first.example.test': [['A', S1.ipv4]],
  ...Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`race-${i}.race.example.test`, [['A', RACE(i)]] as [type: 'A', value: string][]])),
});

const grant = (...patterns: string[]) => ({ 'moat.egress': patterns.map((p) => `dns:${p}:${PORT}`).join(' ') });
const CONTAINERS: Record<string, { net?: string; labels?: Record<string, string> }> = {
  'c-api': { labels: grant('api.example.test') },
  'c-share': { labels: grant('api.example.test') },
  'c-none': {},
  'c-short': { labels: grant('short.example.test') },
  'c-move': { labels: grant('moving.example.test') },
  'c-wild': { labels: grant('*.wild.example.test') },
  'c-cname': { labels: grant('alias.example.test') },
  'c-target': { labels: grant('cdn2.provider.test') },
  'c-v6': { labels: grant('v6.example.test') },
  'b-br': { net: 'bridge', labels: grant('bridge.example.test') },
  'c-race': { labels: grant('*.race.example.test') },
};

describe('flows by DNS name: dns: grants open what the answers name, from the first connection', () => {
  let bed: Bed;
  let dns: TestDns;
  let moatd: Moatd;
  const c: Record<string, ServerContainer> = {};
  const to = caseTo(() => bed, c);
  /** The lookup reached the world server through moat's forwarder (from the host's world address), after `since`. */
  const askedUpstream = (name: string, since: number, type = 'A') =>
    dns.waitForQuery((q) => q.name === name && q.type === type && q.from.startsWith(`${bed.topology.world.hostIpv4}:`), { since, timeoutMs: 2_000 });

  beforeAll(async () => {
    bed = await createBed({ dns: { zone: ZONE }, startGate: true });
    dns = bed.dns!.server;
    for (let i = 0; i < 20; i++) await bed.topology.world.netns.addAddress('eth0', `${RACE(i)}/24`);
    await bed.createNetwork({ name: 'dn', subnets: ['10.10.201.0/24', 'fd00:201::/64'] });
    for (const s of await Promise.all(
      Object.entries(CONTAINERS).map(([name, spec]) => bed.startServer({ name, networks: [spec.net ?? 'dn'], labels: spec.labels ?? {} })),
    ))
      c[s.name] = s;
  });

  afterAll(async () => {
    await bed?.dispose();
  });

  it('has world open before moatd, and closed once moatd runs with nothing learned', async () => {
    const cells = (state: Case['state']) => [
      to('c-api', S1.ipv4, PORT, state),
      to('c-api', S2.ipv4, PORT, state),
      to('c-api', S1.ipv4, 80, state),
      to('c-none', S1.ipv4, PORT, state),
      to('c-wild', S2.ipv4, PORT, state),
      to('c-target', S1.ipv4, PORT, state),
      to('c-v6', S1.ipv6, PORT, state),
      to('c-v6', S2.ipv6, PORT, state),
      to('b-br', S1.ipv4, PORT, state),
      to('c-race', RACE(0), PORT, state),
      to('c-race', RACE(19), PORT, state),
    ];
    await check(cells('open'));
    moatd = await startDnsMoatd(bed);
    await check(cells('closed'));
  });

  it('opens the answered address and port from the first connection after the lookup, and nothing else', async () => {
    const since = dns.mark();
    const first = await byName(bed, c['c-api']!, 'api.example.test');
    expect(verdicts([['c-api -> api.example.test', first]]), first.stderr).toEqual(['c-api -> api.example.test: open']);
    expect((await askedUpstream('api.example.test', since)).answers).toEqual([S1.ipv4]);
    await check([
      to('c-api', S1.ipv4, PORT, 'open'),
      to('c-api', S1.ipv4, 80), // another port
      to('c-api', S2.ipv4, PORT), // the other server, not answered
      to('c-none', S1.ipv4, PORT), // no grant
      // The name is the grant: a container holding the same grant gets the address too, without asking.
      to('c-share', S1.ipv4, PORT, 'open'),
    ]);
  });

  it('has the address in the kernel before the answer leaves: a connect the moment the answer is decoded opens, 20 of 20', async () => {
    // dns-ask in c-race's namespace asks the forwarder itself and connects within microseconds of
    // the answer (no Docker resolver, no process in between); each name answers a fresh address.
    const enter = await inContainer(bed.engine.docker, c['c-race']!.id);
    const got: string[] = [];
    for (let i = 0; i < 20; i++) {
      const a = await askOnce(enter, bed.dns!.listen, `race-${i}.race.example.test`, 'A', ['--connect', String(PORT)]);
      got.push(`race-${i}: ${a.answers?.map((x) => x.data).join(',')} ${a.connected ? 'open' : `closed ${a.connectError ?? a.error}`}`);
    }
    expect(got).toEqual(Array.from({ length: 20 }, (_, i) => `race-${i}: ${RACE(i)} open`));
  });

  it('matches an exact name exactly, and `*.` over one label and several but not the suffix itself', async () => {
    expect(verdicts([['x.api', await byName(bed, c['c-api']!, 'x.api.example.test')]])).toEqual(['x.api: closed refused']);
    const apex = await byName(bed, c['c-wild']!, 'wild.example.test');
    const one = await byName(bed, c['c-wild']!, 'a.wild.example.test');
    await check([to('c-wild', S2.ipv4)]); // wild.example.test's answer was not learned
    const several = await byName(bed, c['c-wild']!, 'a.b.wild.example.test');
    expect(
      verdicts([
        ['apex', apex],
        ['one label', one],
        ['two labels', several],
      ]),
    ).toEqual(['apex: closed refused', 'one label: open', 'two labels: open']);
  });

  it('counts a CNAME chain for the name asked, whatever its target, and never for the target', async () => {
    const alias = await byName(bed, c['c-cname']!, 'alias.example.test');
    // c-target holds dns:cdn2.provider.test; asking alias2 (a CNAME to it) learns nothing for that grant.
    const viaAlias = await byName(bed, c['c-target']!, 'alias2.example.test');
    const direct = await byName(bed, c['c-target']!, 'cdn2.provider.test');
    expect(
      verdicts([
        ['alias -> cdn.provider.test', alias],
        ['alias2 for a grant of its target', viaAlias],
        ['the target asked itself', direct],
      ]),
    ).toEqual(['alias -> cdn.provider.test: open', 'alias2 for a grant of its target: closed refused', 'the target asked itself: open']);
    await check([to('c-cname', S2.ipv4, PORT, 'open'), to('c-cname', S1.ipv4)]);
  });

  it('learns AAAA answers on an IPv6 network: the answered IPv6 address only', async () => {
    const v6 = await byName(bed, c['c-v6']!, 'v6.example.test');
    expect(verdicts([['v6.example.test', v6]]), v6.stderr).toEqual(['v6.example.test: open']);
    await check([to('c-v6', S1.ipv6, PORT, 'open'), to('c-v6', S2.ipv6), to('c-v6', S1.ipv4)]);
  });

  it('closes a short-TTL answer when it expires, and opens a changed answer', async () => {
    const short = await byName(bed, c['c-short']!, 'short.example.test');
    const learnedAt = Date.now();
    expect(verdicts([['short', short]])).toEqual(['short: open']);
    await check([to('c-short', S2.ipv4, PORT, 'open')]);
    const moved = await byName(bed, c['c-move']!, 'moving.example.test');
    await dns.setZone({ ...ZONE, records: { ...ZONE.records, 'moving.example.test': [{ type: 'A', value: S2.ipv4, ttl: 300 }] } });
    const since = dns.mark();
    const movedAgain = await byName(bed, c['c-move']!, 'moving.example.test');
    expect((await askedUpstream('moving.example.test', since)).answers).toEqual([S2.ipv4]);
    expect(
      verdicts([
        ['moving', moved],
        ['moving, changed', movedAgain],
      ]),
    ).toEqual(['moving: open', 'moving, changed: open']);
    await check([to('c-move', S2.ipv4, PORT, 'open')]);
    // TTL 2 s (above the floor of 1): gone from the set 2 s after the answer; 1.5 s of slack.
    await sleep(Math.max(0, learnedAt + 3_500 - Date.now()));
    await check([to('c-short', S2.ipv4)]);
  });

  it('works on the default bridge, whose containers ask the forwarder directly', async () => {
    const resolv = await execInContainer(bed.engine.docker, c['b-br']!.id, ['cat', '/etc/resolv.conf']);
    expect(resolv.stdout).toContain(`nameserver ${bed.dns!.listen}`);
    const since = dns.mark();
    const br = await byName(bed, c['b-br']!, 'bridge.example.test');
    expect(verdicts([['b-br -> bridge.example.test', br]]), br.stderr).toEqual(['b-br -> bridge.example.test: open']);
    await askedUpstream('bridge.example.test', since);
    await check([to('b-br', S2.ipv4, PORT, 'open'), to('b-br', S1.ipv4), to('b-br', S2.ipv4, 80)]);
  });

  it('opens the first connection of a container whose own command looks the name up at start (start gate)', async () => {
    const first = await startFirstConnection(bed.engine.docker, {
      name: 'first',
      network: 'dn',
      labels: grant('first.example.test'),
      to: 'first.example.test',
      port: PORT,
    });
    try {
      expect(await first.result, await first.logs()).toBe('open');
    } finally {
      await first.remove();
    }
  });

  it('shows each learned address with its name and expiry in moat status, metrics and moat explain', async () => {
    const s = await dnsStatus(bed);
    expect(s).toMatchObject({ enabled: true, listen: bed.dns!.listen, upstream: [expect.stringContaining('203.0.113.53')] });
    expect(learnedOf(s, 'api.example.test')).toEqual([`${S1.ipv4} api.example.test`]);
    expect(learnedOf(s, '*.wild.example.test')).toEqual([`${S1.ipv4} a.wild.example.test`, `${S2.ipv4} a.b.wild.example.test`]);
    expect(learnedOf(s, 'alias.example.test')).toEqual([`${S2.ipv4} alias.example.test`]);
    expect(learnedOf(s, 'cdn2.provider.test')).toEqual([`${S1.ipv4} cdn2.provider.test`]);
    expect(learnedOf(s, 'v6.example.test')).toEqual([`${S1.ipv6} v6.example.test`]);
    // Expired (the connection closed above); the table may still list it, but only as past.
    const short = s.grants.find((g) => g.pattern === 'short.example.test')?.learned ?? [];
    for (const l of short) expect(Date.parse(l.expiresAt)).toBeLessThan(Date.now());
    const api = s.grants.find((g) => g.pattern === 'api.example.test')!;
    expect(api.sets['4']).toMatch(/^moat-dns4-[0-9a-f]{16}$/);
    expect(api.sets['6']).toMatch(/^moat-dns6-[0-9a-f]{16}$/);
    const learned = api.learned[0]!;
    expect(learned.family).toBe(4);
    expect([c['c-api']!.name, c['c-api']!.id]).toContain(learned.askedBy); // the container that asked
    const left = Date.parse(learned.expiresAt) - Date.now();
    expect(left).toBeGreaterThan(200_000); // TTL 300 s, learned a minute or so ago
    expect(left).toBeLessThanOrEqual(300_000);
    expect(s.queries).toBeGreaterThan(0);
    expect(s.answersLearned).toBeGreaterThanOrEqual(7);

    const metrics = (await controlGet(`${bed.dir}/moat.sock`, '/metrics')).body;
    for (const m of ['moat_dns_queries_total', 'moat_dns_answers_learned_total', 'moat_dns_upstream_failures_total', 'moat_dns_dropped_total'])
      expect(metrics).toMatch(new RegExp(`^${m} \\d+`, 'm'));
    expect(metrics).toContain(`moat_dns_set_entries{set="${api.sets['4']}"} 1`);

    const e = await moatJson<{ verdict: string }>(bed, ['explain', 'c-api', `${S1.ipv4}:${PORT}`, '--config', configPath(bed)]);
    expect(e.exitCode, e.stderr).toBe(0);
    expect(e.json.verdict).toBe('allowed');
    const text = JSON.stringify(e.json);
    for (const part of [`dns:api.example.test:${PORT}`, S1.ipv4, 'api.example.test', learned.expiresAt]) expect(text).toContain(part);
    const human = await moat(bed, ['explain', 'c-api', `${S1.ipv4}:${PORT}`, '--config', configPath(bed)]);
    expect(human.stdout).toContain(`dns:api.example.test:${PORT}`);
    expect(human.stdout).toMatch(/expir/i);
    const denied = await moatJson<{ verdict: string }>(bed, ['explain', 'c-api', `${S2.ipv4}:${PORT}`, '--config', configPath(bed)]);
    expect(denied.json.verdict).toBe('denied');
  });

  it('reported no label problem and kept running', () => {
    expect(moatd.lines.filter((l) => String(l.event).startsWith('label_'))).toEqual([]);
    expect(moatd.running()).toBe(true);
  });
});
