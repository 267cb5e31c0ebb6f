// The forwarder's view of DNS messages, on top of dns-packet (the wire format
// is the library's; this file only decides what to trust). dns-packet bounds
// itself: names over 254 bytes, pointers that do not point strictly backwards
// (so no compression loop) and reads past the end all throw, and every call
// here is inside a try. What it does not check is done here: a record whose
// length runs past the end of the message (dns-packet reads it anyway, an A
// record cut short decodes as "192.0.2.undefined"), a question label
// holding a '.' byte (it would print as two labels), a query that is not one
// plain QUERY question, an answer whose id, QR bit or question differ.
import dnsPacket, { type Answer, type DecodedPacket } from 'dns-packet';
import { normaliseQueryName } from '../core/dns-name.js';

export interface Question {
  /** As dns-packet printed it (case kept). */
  readonly name: string;
  readonly type: string;
  readonly class: string;
}

export interface Query {
  readonly id: number;
  readonly question: Question;
  /** The question name normalised, or null when it is not a host name (forwarded, never learned). */
  readonly qname: string | null;
  /** Header and question: what an error reply echoes. */
  readonly head: Buffer;
}

export type QueryParse = { readonly ok: true; readonly query: Query } | { readonly ok: false; readonly reply: Buffer | null; readonly reason: string };

export const RCODE = { FORMERR: 1, SERVFAIL: 2, NOTIMP: 4 } as const;

/** dns-packet's decode, refusing a message whose records run past its end. */
function decodeWhole(buf: Buffer): DecodedPacket {
  const decoded = dnsPacket.decode(buf);
  if (dnsPacket.decode.bytes > buf.length) throw new Error('a record runs past the end of the message');
  return decoded;
}

/** End offset of the question name at `offset` walked label by label (no pointer), or a reason. */
function questionNameEnd(buf: Buffer, offset: number): number | string {
  let at = offset;
  for (;;) {
    if (at >= buf.length) return 'truncated question';
    const len = buf[at]!;
    if (len === 0) return at + 1;
    if ((len & 0xc0) !== 0) return 'compressed or extended label in the question';
    if (at + 1 + len > buf.length) return 'truncated question';
    if (buf.subarray(at + 1, at + 1 + len).includes(0x2e)) return "a question label holds a '.'";
    at += 1 + len;
    if (at - offset > 255) return 'question name too long';
  }
}

/** A reply to `head` (header + question) with `rcode` and no records. */
export function errorReply(head: Buffer, rcode: number): Buffer {
  const out = Buffer.from(head);
  const rd = out[2]! & 0x01;
  out[2] = 0x80 | (out[2]! & 0x78) | rd; // QR, the query's opcode and RD
  out[3] = 0x80 | rcode; // RA
  out.writeUInt16BE(head.length > 12 ? 1 : 0, 4);
  out.fill(0, 6, 12);
  return out;
}

export function parseQuery(buf: Buffer): QueryParse {
  if (buf.length < 12) return { ok: false, reply: null, reason: 'shorter than a DNS header' };
  const flags = buf.readUInt16BE(2);
  if (flags & 0x8000) return { ok: false, reply: null, reason: 'a response, not a query' };
  const header = buf.subarray(0, 12);
  if (((flags >> 11) & 0xf) !== 0) return { ok: false, reply: errorReply(header, RCODE.NOTIMP), reason: 'opcode is not QUERY' };
  if (buf.readUInt16BE(4) !== 1) return { ok: false, reply: errorReply(header, RCODE.FORMERR), reason: 'not exactly one question' };
  const end = questionNameEnd(buf, 12);
  if (typeof end === 'string' || end + 4 > buf.length) {
    return { ok: false, reply: errorReply(header, RCODE.FORMERR), reason: typeof end === 'string' ? end : 'truncated question' };
  }
  let decoded: DecodedPacket;
  try {
    decoded = decodeWhole(buf);
  } catch (err) {
    return { ok: false, reply: errorReply(header, RCODE.FORMERR), reason: `undecodable: ${err instanceof Error ? err.message : String(err)}` };
  }
  const q = decoded.questions?.[0];
  if (!q) return { ok: false, reply: errorReply(header, RCODE.FORMERR), reason: 'no question' };
  const question = { name: q.name, type: String(q.type), class: String(q.class) };
  const qname = question.class === 'IN' ? normaliseQueryName(q.name) : null;
  return { ok: true, query: { id: buf.readUInt16BE(0), question, qname, head: Buffer.from(buf.subarray(0, end + 4)) } };
}

/** The upstream's answer decoded when it is the answer to (id, question); null otherwise. */
export function matchAnswer(buf: Buffer, id: number, question: Question): DecodedPacket | null {
  if (buf.length < 12 || buf.readUInt16BE(0) !== id || !(buf.readUInt16BE(2) & 0x8000)) return null;
  let decoded: DecodedPacket;
  try {
    decoded = decodeWhole(buf);
  } catch {
    return null;
  }
  const q = decoded.questions;
  if (q?.length !== 1) return null;
  const same = q[0]!.name.toLowerCase() === question.name.toLowerCase() && String(q[0]!.type) === question.type && String(q[0]!.class) === question.class;
  return same ? decoded : null;
}

export interface LearnedRecord {
  readonly address: string;
  readonly family: 4 | 6;
  readonly ttlS: number;
}

const MAX_CHAIN = 16;

/**
 * The A/AAAA records at the end of the CNAME chain that starts at `qname`
 * (normalised), from the answer section only; none unless the rcode is
 * NOERROR. A chain that loops or runs past 16 links learns nothing.
 */
export function chainAddresses(answer: DecodedPacket, qname: string): LearnedRecord[] {
  if (((answer.flags ?? 0) & 0xf) !== 0) return [];
  const records = (answer.answers ?? []).filter((a): a is Answer & { name: string; ttl?: number; data: unknown } => (a as { class?: string }).class === 'IN');
  const norm = (n: string) => normaliseQueryName(n);
  let name = qname;
  const seen = new Set<string>([name]);
  for (let hop = 0; ; hop++) {
    const cname = records.find((r) => r.type === 'CNAME' && norm(r.name) === name);
    if (!cname) break;
    const next = typeof cname.data === 'string' ? norm(cname.data) : null;
    if (next === null || seen.has(next) || hop >= MAX_CHAIN) return [];
    seen.add(next);
    name = next;
  }
  const out: LearnedRecord[] = [];
  for (const r of records) {
    if ((r.type !== 'A' && r.type !== 'AAAA') || norm(r.name) !== name || typeof r.data !== 'string') continue;
    out.push({ address: r.data, family: r.type === 'A' ? 4 : 6, ttlS: Math.max(0, Math.floor(r.ttl ?? 0)) });
  }
  return out;
}

/** DNS over TCP (RFC 1035 4.2.2): each message preceded by its length, two bytes. */
export function tcpFrame(msg: Buffer): Buffer {
  const len = Buffer.alloc(2);
  len.writeUInt16BE(msg.length);
  return Buffer.concat([len, msg]);
}

/** Reads length-prefixed messages from a TCP stream: feed it each chunk; `onMessage` hears each whole message, in order. */
export function tcpFrames(onMessage: (msg: Buffer) => void): (chunk: Buffer) => void {
  let buf = Buffer.alloc(0);
  return (chunk) => {
    buf = Buffer.concat([buf, chunk]);
    while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
      const msg = Buffer.from(buf.subarray(2, 2 + buf.readUInt16BE(0)));
      buf = buf.subarray(2 + msg.length);
      onMessage(msg);
    }
  };
}
