// The forwarder's sockets on dns.listen: UDP, and TCP with two-byte length
// prefixes (pipelined queries answered as they complete). Every socket error
// is caught; TCP connections are bounded in number and idle time.
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { createServer, type Server, type Socket } from 'node:net';
import type { Logger } from 'pino';
import type { DnsForwarder } from './dns-forwarder.js';
import { tcpFrame, tcpFrames } from './dns-wire.js';

export interface DnsListeners {
  /** The port bound (53 in production; tests bind 0). */
  readonly port: number;
  close(): Promise<void>;
}

const MAX_TCP_CONNECTIONS = 256;
const TCP_IDLE_MS = 10_000;

function serveTcp(forwarder: DnsForwarder, conn: Socket): void {
  const client = conn.remoteAddress ?? '';
  conn.setTimeout(TCP_IDLE_MS, () => conn.destroy());
  conn.on('error', () => conn.destroy());
  conn.on(
    'data',
    tcpFrames((msg) => {
      void forwarder.handle(msg, client, 'tcp').then((reply) => {
        if (reply && !conn.destroyed) conn.write(tcpFrame(reply));
      });
    }),
  );
}

function bindUdp(socket: UdpSocket, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(port, host, () => {
      socket.off('error', reject);
      resolve(socket.address().port);
    });
  });
}

function bindTcp(server: Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

/** Binds UDP and TCP on host:port (the same port for both); throws what the bind threw. */
export async function startDnsListeners(forwarder: DnsForwarder, host: string, port: number, log: Logger): Promise<DnsListeners> {
  const udp = createSocket({ type: host.includes(':') ? 'udp6' : 'udp4' });
  let closed = false;
  const bound = await bindUdp(udp, host, port);
  udp.on('error', (err) => log.warn({ event: 'dns_socket_error', err: String(err) }, 'DNS UDP socket error'));
  udp.on('message', (msg, rinfo) => {
    void forwarder.handle(msg, rinfo.address, 'udp').then((reply) => {
      if (!reply || closed) return;
      try {
        udp.send(reply, rinfo.port, rinfo.address, () => undefined);
      } catch (err) {
        // A socket closed meanwhile (stop, reload) throws at once.
        log.debug({ event: 'dns_socket_error', err: String(err) }, 'DNS reply not sent');
      }
    });
  });
  const conns = new Set<Socket>();
  const tcp = createServer((conn) => {
    conns.add(conn);
    conn.on('close', () => conns.delete(conn));
    serveTcp(forwarder, conn);
  });
  tcp.maxConnections = MAX_TCP_CONNECTIONS;
  tcp.on('error', (err) => log.warn({ event: 'dns_socket_error', err: String(err) }, 'DNS TCP socket error'));
  try {
    await bindTcp(tcp, host, bound);
  } catch (err) {
    udp.close();
    throw err;
  }
  return {
    port: bound,
    close: () =>
      new Promise<void>((resolve) => {
        if (closed) return resolve();
        closed = true;
        udp.close();
        tcp.close(() => resolve());
        // Open connections would hold close() until their idle timeout.
        for (const c of conns) c.destroy();
      }),
  };
}
