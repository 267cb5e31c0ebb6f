// Start-gate timeouts that bin/moat-runc recorded while moatd did not answer
// (down, restarting, or slow): one JSON line each in `gate-timeouts` beside
// the control socket. moatd drains the file on its next contact and logs
// each as `start_gate_timeout`.
import { readFile, rename, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';

/** Lines read per drain, and bytes per line: a full disk of junk must not become a log flood. */
const MAX_RECORDS = 1_000;
const MAX_LINE = 1_024;

export function gateSpoolPath(socketPath: string): string {
  return join(dirname(socketPath), 'gate-timeouts');
}

/** Takes the records written so far (appends after the rename go to a new file). */
export async function drainGateTimeouts(path: string): Promise<Record<string, unknown>[]> {
  const taken = `${path}.${process.pid}.draining`;
  try {
    await rename(path, taken);
  } catch {
    return []; // nothing recorded
  }
  const text = await readFile(taken, 'utf8').catch(() => '');
  await unlink(taken).catch(() => undefined);
  const out: Record<string, unknown>[] = [];
  for (const line of text.split('\n')) {
    if (out.length >= MAX_RECORDS) break;
    if (!line.trim() || line.length > MAX_LINE) continue;
    try {
      const v: unknown = JSON.parse(line);
      if (v && typeof v === 'object' && !Array.isArray(v)) {
        const r = v as Record<string, unknown>;
        out.push({
          container: String(r.container ?? '').slice(0, 64),
          at: String(r.at ?? '').slice(0, 40),
          waitMs: Number(r.waitMs) || null,
          reason: String(r.reason ?? '').slice(0, 40),
        });
      }
    } catch {
      // a torn line: skipped
    }
  }
  return out;
}
