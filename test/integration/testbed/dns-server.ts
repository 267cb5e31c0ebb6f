// The bed's authoritative test DNS server: a program of its own, run by
// test-dns.ts inside a namespace (the bed's "world", as a name server on the
// internet) under `nsenter --net`. Wire format by dns-packet, never by hand.
//
//   node dns-server.ts ZONE.json ADDRESS...   (port 53, UDP and TCP on each address)
//
// Answers from the zone file (dns-zone.ts), re-read when it changes; follows
// CNAMEs inside the zone, as an authoritative server of both names would.
// Prints {"event":"ready"} once every socket is bound, then one JSON line per
// query (DnsQueryLine). Imports only node:* and dns-packet (it runs as a
// stripped .ts under vitest and as compiled .js under the bench).
import dnsPacket from 'dns-packet';
import type { Answer, DecodedPacket, Packet } from 'dns-packet';
import { createSocket } from 'node:dgram';
import { readFileSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import type { DnsLie, DnsQueryLine, DnsRecord, DnsZone } from './dns-zone.js';

const [zonePath, ...addresses] = process.argv.slice(2);
if (!zonePath || addresses.length === 0) {
  process.stderr.write('usage: dns-server ZONE.json ADDRESS...\n');
  process.exit(2);
}

let zone: DnsZone = { records: {} };
let zoneKey = '';
function currentZone(): DnsZone {
  const s = statSync(zonePath!);
  const key = `${s.ino}:${s.mtimeMs}:${s.size}`;
  if (key !== zoneKey) {
    zone = JSON.parse(readFileSync(zonePath!, 'utf8')) as DnsZone;
    zoneKey = key;
  }
  return zone;
}

const canonical = (name: string) => name.toLowerCase().replace(/\.$/, '');

/** The answer records for name/type: the CNAME chain from name (at most 8 links), then the records of its end. */
function resolve(z: DnsZone, name: string, type: string): { answers: Answer[]; known: boolean } {
  const answers: Answer[] = [];
  let at = name;
  let known = false;
  for (let hop = 0; hop < 9; hop++) {
    const records: readonly DnsRecord[] | undefined = z.records[at];
    if (!records) break;
    known = true;
    const ttl = (r: DnsRecord) => r.ttl ?? z.defaultTtl ?? 60;
    const cname = records.find((r) => r.type === 'CNAME');
    if (cname && type !== 'CNAME') {
      answers.push({ type: 'CNAME', name: at, ttl: ttl(cname), data: cname.value });
      at = canonical(cname.value);
      continue;
    }
    for (const r of records.filter((r) => r.type === type)) answers.push({ type: r.type, name: at, ttl: ttl(r), data: r.value } as Answer);
    break;
  }
  return { answers, known };
}

/** The reply bytes for one query, or null to send nothing. */
function reply(bytes: Buffer, proto: 'udp' | 'tcp', from: string): Buffer | null {
  const t = performance.timeOrigin + performance.now();
  let query: DecodedPacket;
  try {
    query = dnsPacket.decode(bytes);
  } catch {
    log({ event: 'query', t, proto, from, id: -1, name: '', type: '', outcome: 'FORMERR', answers: [] });
    return null;
  }
  const q = query.questions?.[0];
  const name = canonical(q?.name ?? '');
  const type = q?.type ?? '';
  const z = currentZone();
  const line = { event: 'query', t, proto, from, id: query.id ?? 0, name, type } as const;
  if (z.mode === 'drop') {
    log({ ...line, outcome: 'dropped', answers: [] });
    return null;
  }
  const { answers, known } = resolve(z, name, type);
  const lie: DnsLie | undefined = z.lies?.[name];
  log({ ...line, outcome: lie ? `lie:${lie}` : known ? 'NOERROR' : 'NXDOMAIN', answers: answers.map((a) => ('data' in a ? String(a.data) : '')) });
  if (lie === 'garbage') return Buffer.from('this is not a DNS message at all');
  const response: Packet = {
    type: 'response',
    id: lie === 'id' ? ((query.id ?? 0) + 1) & 0xffff : query.id,
    flags: dnsPacket.AUTHORITATIVE_ANSWER | (query.flag_rd ? dnsPacket.RECURSION_DESIRED : 0) | (known ? 0 : 3), // rcode 3: NXDOMAIN
    questions: lie === 'question' ? [{ type: q?.type ?? 'A', name: `not-${name}`, class: 'IN' }] : (query.questions ?? []),
    answers,
  };
  const out = dnsPacket.encode(response);
  // No EDNS handling: a UDP answer over the classic 512 bytes goes truncated, the client retries over TCP.
  if (proto === 'udp' && out.length > 512) return dnsPacket.encode({ ...response, flags: (response.flags ?? 0) | dnsPacket.TRUNCATED_RESPONSE, answers: [] });
  return out;
}

function log(line: DnsQueryLine): void {
  process.stdout.write(`${JSON.stringify(line)}\n`);
}

const bound: Promise<void>[] = [];
for (const address of addresses) {
  const udp = createSocket(address.includes(':') ? { type: 'udp6', ipv6Only: true } : { type: 'udp4' });
  udp.on('message', (msg, rinfo) => {
    const out = reply(msg, 'udp', `${rinfo.address}:${rinfo.port}`);
    if (out) udp.send(out, rinfo.port, rinfo.address);
  });
  bound.push(
    new Promise((resolve, reject) =>
      udp.once('error', reject).bind(53, address, () => {
        // A send error later (a client gone) must not end the server.
        udp.off('error', reject).on('error', (err) => process.stderr.write(`udp ${address}: ${err.message}\n`));
        resolve();
      }),
    ),
  );

  const tcp = createServer((sock) => {
    let buffered = Buffer.alloc(0);
    sock.on('error', () => undefined);
    sock.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      while (buffered.length >= 2 && buffered.length >= 2 + buffered.readUInt16BE(0)) {
        const msg = buffered.subarray(2, 2 + buffered.readUInt16BE(0));
        buffered = buffered.subarray(2 + msg.length);
        const out = reply(msg, 'tcp', `${sock.remoteAddress}:${sock.remotePort}`);
        if (out) sock.write(Buffer.concat([Buffer.from([out.length >> 8, out.length & 0xff]), out]));
      }
    });
  });
  bound.push(new Promise((resolve, reject) => tcp.once('error', reject).listen({ port: 53, host: address, ipv6Only: true }, () => resolve())));
}

currentZone();
await Promise.all(bound);
process.stdout.write(`${JSON.stringify({ event: 'ready', addresses })}\n`);
process.on('SIGTERM', () => process.exit(0));
