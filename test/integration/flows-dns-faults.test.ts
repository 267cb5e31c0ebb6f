// Egress by DNS name under faults (issue 13 part 1, "Hostile input" and "Done when"), by real
// connections on the DNS bed: hostile datagrams from a container to the forwarder (garbage,
// a short header, a compression loop, an oversized one, a forged response naming an address,
// a flood of each and of queries), hostile TCP (a garbage frame, a frame cut short, 300 idle
// connections) and a lying upstream (another id, another question,
// garbage): moatd keeps answering and learns nothing; the upstream down: SERVFAIL within the
// forwarder's timeout and nothing else changes; a moatd restart keeps what it learned (the
// connection still opens, with no new lookup); revoking a dns: grant in a policy file cuts
// the live connection it allowed. Config as flows-dns.test.ts (defaultEgress none).
import dnsPacket from 'dns-packet';
import { rm } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { moatJson } from './cli-support.js';
import { byName, caseTo, configPath, dnsStatus, learnedOf, PORT, S1, S2, startDnsMoatd, verdicts, zoneOf } from './flows-dns-support.js';
import { createBed, type Bed } from './testbed/bed.js';
import { check } from './testbed/check.js';
import { execInContainer } from './testbed/container-exec.js';
import { askOnce, dnsAsk, inContainer, type Enter } from './testbed/dns-client.js';
import type { Moatd } from './testbed/moatd.js';
import { terminate } from './testbed/processes.js';
import type { ServerContainer } from './testbed/server-container.js';
import { execaSpawn } from './testbed/spawn.js';
import type { TestDns } from './testbed/test-dns.js';

const LIVE_PORT = 7000;
const ZONE = zoneOf(
  {
    'api.example.test': [['A', S1.ipv4]],
    'alive.example.test': [['A', S1.ipv4]],
    'liar.example.test': [['A', S2.ipv4]],
    'asked.example.test': [['A', S2.ipv4]],
    'junk.example.test': [['A', S2.ipv4]],
    'spoof.example.test': [['A', S1.ipv4]],
    'down.example.test': [['A', S2.ipv4]],
    'live.example.test': [['A', S1.ipv4]],
  },
  { lies: { 'liar.example.test': 'id', 'asked.example.test': 'question', 'junk.example.test': 'garbage' } },
);
const HOSTILE = ['liar', 'asked', 'junk', 'spoof'].map((n) => `${n}.example.test`);
const POLICY = `- select: { container: c-rev }\n  egress: ["dns:live.example.test:${LIVE_PORT}"]\n`;

// Datagrams no forwarder may learn from or crash on.
const header = (id: number, qd: number) => Buffer.from([id >> 8, id & 0xff, 0x01, 0x00, 0, qd, 0, 0, 0, 0, 0, 0]);
const RAW: Record<string, Buffer> = {
  garbage: Buffer.from('GET / HTTP/1.1\r\nHost: not-dns\r\n\r\n'),
  'short header': Buffer.from([0x12, 0x34, 0x01, 0x00, 0x00]),
  'compression loop': Buffer.concat([header(0x1234, 1), Buffer.from([0xc0, 0x0c, 0, 1, 0, 1])]),
  oversized: Buffer.concat([dnsPacket.encode({ type: 'query', id: 7, questions: [{ type: 'A', name: 'api.example.test' }] }), Buffer.alloc(6000, 0x41)]),
  // A "response" from a container naming S2 for a granted name: only the upstream's answers count.
  'forged response': dnsPacket.encode({
    type: 'response',
    id: 4242,
    flags: dnsPacket.AUTHORITATIVE_ANSWER,
    questions: [{ type: 'A', name: 'spoof.example.test' }],
    answers: [{ type: 'A', name: 'spoof.example.test', ttl: 300, data: S2.ipv4 }],
  }),
};

