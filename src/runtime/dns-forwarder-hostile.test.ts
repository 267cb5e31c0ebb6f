// The forwarder under hostile input, on the same bed as dns-forwarder.test.ts:
// malformed and looping packets, floods, pipelined TCP.
import { describe, expect, it } from 'vitest';
import { askUdp, decodeReply, query, reply } from '../../test/fakes/fake-dns-upstream.js';
import { a, bed } from '../../test/fakes/forwarder-bed.js';

describe('DnsForwarder under hostile input', () => {
  it('malformed, truncated, oversized and compression-loop queries: dropped or FORMERR, and it keeps serving', async () => {
    const b = await bed((q) => [reply(q, [a('api.example.com', '192.0.2.10')])]);
    expect(await askUdp(b.port, Buffer.from([1, 2, 3]), 300)).toBeNull();
    const good = query('api.example.com', 'A', 5);
    const truncated = good.subarray(0, 20);
    expect(decodeReply((await askUdp(b.port, truncated))!).rcode).toBe('FORMERR');
    // A question name that is a pointer to itself (offset 12).
    const loop = Buffer.concat([good.subarray(0, 12), Buffer.from([0xc0, 12, 0, 1, 0, 1])]);
    expect(decodeReply((await askUdp(b.port, loop))!).rcode).toBe('FORMERR');
    // A label holding a '.' would print as api.example.com: refused.
    const dotted = Buffer.concat([
      good.subarray(0, 12),
      Buffer.from([11]),
      Buffer.from('api.example'),
      Buffer.from([3]),
      Buffer.from('com'),
      Buffer.from([0, 0, 1, 0, 1]),
    ]);
    expect(decodeReply((await askUdp(b.port, dotted))!).rcode).toBe('FORMERR');
    const oversized = Buffer.concat([good, Buffer.alloc(5000)]);
    expect(await askUdp(b.port, oversized, 300)).toBeNull();
    expect(b.upstream.queries).toHaveLength(0);
    expect(b.forwarder.counters.dropped).toBe(5);
    expect(decodeReply((await askUdp(b.port, good))!).answers).toHaveLength(1);
  });

  it('answers with a compression loop or cut short are not taken', async () => {
    const b = await bed(
      (q) => {
        const ok = reply(q, [a('api.example.com', '192.0.2.10')]);
        const looped = Buffer.from(ok);
        looped.writeUInt16BE(0xc000 | (ok.length - 16), ok.length - 16); // the answer's name points at itself
        return [looped, ok.subarray(0, ok.length - 3)];
      },
      { timeoutMs: 200 },
    );
    const got = decodeReply((await askUdp(b.port, query('api.example.com')))!);
    expect(got.rcode).toBe('SERVFAIL');
    expect(b.learned).toEqual([]);
  });

  it('bounds the queries in flight: beyond the bound they are dropped and counted', async () => {
    const b = await bed(() => [], { timeoutMs: 400, maxInFlight: 4 });
    const answers = await Promise.all(Array.from({ length: 10 }, (_, i) => askUdp(b.port, query('api.example.com', 'A', i), 1500)));
    expect(answers.filter((x) => x !== null)).toHaveLength(4);
    expect(b.forwarder.counters.dropped).toBe(6);
  });

  it("bounds each client's rate: past the burst its queries are dropped and counted", async () => {
    const b = await bed((q) => [reply(q, [])], { perClientRate: 5 });
    const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => askUdp(b.port, query('example.org', 'A', i), 1000)));
    expect(answers.filter((x) => x !== null).length).toBeGreaterThanOrEqual(10);
    expect(answers.filter((x) => x !== null).length).toBeLessThanOrEqual(11);
    expect(b.forwarder.counters.dropped).toBe(20 - answers.filter((x) => x !== null).length);
  });

  it('answers queries pipelined on one TCP connection, each under its own id', async () => {
    const b = await bed((q) => [reply(q, [a('api.example.com', '192.0.2.10')])]);
    const { createConnection } = await import('node:net');
    const s = createConnection({ host: '127.0.0.1', port: b.port });
    const frame = (m: Buffer) => Buffer.concat([Buffer.from([m.length >> 8, m.length & 0xff]), m]);
    const ids = await new Promise<number[]>((resolve) => {
      let buf = Buffer.alloc(0);
      const got: number[] = [];
      s.on('data', (c: Buffer) => {
        buf = Buffer.concat([buf, c]);
        while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
          got.push(buf.readUInt16BE(2));
          buf = buf.subarray(2 + buf.readUInt16BE(0));
        }
        if (got.length === 3) resolve(got);
      });
      s.write(Buffer.concat([frame(query('api.example.com', 'A', 1)), frame(query('api.example.com', 'A', 2)), frame(query('api.example.com', 'A', 3))]));
    });
    s.destroy();
    expect(ids.sort()).toEqual([1, 2, 3]);
  });
});
