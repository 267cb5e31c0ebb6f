// GET on moatd's control socket (a unix socket), bounded in time.
import { request } from 'node:http';

export class ControlUnreachable extends Error {
  override name = 'ControlUnreachable';
}

export function controlGet(socketPath: string, path: string, timeoutMs = 5_000): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, path, method: 'GET', timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', (err) => reject(new ControlUnreachable(String(err), { cause: err })));
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', (err: NodeJS.ErrnoException) => {
      const why =
        err.code === 'ENOENT'
          ? 'no socket there'
          : err.code === 'ECONNREFUSED'
            ? 'nothing listening'
            : err.code === 'EACCES'
              ? 'permission denied (run as root)'
              : err.message;
      reject(new ControlUnreachable(`cannot reach moatd on ${socketPath}: ${why}`, { cause: err }));
    });
    req.end();
  });
}
