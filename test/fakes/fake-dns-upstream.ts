// A DNS server on 127.0.0.1 (UDP and TCP on one random port) for the
// forwarder's unit tests: each query goes to `answer`, which returns the
// messages to send back (none: stay silent), and every query is recorded.
import { createSocket } from 'node:dgram';
import { createConnection, createServer, type Socket } from 'node:net';
import dnsPacket, { type Answer, type DecodedPacket } from 'dns-packet';

export type Answerer = (query: DecodedPacket, raw: Buffer) => readonly Buffer[];

export interface FakeUpstream {
  readonly port: number;
  readonly queries: DecodedPacket[];
  close(): Promise<void>;
}

export async function startFakeUpstream(answer: Answerer): Promise<FakeUpstream> {
  const queries: DecodedPacket[] = [];
  const udp = createSocket('udp4');
  await new Promise<void>((resolve) => udp.bind(0, '127.0.0.1', resolve));
  const port = udp.address().port;
  udp.on('message', (msg, rinfo) => {
    const q = dnsPacket.decode(msg);
    queries.push(q);
    for (const out of answer(q, msg)) udp.send(out, rinfo.port, rinfo.address);
  });
  const conns = new Set<Socket>();
  const tcp = createServer((conn) => {
    conns.add(conn);
    conn.on('close', () => conns.delete(conn));
    conn.on('error', () => undefined);
    let buf = Buffer.alloc(0);
    conn.on('data', (chunk) => {
      buf = Buffer.concat([buf, chunk]);
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        const msg = buf.subarray(2, 2 + buf.readUInt16BE(0));
        buf = buf.subarray(2 + msg.length);
        const q = dnsPacket.decode(msg);
        queries.push(q);
        for (const out of answer(q, msg)) conn.write(Buffer.concat([Buffer.from([out.length >> 8, out.length & 0xff]), out]));
      }
    });
  });
  await new Promise<void>((resolve) => tcp.listen(port, '127.0.0.1', resolve));
  return {
    port,
    queries,
    close: () =>
      new Promise<void>((resolve) => {
        udp.close();
        for (const c of conns) c.destroy();
        tcp.close(() => resolve());
      }),
  };
}

/** An answer to `q` with `answers`, same id and question (flags: QR, RD, RA; rcode NOERROR). */
export function reply(q: DecodedPacket, answers: readonly Answer[], over: { id?: number; name?: string; rcode?: number } = {}): Buffer {
  const question = q.questions![0]!;
  return dnsPacket.encode({
    type: 'response',
    id: over.id ?? q.id,
    flags: dnsPacket.RECURSION_DESIRED | dnsPacket.RECURSION_AVAILABLE | (over.rcode ?? 0),
    questions: [{ ...question, name: over.name ?? question.name }],
    answers: [...answers],
  });
}

export function query(name: string, type: 'A' | 'AAAA' | 'TXT' = 'A', id = 4242): Buffer {
  return dnsPacket.encode({ type: 'query', id, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type, name, class: 'IN' }] });
}

/** Sends one UDP datagram to 127.0.0.1:port; the first reply, or null after `ms`. */
export function askUdp(port: number, msg: Buffer, ms = 3000): Promise<Buffer | null> {
  return new Promise((resolve) => {
    const s = createSocket('udp4');
    const t = setTimeout(() => {
      s.close();
      resolve(null);
    }, ms);
    s.on('message', (m) => {
      clearTimeout(t);
      s.close();
      resolve(m);
    });
    s.send(msg, port, '127.0.0.1');
  });
}

/** One length-prefixed exchange over TCP; null when the connection ends or `ms` passes first. */
export function askTcp(port: number, msg: Buffer, ms = 3000): Promise<Buffer | null> {
  return new Promise((resolve) => {
    const s = createConnection({ host: '127.0.0.1', port });
    let buf = Buffer.alloc(0);
    const done = (v: Buffer | null) => {
      clearTimeout(t);
      s.destroy();
      resolve(v);
    };
    const t = setTimeout(() => done(null), ms);
    s.on('error', () => done(null));
    s.on('connect', () => s.write(Buffer.concat([Buffer.from([msg.length >> 8, msg.length & 0xff]), msg])));
    s.on('data', (c: Buffer) => {
      buf = Buffer.concat([buf, c]);
      if (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) done(Buffer.from(buf.subarray(2, 2 + buf.readUInt16BE(0))));
    });
  });
}

/** dns-packet's decode with the rcode its types leave out. */
export function decodeReply(buf: Buffer): DecodedPacket & { readonly rcode: string } {
  return dnsPacket.decode(buf) as DecodedPacket & { rcode: string };
}
