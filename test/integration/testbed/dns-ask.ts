// A DNS client for the bed, a program of its own run inside a namespace (a
// container's, by `nsenter --net=/proc/PID/ns/net`, or the host's): what
// busybox nslookup cannot do. Wire format by dns-packet. Imports only node:*
// and dns-packet (stripped .ts under vitest, compiled .js under the bench).
//
//   node dns-ask.ts --server ADDR [--port 53] [--proto udp|tcp] [--timeout-ms 2000]
//     --name N [--type A|AAAA] [--count K]   K queries one after another, one JSON line each:
//                                            {"ms":…,"rcode":…,"answers":[{type,name,ttl,data}]} or {"ms":…,"error":…}
//       [--connect PORT]                     and, the moment each answer is decoded, a TCP connect to its last
//                                            A/AAAA address (no resolver, no process in between): adds
//                                            "connected": true | false, "connectError": CODE
//     --names-file F [--concurrency C]       one query per line of F (NAME or NAME TYPE), one summary line:
//                                            {"ok":…,"failed":…,"ms":…,"rcodes":{…}}
//     --raw HEX [--count K]                  K UDP datagrams of those bytes, no wait: {"sent":K}
//     --raw HEX --proto tcp                  the bytes as they are on one TCP connection, then waits for the
//                                            server to close it (at most --timeout-ms): {"sent":1,"closed":…,"got":BYTES}
//     --hold N [--hold-ms MS]                N TCP connections that send one byte and idle for MS (1000):
//                                            {"opened":…,"closedByServer":…}
import dnsPacket from 'dns-packet';
import type { DecodedPacket, RecordType } from 'dns-packet';
import { createSocket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { parseArgs } from 'node:util';

const { values: o } = parseArgs({
  options: {
    server: { type: 'string' },
    port: { type: 'string', default: '53' },
    proto: { type: 'string', default: 'udp' },
    'timeout-ms': { type: 'string', default: '2000' },
    name: { type: 'string' },
    type: { type: 'string', default: 'A' },
    count: { type: 'string', default: '1' },
    'names-file': { type: 'string' },
    concurrency: { type: 'string', default: '16' },
    raw: { type: 'string' },
    hold: { type: 'string' },
    'hold-ms': { type: 'string', default: '1000' },
    connect: { type: 'string' },
  },
});
const server = o.server ?? '';
const port = Number(o.port);
const timeoutMs = Number(o['timeout-ms']);
const family = server.includes(':') ? 'udp6' : 'udp4';
if (!server || !Number.isInteger(port)) throw new Error('--server ADDR (and a numeric --port) are required');

let nextId = Math.floor(Math.random() * 0xffff);
const message = (name: string, type: string) =>
  dnsPacket.encode({
    type: 'query',
    id: (nextId = (nextId + 1) & 0xffff),
    flags: dnsPacket.RECURSION_DESIRED,
    questions: [{ type: type as RecordType, name, class: 'IN' }],
  });

function askUdp(bytes: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const sock = createSocket(family);
    const timer = setTimeout(() => done(() => reject(new Error('timeout'))), timeoutMs);
    const done = (settle: () => void) => {
      clearTimeout(timer);
      sock.close();
      settle();
    };
    sock.on('error', (err) => done(() => reject(err)));
    // The first datagram back is the answer: a client that takes what comes, as a stub resolver does.
    sock.on('message', (msg) => done(() => resolve(msg)));
    sock.send(bytes, port, server);
  });
}

function askTcp(bytes: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const sock = connect({ host: server, port });
    let got = Buffer.alloc(0);
    const timer = setTimeout(() => done(() => reject(new Error('timeout'))), timeoutMs);
    const done = (settle: () => void) => {
      clearTimeout(timer);
      sock.destroy();
      settle();
    };
    sock.on('error', (err) => done(() => reject(err)));
    sock.on('connect', () => sock.write(Buffer.concat([Buffer.from([bytes.length >> 8, bytes.length & 0xff]), bytes])));
    sock.on('data', (chunk: Buffer) => {
      got = Buffer.concat([got, chunk]);
      if (got.length >= 2 && got.length >= 2 + got.readUInt16BE(0)) done(() => resolve(got.subarray(2, 2 + got.readUInt16BE(0))));
    });
    sock.on('end', () => done(() => reject(new Error('closed without an answer'))));
  });
}

const RCODES = ['NOERROR', 'FORMERR', 'SERVFAIL', 'NXDOMAIN', 'NOTIMP', 'REFUSED'];
interface Outcome {
  readonly ms: number;
  readonly rcode?: string;
  readonly id?: number;
  readonly answers?: readonly { type: string; name: string; ttl: number | undefined; data: string }[];
  readonly error?: string;
}

