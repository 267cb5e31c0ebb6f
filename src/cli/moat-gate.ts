// The start gate's client where curl is missing (bin/moat-runc runs it only
// for the gated call): asks moatd to commit a container's rules and waits for
// the answer, at most the bound. Never fails the start: every error ends in
// exit 0. Kept to node:http and node:fs so that it starts fast.
import { appendFileSync } from 'node:fs';
import { request } from 'node:http';
import { dirname, join } from 'node:path';

const [socketPath = '', id = '', waitArg = '2000'] = process.argv.slice(2);
const waitMs = /^\d+$/.test(waitArg) ? Number(waitArg) : 2000;
const deadline = performance.now() + waitMs;

function record(reason: string): void {
  const line = `${JSON.stringify({ container: id, at: new Date().toISOString(), waitMs, reason })}\n`;
  try {
    appendFileSync(join(dirname(socketPath), 'gate-timeouts'), line);
  } catch {
    // nowhere to record it: the start goes ahead all the same
  }
}

function ask(): void {
  const left = Math.floor(deadline - performance.now());
  if (left <= 0) return record('no-answer');
  const req = request({ socketPath, method: 'POST', path: `/gate/${id}?waitMs=${left}`, timeout: left }, (res) => {
    res.resume();
    res.on('end', () => process.exit(0));
  });
  req.on('timeout', () => {
    record('no-answer');
    process.exit(0);
  });
  req.on('error', (err: NodeJS.ErrnoException) => {
    // Refused: moatd is restarting (or its socket is stale); ask again until the bound.
    if (err.code === 'ECONNREFUSED' || err.code === 'ENOENT') setTimeout(ask, 50);
    else {
      record('error');
      process.exit(0);
    }
  });
  req.end();
}

if (/^[0-9a-f]{64}$/.test(id)) ask();
