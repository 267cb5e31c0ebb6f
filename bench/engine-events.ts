// The private engine's own event stream, recorded with Docker's timestamps
// (timeNano), so moatd's commit can be measured from the event that caused it.
import type Docker from 'dockerode';
import { jsonLineReader } from '../src/adapters/docker.js';

export interface EngineEvent {
  readonly type: string;
  readonly action: string;
  readonly id: string;
  /** Network events: the container that was connected or disconnected. */
  readonly container?: string;
  /** Docker's timestamp, wall ms. */
  readonly at: number;
}

export async function recordEvents(docker: Docker): Promise<{ events: EngineEvent[]; close(): void }> {
  const stream = (await docker.getEvents({ filters: { type: ['container', 'network'] } })) as NodeJS.ReadableStream & { destroy(): void };
  const events: EngineEvent[] = [];
  // moatd's own line reader; a garbled line is ignored here.
  stream.on(
    'data',
    jsonLineReader(
      (value) => {
        if (value === null) return;
        const e = value as { Type?: string; Action?: string; Actor?: { ID?: string; Attributes?: { container?: unknown } }; timeNano?: number };
        const container = e.Type === 'network' ? e.Actor?.Attributes?.container : undefined;
        events.push({
          type: String(e.Type),
          action: String(e.Action),
          id: String(e.Actor?.ID ?? ''),
          ...(typeof container === 'string' ? { container } : {}),
          at: Number(e.timeNano ?? 0) / 1e6,
        });
      },
      () => undefined,
    ),
  );
  stream.on('error', () => undefined);
  return { events, close: () => stream.destroy() };
}

/**
 * The event moatd first reacts to for a container being started: its network
 * `connect` (Docker sends it as the start begins, before the process runs;
 * moatd commits the container's rules on it), else its `start`.
 */
export function startingEvent(events: readonly EngineEvent[], id: string): EngineEvent | undefined {
  return events.find((e) => e.type === 'network' && e.action === 'connect' && e.container === id) ?? events.find((e) => e.id === id && e.action === 'start');
}