describe('flows by DNS name under faults: hostile input, the upstream down, a moatd restart, a revocation', () => {
  let bed: Bed;
  let dns: TestDns;
  let moatd: Moatd;
  const c: Record<string, ServerContainer> = {};
  const enter: Record<string, Enter> = {};
  const to = caseTo(() => bed, c);
  const listen = () => bed.dns!.listen;

  beforeAll(async () => {
    bed = await createBed({ dns: { zone: ZONE } });
    dns = bed.dns!.server;
    await bed.createNetwork({ name: 'df', subnets: ['10.10.202.0/24'] });
    await bed.writeFile('policy.d/dns.yaml', POLICY);
    const specs: Record<string, Record<string, string>> = {
      'c-api': { 'moat.egress': `dns:api.example.test:${PORT}` },
      'c-hostile': { 'moat.egress': HOSTILE.map((n) => `dns:${n}:${PORT}`).join(' ') },
      'c-none': {},
      'c-rev': {},
    };
    for (const s of await Promise.all(Object.entries(specs).map(([name, labels]) => bed.startServer({ name, networks: ['df'], labels })))) c[s.name] = s;
    for (const name of Object.keys(specs)) enter[name] = await inContainer(bed.engine.docker, c[name]!.id);
    await check([to('c-api', S1.ipv4, PORT, 'open'), to('c-hostile', S2.ipv4, PORT, 'open'), to('c-hostile', S1.ipv4, PORT, 'open')]);
    moatd = await startDnsMoatd(bed);
    const first = await byName(bed, c['c-api']!, 'api.example.test');
    expect(verdicts([['c-api -> api.example.test', first]]), first.stderr).toEqual(['c-api -> api.example.test: open']);
  });

  afterAll(async () => {
    await bed?.dispose();
  });

  it('keeps answering through hostile datagrams, TCP and floods from a container, and learns nothing from them', async () => {
    const before = await dnsStatus(bed);
    for (const [what, bytes] of Object.entries(RAW)) {
      const [sent] = (await dnsAsk(enter['c-hostile']!, ['--server', listen(), '--raw', bytes.toString('hex'), '--count', '3'])) as { sent: number }[];
      expect(sent, what).toEqual({ sent: 3 });
    }
    await dnsAsk(enter['c-hostile']!, ['--server', listen(), '--raw', RAW.garbage!.toString('hex'), '--count', '5000']);
    await dnsAsk(enter['c-hostile']!, ['--server', listen(), '--raw', RAW['forged response']!.toString('hex'), '--count', '2000']);
    await bed.writeFile('flood.txt', Array.from({ length: 2000 }, (_, i) => `flood-${i}.example.test`).join('\n'));
    // 100 in flight at once: beyond its bounds the forwarder drops (counted), it does not fall over.
    const [flood] = (await dnsAsk(enter['c-hostile']!, [
      '--server',
      listen(),
      '--names-file',
      `${bed.dir}/flood.txt`,
      '--concurrency',
      '100',
      '--timeout-ms',
      '1000',
    ])) as {
      ok: number;
      failed: number;
    }[];
    expect((flood?.ok ?? 0) + (flood?.failed ?? 0)).toBe(2000);
    // TCP: a frame of garbage, a frame that claims 65535 bytes and stops, and 300 idle connections held
    // (more than the forwarder keeps open) while another container asks over UDP.
    const tcp = (hex: string) => dnsAsk(enter['c-hostile']!, ['--server', listen(), '--proto', 'tcp', '--raw', hex, '--timeout-ms', '3000']);
    await tcp(Buffer.concat([Buffer.from([0, RAW.garbage!.length]), RAW.garbage!]).toString('hex'));
    await tcp(Buffer.concat([Buffer.from([0xff, 0xff]), Buffer.alloc(10, 0x41)]).toString('hex'));
    const held = dnsAsk(enter['c-hostile']!, ['--server', listen(), '--hold', '300', '--hold-ms', '4000']);
    await sleep(1_000);
    expect(await askOnce(enter['c-none']!, listen(), 'alive.example.test')).toMatchObject({ rcode: 'NOERROR', answers: [{ data: S1.ipv4 }] });
    const [hold] = (await held) as { opened: number }[];
    expect(hold?.opened).toBeGreaterThan(0);
    expect(await askOnce(enter['c-none']!, listen(), 'alive.example.test', 'A', ['--proto', 'tcp'])).toMatchObject({ rcode: 'NOERROR' });
    expect(moatd.running(), moatd.stderr()).toBe(true);
    // Still answering, another container and the same one.
    expect(await askOnce(enter['c-none']!, listen(), 'alive.example.test')).toMatchObject({ rcode: 'NOERROR', answers: [{ data: S1.ipv4 }] });
    await sleep(1_000);
    expect(await askOnce(enter['c-hostile']!, listen(), 'alive.example.test', 'A', ['--timeout-ms', '5000'])).toMatchObject({ rcode: 'NOERROR' });
    const after = await dnsStatus(bed);
    expect(after.dropped).toBeGreaterThan(before.dropped);
    for (const name of HOSTILE) expect(learnedOf(after, name), name).toEqual([]);
    await check([to('c-hostile', S2.ipv4), to('c-hostile', S1.ipv4)]);
  });

  it('answers SERVFAIL for an upstream that lies (another id, another question, garbage), and learns nothing', async () => {
    for (const name of ['liar.example.test', 'asked.example.test', 'junk.example.test']) {
      const a = await askOnce(enter['c-hostile']!, listen(), name, 'A', ['--timeout-ms', '8000']);
      expect({ name, rcode: a.rcode, error: a.error, answers: a.answers }).toEqual({ name, rcode: 'SERVFAIL', error: undefined, answers: [] });
    }
    const s = await dnsStatus(bed);
    for (const name of HOSTILE) expect(learnedOf(s, name), name).toEqual([]);
    await check([to('c-hostile', S2.ipv4)]);
  });

  it('answers SERVFAIL fast when the upstream is down, and nothing else changes', async () => {
    const before = await dnsStatus(bed);
    await dns.setZone({ ...ZONE, mode: 'drop' });
    try {
      const a = await askOnce(enter['c-api']!, listen(), 'down.example.test', 'A', ['--timeout-ms', '10000']);
      expect({ rcode: a.rcode, error: a.error }).toEqual({ rcode: 'SERVFAIL', error: undefined });
      // The forwarder's own upstream timeout (2 s by default), not the client's 10 s.
      expect(a.ms).toBeLessThan(5_000);
      expect(dns.queries.at(-1)).toMatchObject({ name: 'down.example.test', outcome: 'dropped' });
    } finally {
      await dns.setZone(ZONE);
    }
    const after = await dnsStatus(bed);
    expect(after.upstreamFailures).toBeGreaterThan(before.upstreamFailures);
    expect(learnedOf(after, 'api.example.test')).toEqual(learnedOf(before, 'api.example.test'));
    expect(moatd.running()).toBe(true);
    await check([to('c-api', S1.ipv4, PORT, 'open'), to('c-api', S2.ipv4)]);
  });

  it('keeps learned addresses across a moatd restart: the connection opens with no new lookup', async () => {
    const before = learnedOf(await dnsStatus(bed), 'api.example.test');
    expect(before).toEqual([`${S1.ipv4} api.example.test`]);
    await moatd.stop();
    // Without moatd, explain lists the dns: entry with its learned addresses unknown.
    const e = await moatJson<unknown>(bed, ['explain', 'c-api', `${S1.ipv4}:${PORT}`, '--config', configPath(bed)]);
    expect(JSON.stringify(e.json)).toMatch(/learned addresses unknown/);
    const since = dns.mark();
    moatd = bed.startMoatd({ configPath: configPath(bed) });
    expect(await moatd.waitForEvent('reconcile', { timeoutMs: 20_000 })).toMatchObject({ ok: true });
    await check([to('c-api', S1.ipv4, PORT, 'open'), to('c-api', S2.ipv4), to('c-none', S1.ipv4)]);
    expect(dns.queries.slice(since).filter((q) => q.name === 'api.example.test')).toEqual([]);
    expect(learnedOf(await dnsStatus(bed), 'api.example.test')).toEqual(before);
  });

  it('cuts the live connection a dns: grant allowed when the grant is revoked', async () => {
    const [file, argv] = bed.topology.world.netns.enter(['/bin/busybox', 'nc', '-ll', '-p', String(LIVE_PORT), '-e', '/bin/busybox', 'cat']);
    const echo = execaSpawn(file, argv);
    try {
      const look = await execInContainer(bed.engine.docker, c['c-rev']!.id, ['nslookup', 'live.example.test']);
      expect(look.stdout, look.stderr).toContain(`Address: ${S1.ipv4}`);
      const started = Date.now();
      const client = execInContainer(
        bed.engine.docker,
        c['c-rev']!.id,
        ['sh', '-c', `(i=0; while [ $i -lt 100 ]; do echo ping; i=$((i+1)); sleep 0.2; done) | nc ${S1.ipv4} ${LIVE_PORT}`],
        30_000,
      );
      const conntrack = () =>
        bed.topology.host.run('conntrack', ['-L', '-p', 'tcp', '--dport', String(LIVE_PORT), '-s', c['c-rev']!.ipv4('df')], { check: false });
      for (let i = 0; i < 50 && !/ESTABLISHED/.test((await conntrack()).stdout); i++) await sleep(100);
      expect((await conntrack()).stdout).toMatch(/ESTABLISHED/);
      const mark = moatd.mark();
      await rm(`${bed.dir}/policy.d/dns.yaml`);
      await moatd.waitForEvent((l) => l.event === 'reconcile' && l.committed === true && String(l.trigger).includes('policy'), {
        since: mark,
        timeoutMs: 10_000,
      });
      const revokedAt = Date.now();
      const res = await client;
      expect(res.stdout).toContain('ping'); // the echo: it carried data before the cut
      expect(Date.now() - revokedAt).toBeLessThan(3_000); // cut at once, not after its 20 s of pings
      expect(Date.now() - started).toBeLessThan(15_000);
      await check([to('c-rev', S1.ipv4, LIVE_PORT)]);
    } finally {
      await terminate(echo.pid, 2_000);
    }
  });
});
