// The forwarder end to end on 127.0.0.1: a client socket, the forwarder's
// listeners, a fake upstream, and a fake learner standing in for ipset
// (test/fakes/forwarder-bed.ts). Hostile input: dns-forwarder-hostile.test.ts.
import dnsPacket from 'dns-packet';
import { describe, expect, it } from 'vitest';
import { askTcp, askUdp, decodeReply, query, reply } from '../../test/fakes/fake-dns-upstream.js';
import { a, bed } from '../../test/fakes/forwarder-bed.js';
import { dnsSetName } from '../core/dns-name.js';

describe('DnsForwarder', () => {
  it('forwards with a fresh id and returns the answer byte for byte under the client id, learning first', async () => {
    let sent: Buffer | null = null;
    const b = await bed((q) => [(sent = reply(q, [a('api.example.com', '192.0.2.10', 5), a('api.example.com', '192.0.2.11', 99_999)]))]);
    const got = await askUdp(b.port, query('API.example.com', 'A', 7));
    expect(got).not.toBeNull();
    expect(got!.readUInt16BE(0)).toBe(7);
    expect(got!.subarray(2)).toEqual(sent!.subarray(2));
    expect(b.upstream.queries).toHaveLength(1);
    expect(b.learned.flat()).toEqual([
      {
        pattern: 'api.example.com',
        set: dnsSetName('api.example.com', 4),
        address: '192.0.2.10',
        family: 4,
        name: 'api.example.com',
        ttlS: 60,
        askedBy: 'web',
      },
      {
        pattern: 'api.example.com',
        set: dnsSetName('api.example.com', 4),
        address: '192.0.2.11',
        family: 4,
        name: 'api.example.com',
        ttlS: 3600,
        askedBy: 'web',
      },
    ]);
    expect(b.forwarder.counters).toMatchObject({ queries: 1, answersLearned: 2, upstreamFailures: 0 });
  });

  it('learns the A/AAAA at the end of the CNAME chain from the question name, nothing else', async () => {
    const b = await bed((q) => [
      reply(q, [
        { type: 'CNAME', name: 'img.cdn.example.net', ttl: 300, class: 'IN', data: 'edge.other.org' },
        { type: 'CNAME', name: 'edge.other.org', ttl: 300, class: 'IN', data: 'e1.other.org' },
        a('e1.other.org', '198.51.100.7'),
        a('unrelated.other.org', '203.0.113.66'),
        { type: 'AAAA', name: 'e1.other.org', ttl: 120, class: 'IN', data: '2001:db8::7' },
      ]),
    ]);
    expect(await askUdp(b.port, query('img.cdn.example.net'))).not.toBeNull();
    const got = b.learned.flat().map((e) => [e.pattern, e.set, e.address, e.ttlS]);
    expect(got).toEqual([
      ['*.cdn.example.net', dnsSetName('*.cdn.example.net', 4), '198.51.100.7', 300],
      ['*.cdn.example.net', dnsSetName('*.cdn.example.net', 6), '2001:db8::7', 120],
    ]);
  });

  it('a CNAME loop learns nothing but the answer still goes back', async () => {
    const b = await bed((q) => [
      reply(q, [
        { type: 'CNAME', name: 'api.example.com', ttl: 300, class: 'IN', data: 'x.other.org' },
        { type: 'CNAME', name: 'x.other.org', ttl: 300, class: 'IN', data: 'api.example.com' },
        a('x.other.org', '203.0.113.1'),
      ]),
    ]);
    expect(await askUdp(b.port, query('api.example.com'))).not.toBeNull();
    expect(b.learned).toEqual([]);
  });

  it('names that match no pattern are forwarded and learn nothing; the exact pattern is not its subdomains', async () => {
    const b = await bed((q) => [reply(q, [a(q.questions![0]!.name, '192.0.2.1')])]);
    for (const name of ['www.api.example.com', 'cdn.example.net', 'example.org']) {
      const got = await askUdp(b.port, query(name));
      expect(got && decodeReply(got).answers).toHaveLength(1);
    }
    expect(b.learned).toEqual([]);
    expect(b.forwarder.counters.queries).toBe(3);
  });

  it('the answer leaves only after the addresses are in the set', async () => {
    const b = await bed((q) => [reply(q, [a('api.example.com', '192.0.2.10')])], {
      learn: () => new Promise((r) => setTimeout(r, 150)),
    });
    const t0 = performance.now();
    const got = askUdp(b.port, query('api.example.com')).then((m) => {
      b.order.push('answered');
      return m;
    });
    expect(await got).not.toBeNull();
    expect(b.order).toEqual(['learned', 'answered']);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(140);
  });

  it('a learn failure answers SERVFAIL, not the answer the container could not use', async () => {
    const b = await bed((q) => [reply(q, [a('api.example.com', '192.0.2.10')])], { learn: () => Promise.reject(new Error('ipset: set full')) });
    const got = decodeReply((await askUdp(b.port, query('api.example.com', 'A', 9)))!);
    expect(got.id).toBe(9);
    expect(got.rcode).toBe('SERVFAIL');
    expect(got.answers).toEqual([]);
  });

  it('ignores answers whose id or question differ and waits for the real one', async () => {
    const b = await bed((q) => [
      reply(q, [a('api.example.com', '203.0.113.99')], { id: (q.id! + 1) % 65536 }),
      reply(q, [a('evil.example.org', '203.0.113.98')], { name: 'evil.example.org' }),
      dnsPacket.encode({ type: 'query', id: q.id, questions: q.questions }),
      reply(q, [a('api.example.com', '192.0.2.10')]),
    ]);
    const got = decodeReply((await askUdp(b.port, query('api.example.com')))!);
    expect(got.answers).toMatchObject([{ data: '192.0.2.10' }]);
    expect(b.learned.flat().map((e) => e.address)).toEqual(['192.0.2.10']);
  });

  it('only mismatched answers: SERVFAIL at the timeout, nothing learned', async () => {
    const b = await bed((q) => [reply(q, [a('api.example.com', '203.0.113.99')], { id: (q.id! + 1) % 65536 })], { timeoutMs: 200 });
    const got = decodeReply((await askUdp(b.port, query('api.example.com')))!);
    expect(got.rcode).toBe('SERVFAIL');
    expect(b.learned).toEqual([]);
    expect(b.forwarder.counters.upstreamFailures).toBe(1);
  });

  it('upstream down: the next upstream is asked, then SERVFAIL within the timeouts', async () => {
    const b = await bed(() => [], { timeoutMs: 200, upstreams: [] });
    const silent = b.upstream.port;
    const b2 = await bed(() => [], { timeoutMs: 200, upstreams: [silent, silent] });
    const t0 = performance.now();
    const got = decodeReply((await askUdp(b2.port, query('api.example.com')))!);
    const took = performance.now() - t0;
    expect(got.rcode).toBe('SERVFAIL');
    expect(b.upstream.queries).toHaveLength(2);
    expect(took).toBeGreaterThanOrEqual(390);
    expect(took).toBeLessThan(1500);
  });

  it('serves TCP, learning the same way', async () => {
    const b = await bed((q) => [reply(q, [{ type: 'AAAA', name: 'api.example.com', ttl: 600, class: 'IN', data: '2001:db8::10' }])]);
    const got = await askTcp(b.port, query('api.example.com', 'AAAA', 11));
    expect(got!.readUInt16BE(0)).toBe(11);
    expect(decodeReply(got!).answers).toMatchObject([{ data: '2001:db8::10' }]);
    expect(b.learned.flat()).toMatchObject([{ set: dnsSetName('api.example.com', 6), address: '2001:db8::10', ttlS: 600 }]);
  });
});
