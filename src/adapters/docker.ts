// Docker through dockerode: the two list calls a snapshot needs, and the
// events stream, kept alive across drops and engine restarts.
import Docker from 'dockerode';
import type { DockerLists } from '../core/from-docker.js';

export interface DockerEvent {
  readonly type: string;
  readonly action: string;
  readonly id: string;
}

export interface DockerSource {
  lists(): Promise<DockerLists>;
  ping(): Promise<void>;
  /** Opens the events stream; `onEnd` fires once when it drops. Returns a closer. */
  events(onEvent: (e: DockerEvent) => void, onEnd: (err: Error | null) => void): Promise<() => void>;
}

const CONTAINER_ACTIONS = new Set(['start', 'die', 'stop', 'kill', 'destroy', 'rename', 'update', 'pause', 'unpause', 'restart']);
const NETWORK_ACTIONS = new Set(['create', 'destroy', 'connect', 'disconnect', 'remove']);

/** True for the events that can change the ruleset (SPEC §1). */
export function relevant(e: DockerEvent): boolean {
  if (e.type === 'container') return CONTAINER_ACTIONS.has(e.action);
  if (e.type === 'network') return NETWORK_ACTIONS.has(e.action);
  if (e.type === 'unknown') return true; // unparsable: resync to be safe
  return false;
}

/** dockerode with its defaults: `DOCKER_HOST` (unix or tcp) or /var/run/docker.sock. */
export function dockerSource(docker: Docker = new Docker()): DockerSource {
  return {
    async lists() {
      const [networks, containers] = await Promise.all([docker.listNetworks(), docker.listContainers({ all: false })]);
      return { networks, containers };
    },
    async ping() {
      await docker.ping();
    },
    async events(onEvent, onEnd) {
      const stream = (await docker.getEvents({ filters: { type: ['container', 'network'] } })) as NodeJS.ReadableStream & { destroy(): void };
      let buffered = '';
      let ended = false;
      const end = (err: Error | null) => {
        if (ended) return;
        ended = true;
        onEnd(err);
      };
      stream.on('data', (chunk: Buffer) => {
        buffered += chunk.toString('utf8');
        let nl: number;
        while ((nl = buffered.indexOf('\n')) >= 0) {
          const line = buffered.slice(0, nl).trim();
          buffered = buffered.slice(nl + 1);
          if (!line) continue;
          try {
            const raw = JSON.parse(line) as { Type?: string; Action?: string; Actor?: { ID?: string } };
            // "exec_start: sh" and "health_status: healthy" carry a suffix.
            const action = String(raw.Action ?? '').split(':')[0] ?? '';
            onEvent({ type: String(raw.Type ?? ''), action, id: String(raw.Actor?.ID ?? '') });
          } catch {
            // A garbled line cannot be trusted; the next reconcile lists everything anyway.
            onEvent({ type: 'unknown', action: 'unparsable', id: '' });
          }
        }
        if (buffered.length > 1 << 20) buffered = '';
      });
      stream.on('end', () => end(null));
      stream.on('close', () => end(null));
      stream.on('error', (err: Error) => end(err));
      return () => {
        ended = true;
        stream.destroy();
      };
    },
  };
}
