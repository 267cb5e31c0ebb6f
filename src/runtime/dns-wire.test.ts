// What dns-packet does with hostile input, and the guards dns-wire adds.
import dnsPacket from 'dns-packet';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeReply, query, reply } from '../../test/fakes/fake-dns-upstream.js';
import { chainAddresses, errorReply, matchAnswer, parseQuery, tcpFrame, tcpFrames } from './dns-wire.js';

const question = { name: 'api.example.com', type: 'A', class: 'IN' };
const answerTo = (id: number) =>
  reply(dnsPacket.decode(query('api.example.com', 'A', id)), [{ type: 'A', name: 'api.example.com', ttl: 30, class: 'IN', data: '192.0.2.10' }]);

describe('dns-packet bounds itself', () => {
  it('refuses a compression pointer that loops (two names pointing at each other) or points forward', () => {
    const head = Buffer.from([0, 1, 0x81, 0x80, 0, 1, 0, 0, 0, 0, 0, 0]);
    // The question name at 12 points to 14, which points back to 12.
    const loop = Buffer.concat([head, Buffer.from([0xc0, 14, 0xc0, 12, 0, 1, 0, 1])]);
    expect(() => dnsPacket.decode(loop)).toThrow(/bad pointer/);
    const self = Buffer.concat([head, Buffer.from([0xc0, 12, 0, 1, 0, 1])]);
    expect(() => dnsPacket.decode(self)).toThrow(/bad pointer/);
  });

  it('refuses a name longer than 254 bytes and a label running past the end', () => {
    const labels = Buffer.concat(Array.from({ length: 5 }, () => Buffer.concat([Buffer.from([60]), Buffer.alloc(60, 0x61)])));
    const long = Buffer.concat([Buffer.from([0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0]), labels, Buffer.from([0, 0, 1, 0, 1])]);
    expect(() => dnsPacket.decode(long)).toThrow(/too long/);
    expect(() => dnsPacket.decode(long.subarray(0, 40))).toThrow(/overflow/);
  });

  it('does NOT refuse a record cut short (hence the guard): matchAnswer does', () => {
    const ok = answerTo(1);
    const cut = ok.subarray(0, ok.length - 2);
    expect(dnsPacket.decode(cut).answers?.[0]).toMatchObject({ data: '192.0.undefined.undefined' });
    expect(matchAnswer(cut, 1, question)).toBeNull();
    expect(matchAnswer(ok, 1, question)).not.toBeNull();
  });
});

describe('parseQuery, matchAnswer, errorReply', () => {
  it('takes one plain question and normalises its name; a non-host name is forwarded but not learnable', () => {
    const p = parseQuery(query('API.Example.COM.'));
    expect(p.ok && p.query).toMatchObject({ id: 4242, qname: 'api.example.com', question: { type: 'A', class: 'IN' } });
    const odd = parseQuery(query('exa mple.com'));
    expect(odd.ok && odd.query.qname).toBeNull();
  });

  it('refuses responses and short packets silently, other opcodes with NOTIMP', () => {
    expect(parseQuery(answerTo(3))).toMatchObject({ ok: false, reply: null });
    expect(parseQuery(Buffer.alloc(5))).toMatchObject({ ok: false, reply: null });
    const notify = Buffer.from(query('api.example.com'));
    notify[2] = 4 << 3;
    const p = parseQuery(notify);
    expect(!p.ok && p.reply && decodeReply(p.reply).rcode).toBe('NOTIMP');
  });

  it('matches only the same id, a response, and the same question', () => {
    expect(matchAnswer(answerTo(7), 8, question)).toBeNull();
    expect(matchAnswer(query('api.example.com', 'A', 7), 7, question)).toBeNull();
    expect(matchAnswer(answerTo(7), 7, { ...question, type: 'AAAA' })).toBeNull();
    expect(matchAnswer(answerTo(7), 7, { ...question, name: 'API.example.com' })).not.toBeNull();
  });

  it('a SERVFAIL keeps the id, the question and RD', () => {
    const p = parseQuery(query('api.example.com', 'AAAA', 99));
    const r = decodeReply(errorReply(p.ok ? p.query.head : Buffer.alloc(0), 2));
    expect(r).toMatchObject({
      id: 99,
      type: 'response',
      rcode: 'SERVFAIL',
      flag_rd: true,
      questions: [{ name: 'api.example.com', type: 'AAAA' }],
      answers: [],
    });
  });

  it('learns nothing from an answer whose rcode is not NOERROR', () => {
    const q = dnsPacket.decode(query('api.example.com'));
    const nx = dnsPacket.decode(reply(q, [{ type: 'A', name: 'api.example.com', ttl: 30, class: 'IN', data: '192.0.2.1' }], { rcode: 3 }));
    expect(chainAddresses(nx, 'api.example.com')).toEqual([]);
  });
});

describe('arbitrary bytes', () => {
  it('parseQuery, matchAnswer and chainAddresses never throw, and an error reply is always a well-formed response', () => {
    const head = query('api.example.com', 'A', 1).subarray(0, 12);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), fc.boolean(), (bytes, withHeader) => {
        const buf = withHeader ? Buffer.concat([head, Buffer.from(bytes)]) : Buffer.from(bytes);
        const p = parseQuery(buf);
        if (!p.ok && p.reply) expect(decodeReply(p.reply).type).toBe('response');
        if (p.ok) expect(decodeReply(errorReply(p.query.head, 2)).rcode).toBe('SERVFAIL');
        const answer = Buffer.from(buf);
        if (answer.length >= 4) answer[2]! |= 0x80;
        const m = matchAnswer(answer, answer.length >= 2 ? answer.readUInt16BE(0) : 0, question);
        if (m) chainAddresses(m, 'api.example.com');
      }),
      { numRuns: 3000 },
    );
  });
});

describe('tcpFrame / tcpFrames', () => {
  it('reads back what it framed, whole messages only, across chunk boundaries and several to a chunk', () => {
    const got: string[] = [];
    const feed = tcpFrames((m) => got.push(m.toString()));
    const stream = Buffer.concat([tcpFrame(Buffer.from('first')), tcpFrame(Buffer.from('second')), tcpFrame(Buffer.from(''))]);
    feed(stream.subarray(0, 3));
    expect(got).toEqual([]);
    feed(stream.subarray(3, 10));
    expect(got).toEqual(['first']);
    feed(stream.subarray(10));
    expect(got).toEqual(['first', 'second', '']);
  });
});
