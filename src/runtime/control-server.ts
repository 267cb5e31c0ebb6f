// The control socket: a unix socket (mode 0600 in a 0700 directory) that
// serves GET /status (JSON), GET /metrics (Prometheus text) and the start
// gate's POST /gate/<container id>, plus an optional TCP listener for
// /metrics only (`metrics.listen`). Nothing on it changes what moatd
// enforces: the gate only waits for the commit that moatd makes anyway.
import { chmod, lstat, mkdir, unlink } from 'node:fs/promises';
import { createConnection } from 'node:net';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { dirname } from 'node:path';
import type { Logger } from 'pino';

export interface ControlServerDeps {
  readonly socketPath: string;
  /** HOST:PORT for a TCP /metrics listener, or null. */
  readonly metricsListen: string | null;
  readonly status: () => unknown;
  readonly metrics: () => Promise<string>;
  readonly metricsContentType: string;
  readonly log: Logger;
  /** The start gate: answers once the container's rules are committed (waitMs: the wrapper's bound). */
  readonly gate?: (id: string, waitMs: number) => Promise<unknown>;
}

/** The longest bound a wrapper may ask for; past it moatd answers anyway. */
const MAX_GATE_WAIT_MS = 60_000;

export class ControlServerError extends Error {
  override name = 'ControlServerError';
}

export interface ControlServer {
  /** The TCP metrics address actually bound (port 0 resolves), or null. */
  readonly metricsAddress: string | null;
  close(): Promise<void>;
}

/** Splits HOST:PORT (`[::1]:9808`, `127.0.0.1:9808`, `localhost:9808`). */
export function parseListen(listen: string): { host: string; port: number } {
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(listen) ?? /^([^:]+):(\d+)$/.exec(listen);
  const port = Number(m?.[2]);
  if (!m || !Number.isInteger(port) || port < 0 || port > 65535) throw new ControlServerError(`metrics.listen ${JSON.stringify(listen)} is not HOST:PORT`);
  return { host: m[1]!, port };
}

function handler(deps: ControlServerDeps, allowStatus: boolean) {
  return (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://moat');
    const path = url.pathname;
    const send = (code: number, type: string, body: string) => {
      res.writeHead(code, { 'content-type': type, 'cache-control': 'no-store' });
      res.end(body);
    };
    const gate = /^\/gate\/([0-9a-f]{64})$/.exec(path);
    if (gate && allowStatus && deps.gate && req.method === 'POST') {
      const asked = Number(url.searchParams.get('waitMs') ?? '2000');
      const waitMs = Number.isFinite(asked) && asked >= 0 ? Math.min(asked, MAX_GATE_WAIT_MS) : 2000;
      deps.gate(gate[1]!, waitMs).then(
        (answer) => send(200, 'application/json', `${JSON.stringify(answer)}\n`),
        (err: unknown) => send(500, 'text/plain', `${String(err)}\n`),
      );
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(405, 'text/plain', allowStatus ? 'only GET, and POST /gate/<container id>\n' : 'only GET\n');
    if (path === '/status' && allowStatus) {
      try {
        return send(200, 'application/json', `${JSON.stringify(deps.status(), null, 2)}\n`);
      } catch (err) {
        return send(500, 'text/plain', `${String(err)}\n`);
      }
    }
    if (path === '/metrics') {
      deps.metrics().then(
        (text) => send(200, deps.metricsContentType, text),
        (err: unknown) => send(500, 'text/plain', `${String(err)}\n`),
      );
      return;
    }
    send(404, 'text/plain', allowStatus ? 'GET /status or /metrics\n' : 'GET /metrics\n');
  };
}

/** True when something answers on the unix socket at `path`. */
function answering(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createConnection(path);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

async function clearStaleSocket(path: string): Promise<void> {
  let st;
  try {
    st = await lstat(path);
  } catch {
    return;
  }
  if (!st.isSocket()) throw new ControlServerError(`${path} exists and is not a socket; refusing to replace it`);
  if (await answering(path)) throw new ControlServerError(`${path} is in use: is another moatd running?`);
  await unlink(path);
}

function listen(server: Server, target: string | { host: string; port: number }): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    const done = () => {
      server.off('error', reject);
      resolve();
    };
    if (typeof target === 'string') {
      // The socket is created 0600 from the start: no window where others could connect.
      const old = process.umask(0o177);
      try {
        server.listen(target, done);
      } finally {
        process.umask(old);
      }
    } else server.listen(target.port, target.host, done);
  });
}

export async function startControlServer(deps: ControlServerDeps): Promise<ControlServer> {
  const dir = dirname(deps.socketPath);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await clearStaleSocket(deps.socketPath);
  const unixServer = createServer(handler(deps, true));
  await listen(unixServer, deps.socketPath);
  await chmod(deps.socketPath, 0o600);
  deps.log.info({ event: 'control_listening', socket: deps.socketPath }, `control socket on ${deps.socketPath}`);

  let tcpServer: Server | null = null;
  let metricsAddress: string | null = null;
  if (deps.metricsListen) {
    const target = parseListen(deps.metricsListen);
    tcpServer = createServer(handler(deps, false));
    try {
      await listen(tcpServer, target);
    } catch (err) {
      unixServer.close();
      await unlink(deps.socketPath).catch(() => undefined);
      throw new ControlServerError(`cannot listen for metrics on ${deps.metricsListen}: ${String(err)}`, { cause: err });
    }
    const addr = tcpServer.address();
    metricsAddress = addr && typeof addr === 'object' ? `${addr.family === 'IPv6' ? `[${addr.address}]` : addr.address}:${addr.port}` : deps.metricsListen;
    deps.log.info({ event: 'metrics_listening', listen: metricsAddress }, `metrics on http://${metricsAddress}/metrics`);
  }

  let closing: Promise<void> | null = null;
  return {
    metricsAddress,
    close: () =>
      (closing ??= (async () => {
        const closeOne = (s: Server) =>
          new Promise<void>((resolve) => {
            s.close(() => resolve());
            s.closeAllConnections();
          });
        await Promise.all([closeOne(unixServer), tcpServer ? closeOne(tcpServer) : Promise.resolve()]);
        await unlink(deps.socketPath).catch(() => undefined);
      })()),
  };
}
