// bin/moat-runc against a fake runtime and a fake moatd socket: arguments
// pass through untouched, exit statuses come back, only start/run ask the
// gate, the start waits for the answer, and a moatd that does not answer
// costs at most the bound and leaves a record for moatd to log.
import { execFile } from 'node:child_process';
import { chmod, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

const WRAPPER = fileURLToPath(new URL('../../bin/moat-runc', import.meta.url));
const ID = 'ab'.repeat(32);
const GLOBAL = ['--root', '/run/x/runc', '--log', '/run/x/log.json', '--log-format', 'json'];

let dir: string;
let server: Server | null = null;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'moat-runc-'));
  // The fake runtime writes its argv (one per line) and when it ran, then exits 3.
  await writeFile(join(dir, 'runtime'), `#!/bin/sh\nprintf '%s\\n' "$@" > "${dir}/argv"\nnode -e 'console.log(Date.now())' > "${dir}/ran-at"\nexit 3\n`);
  await chmod(join(dir, 'runtime'), 0o755);
});

afterEach(async () => {
  await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
  server = null;
  await rm(dir, { recursive: true, force: true });
});

function wrapper(args: readonly string[], env: Record<string, string> = {}): Promise<{ code: number }> {
  return new Promise((resolve) => {
    execFile(
      WRAPPER,
      ['--moat-socket', join(dir, 'moat.sock'), '--moat-runtime', join(dir, 'runtime'), ...args],
      { env: { ...process.env, ...env } },
      (err) => {
        resolve({ code: err ? Number((err as { code?: number }).code) : 0 });
      },
    );
  });
}

/** A moatd that answers POST /gate/<id> after `delayMs` (never, when null), recording what it was asked and when it answered. */
async function fakeMoatd(delayMs: number | null): Promise<{ asked: string[]; answeredAt: number[] }> {
  const asked: string[] = [];
  const answeredAt: number[] = [];
  server = createServer((req, res) => {
    asked.push(`${req.method} ${req.url}`);
    if (delayMs === null) return;
    setTimeout(() => {
      answeredAt.push(Date.now());
      res.end(JSON.stringify({ id: ID, verdict: 'committed' }));
    }, delayMs);
  });
  await new Promise<void>((r) => server!.listen(join(dir, 'moat.sock'), r));
  return { asked, answeredAt };
}

const argv = async () => (await readFile(join(dir, 'argv'), 'utf8')).trimEnd().split('\n');
const ranAt = async () => Number(await readFile(join(dir, 'ran-at'), 'utf8'));
const records = async () =>
  (await readFile(join(dir, 'gate-timeouts'), 'utf8').catch(() => ''))
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>);

describe('moat-runc', () => {
  it('passes every other call through untouched, without asking moatd, and returns its exit status', async () => {
    const moatd = await fakeMoatd(0);
    for (const cmd of [
      ['state', ID],
      ['kill', ID, '9'],
      ['delete', '--force', ID],
      ['create', '--bundle', '/b', '--pid-file', '/p', ID],
      ['--version'],
      ['features'],
    ]) {
      expect(await wrapper([...GLOBAL, ...cmd])).toEqual({ code: 3 });
      expect(await argv()).toEqual([...GLOBAL, ...cmd]);
    }
    expect(moatd.asked).toEqual([]);
  });

  for (const client of ['curl', 'node']) {
    it(`holds start until moatd answers (${client} client), then runs it unchanged`, async () => {
      const moatd = await fakeMoatd(300);
      expect(await wrapper([...GLOBAL, 'start', ID], { MOAT_GATE_CLIENT: client })).toEqual({ code: 3 });
      expect(moatd.asked).toHaveLength(1);
      expect(moatd.asked[0]).toMatch(new RegExp(`^POST /gate/${ID}\\?waitMs=\\d+$`));
      expect(await ranAt()).toBeGreaterThanOrEqual(moatd.answeredAt[0]!);
      expect(await argv()).toEqual([...GLOBAL, 'start', ID]);
      expect(await records()).toEqual([]);
    });

    it(`lets the start go after the bound when moatd does not answer, and records it (${client} client)`, async () => {
      const moatd = await fakeMoatd(null);
      const before = Date.now();
      expect(await wrapper(['--moat-wait-ms', '400', ...GLOBAL, 'start', ID], { MOAT_GATE_CLIENT: client })).toEqual({ code: 3 });
      expect(await ranAt()).toBeGreaterThanOrEqual(before + 400);
      expect(moatd.asked).toHaveLength(1);
      expect(await records()).toMatchObject([{ container: ID, waitMs: 400, reason: 'no-answer' }]);
    });

    it(`retries a socket nobody listens on (moatd restarting) until the bound (${client} client)`, async () => {
      // A socket file left by a killed moatd: bound, never listening (connect is refused).
      await new Promise((r) => execFile('python3', ['-c', 'import socket,sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])', join(dir, 'moat.sock')], r));
      expect((await stat(join(dir, 'moat.sock'))).isSocket()).toBe(true);
      const before = Date.now();
      expect(await wrapper(['--moat-wait-ms', '300', 'start', ID], { MOAT_GATE_CLIENT: client })).toEqual({ code: 3 });
      expect(await argv()).toEqual(['start', ID]);
      expect(await ranAt()).toBeGreaterThanOrEqual(before + 300);
      expect(await records()).toMatchObject([{ container: ID, reason: 'no-answer' }]);
    });
  }

  it('does not wait at all when moatd is not running (no socket)', async () => {
    expect(await wrapper(['--moat-wait-ms', '5000', ...GLOBAL, 'start', ID])).toEqual({ code: 3 });
    expect(await argv()).toEqual([...GLOBAL, 'start', ID]);
    expect(await records()).toEqual([]);
  });

  it('gates run too, and leaves ids that are not Docker container ids alone', async () => {
    const moatd = await fakeMoatd(0);
    await wrapper(['run', '--bundle', '/b', ID]);
    await wrapper(['start', 'not-a-docker-id']);
    await wrapper(['--root', 'start', 'start', 'x']); // "start" as an option's value is not the command
    expect(moatd.asked.map((a) => a.split('?')[0])).toEqual([`POST /gate/${ID}`]);
  });
});
