// Asking an upstream resolver one question, over UDP or TCP, with a fresh
// random id: only an answer carrying that id and the same question, from the
// socket that asked, is taken; anything else is ignored until the timeout.
import { randomInt } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { createConnection } from 'node:net';
import type { DecodedPacket } from 'dns-packet';
import { parseAddress } from '../core/addr.js';
import { parseDnsUpstream } from '../core/config.js';
import { matchAnswer, type Question, tcpFrame, tcpFrames } from './dns-wire.js';

export interface Upstream {
  readonly host: string;
  readonly port: number;
  readonly family: 4 | 6;
}

export class UpstreamConfigError extends Error {
  override name = 'UpstreamConfigError';
}

/** `IP`, `IP:PORT` or `[IPv6]:PORT` (a bare IPv6 address too), read as the config schema reads it; throws a clear error otherwise. */
export function parseUpstream(text: string): Upstream {
  const up = parseDnsUpstream(text);
  if (!up) throw new UpstreamConfigError(`dns.upstream ${JSON.stringify(text)} is not IP, IP:PORT or [IPv6]:PORT`);
  return { host: up.address, port: up.port, family: up.family };
}

/** The nameservers of a resolv.conf text, minus `listen` itself (port 53): moat must not ask itself. Invalid lines are skipped. */
export function resolvConfUpstreams(text: string, listen: string | null): Upstream[] {
  const out: Upstream[] = [];
  for (const line of text.split('\n')) {
    const m = /^\s*nameserver\s+(\S+)/.exec(line);
    // A scoped link-local server (fe80::1%eth0) is skipped: moat's upstreams carry no zone.
    const addr = m ? parseAddress(m[1]!) : null;
    if (addr) out.push({ host: addr.text, port: 53, family: addr.family });
  }
  return withoutSelf(out, listen);
}

export function withoutSelf(upstreams: readonly Upstream[], listen: string | null): Upstream[] {
  const self = listen === null ? null : parseAddress(listen)?.text;
  return upstreams.filter((u) => !(u.host === self && u.port === 53));
}

export interface Asked {
  readonly raw: Buffer;
  readonly decoded: DecodedPacket;
}

/** An exchange's end, once: the first answer (or null, at the timeout or an error) resolves it and closes the socket. */
function settleOnce(resolve: (v: Asked | null) => void, timeoutMs: number, close: () => void): (v: Asked | null) => void {
  let done = false;
  const finish = (v: Asked | null) => {
    if (done) return;
    done = true;
    clearTimeout(timer);
    close();
    resolve(v);
  };
  const timer = setTimeout(() => finish(null), timeoutMs);
  return finish;
}

function withId(query: Buffer, id: number): Buffer {
  const out = Buffer.from(query);
  out.writeUInt16BE(id, 0);
  return out;
}

/** One UDP exchange; null on timeout or socket error. */
export function askUdp(up: Upstream, query: Buffer, question: Question, timeoutMs: number): Promise<Asked | null> {
  return new Promise((resolve) => {
    const id = randomInt(0, 65536);
    const socket = createSocket(up.family === 4 ? 'udp4' : 'udp6');
    const finish = settleOnce(resolve, timeoutMs, () => socket.close());
    socket.on('error', () => finish(null));
    socket.on('message', (msg, rinfo) => {
      if (rinfo.port !== up.port || parseAddress(rinfo.address)?.text !== up.host) return;
      const decoded = matchAnswer(msg, id, question);
      if (decoded) finish({ raw: msg, decoded });
    });
    socket.send(withId(query, id), up.port, up.host, (err) => err && finish(null));
  });
}

/** One TCP exchange (length-prefixed); null on timeout, a closed connection or a mismatched answer. */
export function askTcp(up: Upstream, query: Buffer, question: Question, timeoutMs: number): Promise<Asked | null> {
  return new Promise((resolve) => {
    const id = randomInt(0, 65536);
    const socket = createConnection({ host: up.host, port: up.port });
    const finish = settleOnce(resolve, timeoutMs, () => socket.destroy());
    socket.on('error', () => finish(null));
    socket.on('close', () => finish(null));
    socket.on('connect', () => socket.write(tcpFrame(withId(query, id))));
    socket.on(
      'data',
      tcpFrames((msg) => {
        const decoded = matchAnswer(msg, id, question);
        if (decoded) finish({ raw: msg, decoded });
      }),
    );
  });
}
