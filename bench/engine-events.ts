// The private engine's own event stream, recorded with Docker's timestamps
// (timeNano), so moatd's commit can be measured from the event that caused it.
import type Docker from 'dockerode';

export interface EngineEvent {
  readonly type: string;
  readonly action: string;
  readonly id: string;
  /** Docker's timestamp, wall ms. */
  readonly at: number;
}

export async function recordEvents(docker: Docker): Promise<{ events: EngineEvent[]; close(): void }> {
  const stream = (await docker.getEvents({ filters: { type: ['container', 'network'] } })) as NodeJS.ReadableStream & { destroy(): void };
  const events: EngineEvent[] = [];
  let buf = '';
  stream.on('data', (chunk: Buffer) => {
    buf += chunk.toString('utf8');
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl).trim();
      buf = buf.slice(nl + 1);
      if (!line) continue;
      try {
        const e = JSON.parse(line) as { Type?: string; Action?: string; Actor?: { ID?: string }; timeNano?: number };
        events.push({ type: String(e.Type), action: String(e.Action), id: String(e.Actor?.ID ?? ''), at: Number(e.timeNano ?? 0) / 1e6 });
      } catch {
        // ignore a garbled line
      }
    }
  });
  stream.on('error', () => undefined);
  return { events, close: () => stream.destroy() };
}
