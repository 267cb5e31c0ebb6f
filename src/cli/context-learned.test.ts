// learnedAddresses: moatd's learned dns: table over the control socket, best effort.
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigSchema } from '../core/config.js';
import { learnedAddresses } from './context.js';

const dirs: string[] = [];
const servers: Server[] = [];
afterEach(() => {
  for (const s of servers.splice(0)) s.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const socketPath = () => {
  const dir = mkdtempSync(join(tmpdir(), 'moat-learned-'));
  dirs.push(dir);
  return join(dir, 'moat.sock');
};
const serve = (path: string, status: number, body: string) =>
  new Promise<void>((resolve) => {
    const s = createServer((_req, res) => res.writeHead(status, { 'content-type': 'application/json' }).end(body));
    servers.push(s);
    s.listen(path, resolve);
  });
const config = (socket: string, listen: string | null = '198.51.100.53') => ConfigSchema.parse({ control: { socket }, dns: { listen } });

describe('learnedAddresses', () => {
  it("reads dns.grants from moatd's status document", async () => {
    const path = socketPath();
    const learned = [{ address: '203.0.113.7', family: 4, name: 'api.example.com', expiresAt: '2026-12-01T15:00:00.000Z', askedBy: 'web' }];
    await serve(path, 200, JSON.stringify({ dns: { enabled: true, grants: [{ pattern: 'api.example.com', sets: { '4': 'moat-dns4-x' }, learned }] } }));
    expect(await learnedAddresses(config(path))).toEqual(
      new Map([['api.example.com', [{ address: '203.0.113.7', name: 'api.example.com', expiresAt: '2026-12-01T15:00:00.000Z' }]]]),
    );
  });

  it('is unknown (undefined) without moatd, on an error answer, or from a moatd that does not report dns', async () => {
    expect(await learnedAddresses(config(socketPath()))).toBeUndefined();
    const failing = socketPath();
    await serve(failing, 503, '{}');
    expect(await learnedAddresses(config(failing))).toBeUndefined();
    const older = socketPath();
    await serve(older, 200, JSON.stringify({ reconcile: {} }));
    expect(await learnedAddresses(config(older))).toBeUndefined();
  });

  it('is empty (known: nothing) while dns.listen is null, without asking', async () => {
    expect(await learnedAddresses(config(socketPath(), null))).toEqual(new Map());
  });
});