async function ask(name: string, type: string): Promise<Outcome> {
  const t0 = performance.now();
  try {
    const bytes = message(name, type);
    const res: DecodedPacket = dnsPacket.decode(await (o.proto === 'tcp' ? askTcp(bytes) : askUdp(bytes)));
    const ms = performance.now() - t0;
    const answers = (res.answers ?? []).map((a) => ({
      type: a.type,
      name: a.name,
      ttl: 'ttl' in a ? a.ttl : undefined,
      data: 'data' in a ? String(a.data) : '',
    }));
    return { ms, id: res.id ?? 0, rcode: RCODES[(res.flags ?? 0) & 0xf] ?? String((res.flags ?? 0) & 0xf), answers };
  } catch (err) {
    return { ms: performance.now() - t0, error: err instanceof Error ? err.message : String(err) };
  }
}

const print = (x: unknown) => process.stdout.write(`${JSON.stringify(x)}\n`);

/** A TCP connect to address:port at once: opened, or the error's code (ECONNREFUSED: a reject). */
function connectNow(address: string, to: number): Promise<{ connected: boolean; connectError?: string }> {
  return new Promise((resolve) => {
    const sock = connect({ host: address, port: to });
    const timer = setTimeout(() => done({ connected: false, connectError: 'timeout' }), timeoutMs);
    const done = (r: { connected: boolean; connectError?: string }) => {
      clearTimeout(timer);
      sock.destroy();
      resolve(r);
    };
    sock.on('connect', () => done({ connected: true }));
    sock.on('error', (err: NodeJS.ErrnoException) => done({ connected: false, connectError: err.code ?? err.message }));
  });
}

/** One TCP connection: writes `bytes`, resolves when the server closes it or after `waitMs`. */
function tcpSession(bytes: Buffer, waitMs: number): Promise<{ opened: boolean; closed: boolean; got: number }> {
  return new Promise((resolve) => {
    const sock = connect({ host: server, port });
    let opened = false;
    let got = 0;
    const timer = setTimeout(() => finish(false), waitMs);
    const finish = (closed: boolean) => {
      clearTimeout(timer);
      sock.destroy();
      resolve({ opened, closed, got });
    };
    sock.on('connect', () => {
      opened = true;
      sock.write(bytes);
    });
    sock.on('data', (d: Buffer) => (got += d.length));
    sock.on('error', () => finish(opened));
    sock.on('end', () => finish(true));
  });
}

if (o.hold !== undefined) {
  const sessions = await Promise.all(Array.from({ length: Number(o.hold) }, () => tcpSession(Buffer.from([0]), Number(o['hold-ms']))));
  print({ opened: sessions.filter((x) => x.opened).length, closedByServer: sessions.filter((x) => x.closed).length });
} else if (o.raw !== undefined && o.proto === 'tcp') {
  const r = await tcpSession(Buffer.from(o.raw, 'hex'), timeoutMs);
  print({ sent: 1, closed: r.closed, got: r.got });
} else if (o.raw !== undefined) {
  const bytes = Buffer.from(o.raw, 'hex');
  const sock = createSocket(family);
  const count = Number(o.count);
  for (let i = 0; i < count; i++) await new Promise<void>((resolve, reject) => sock.send(bytes, port, server, (err) => (err ? reject(err) : resolve())));
  sock.close();
  print({ sent: count });
} else if (o['names-file'] !== undefined) {
  const queries = readFileSync(o['names-file'], 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => l.split(/\s+/));
  const t0 = performance.now();
  const rcodes: Record<string, number> = {};
  let next = 0;
  let ok = 0;
  await Promise.all(
    Array.from({ length: Number(o.concurrency) }, async () => {
      while (next < queries.length) {
        const [name = '', type = 'A'] = queries[next++]!;
        const r = await ask(name, type);
        const key = r.error ?? r.rcode ?? '?';
        rcodes[key] = (rcodes[key] ?? 0) + 1;
        if (r.rcode === 'NOERROR' && (r.answers?.length ?? 0) > 0) ok++;
      }
    }),
  );
  print({ ok, failed: queries.length - ok, ms: performance.now() - t0, rcodes });
} else {
  if (!o.name) throw new Error('--name, --names-file or --raw is required');
  for (let i = 0; i < Number(o.count); i++) {
    const r = await ask(o.name, o.type);
    const address = r.answers?.filter((a) => a.type === 'A' || a.type === 'AAAA').at(-1)?.data;
    print(o.connect !== undefined && address ? { ...r, ...(await connectNow(address, Number(o.connect))) } : r);
  }
}
