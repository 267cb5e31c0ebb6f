// Docker through dockerode: the two list calls a snapshot needs, the read of
// one container that is being started, and the events stream, kept alive
// across drops and engine restarts.
import { StringDecoder } from 'node:string_decoder';
import Docker from 'dockerode';
import type { DockerLists } from '../core/from-docker.js';

export interface DockerEvent {
  readonly type: string;
  readonly action: string;
  readonly id: string;
  /** Network events: the container that was connected or disconnected. */
  readonly container?: string;
}

export interface DockerSource {
  lists(): Promise<DockerLists>;
  /**
   * A container that is not running yet (being started), as a
   * `GET /containers/json` entry whose addresses come from its networks'
   * endpoints; null when the engine has no such container. See
   * startingContainer.
   */
  starting(id: string): Promise<unknown>;
  /** One running container as a `GET /containers/json` entry; null when it is not running (or gone). */
  running(id: string): Promise<unknown>;
  /** `GET /networks` alone. */
  networks(): Promise<readonly unknown[]>;
  ping(): Promise<void>;
  /** Opens the events stream; `onEnd` fires once when it drops. Returns a closer. */
  events(onEvent: (e: DockerEvent) => void, onEnd: (err: Error | null) => void): Promise<() => void>;
}

/** Longest event line parsed (Docker repeats every container label in its events). */
const MAX_LINE = 16 << 20;

// Acted on: start, die, destroy, rename, update (docs/design.md#listing). Only
// these change what a listing shows: `kill` and `stop` are always followed by
// `die` (or change nothing when the process survives), `restart` by die and
// start, and a paused container keeps its addresses. Skipping them spares a
// reconcile per container in every `docker compose down`.
const CONTAINER_ACTIONS = new Set(['start', 'die', 'destroy', 'rename', 'update']);
const NETWORK_ACTIONS = new Set(['create', 'destroy', 'connect', 'disconnect', 'remove']);

/** True for the events that can change the ruleset (docs/design.md#listing). */
export function relevant(e: DockerEvent): boolean {
  if (e.type === 'container') return CONTAINER_ACTIONS.has(e.action);
  if (e.type === 'network') return NETWORK_ACTIONS.has(e.action);
  if (e.type === 'unknown') return true; // unparsable: resync to be safe
  return false;
}

/**
 * Turns a stream of JSON lines into parsed values. A line can carry every
 * label of a container (megabytes): a decoder keeps multi-byte characters
 * whole across chunks, and a line over `maxLine` is skipped to its end and
 * reported once as `oversized`; a line that does not parse as `unparsable`.
 */
export function jsonLineReader(
  onValue: (value: unknown) => void,
  onBad: (why: 'oversized' | 'unparsable') => void,
  maxLine = MAX_LINE,
): (chunk: Buffer) => void {
  const decoder = new StringDecoder('utf8');
  let buffered = '';
  let skipping = false;
  return (chunk) => {
    let text = decoder.write(chunk);
    if (skipping) {
      const nl = text.indexOf('\n');
      if (nl < 0) return;
      text = text.slice(nl + 1);
      skipping = false;
      onBad('oversized');
    }
    buffered += text;
    let nl: number;
    while ((nl = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, nl).trim();
      buffered = buffered.slice(nl + 1);
      if (!line) continue;
      let value: unknown;
      try {
        value = JSON.parse(line);
      } catch {
        onBad('unparsable');
        continue;
      }
      onValue(value);
    }
    if (buffered.length > maxLine) {
      buffered = '';
      skipping = true;
    }
  };
}

/**
 * Turns the events stream's chunks into events (JSON lines, see
 * jsonLineReader). An oversized or unparsable line becomes one `unknown`
 * event, which triggers a full reconcile.
 */
export function eventLineReader(onEvent: (e: DockerEvent) => void, maxLine = MAX_LINE): (chunk: Buffer) => void {
  return jsonLineReader(
    (value) => {
      if (value === null) return onEvent({ type: 'unknown', action: 'unparsable', id: '' });
      const raw = value as { Type?: string; Action?: string; Actor?: { ID?: string; Attributes?: { container?: unknown } } };
      // "exec_start: sh" and "health_status: healthy" carry a suffix.
      const action = String(raw.Action ?? '').split(':')[0] ?? '';
      const container = raw.Type === 'network' ? raw.Actor?.Attributes?.container : undefined;
      onEvent({ type: String(raw.Type ?? ''), action, id: String(raw.Actor?.ID ?? ''), ...(typeof container === 'string' ? { container } : {}) });
    },
    (why) => onEvent({ type: 'unknown', action: why, id: '' }),
    maxLine,
  );
}

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj => (v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : {});
/** "172.18.0.2/16" -> "172.18.0.2"; libnetwork gives endpoint addresses with their prefix. */
const bare = (cidr: unknown) => (typeof cidr === 'string' ? (cidr.split('/')[0] ?? '') : '');

/**
 * While a container is being started the engine holds its lock: a container
 * inspect waits for the start to finish (20.10 and 28.5 alike), and the
 * container list shows it with empty addresses and no ports until it runs.
 * Its networks' endpoints are already there (libnetwork joined them before
 * the runtime is asked to start the process), so the addresses come from a
 * network inspect, which takes no container lock. Only endpoints libnetwork
 * holds for this container count: an address the list remembers from an
 * earlier run is never used.
 */
export async function startingContainer(docker: Docker, id: string): Promise<unknown> {
  const listed = await listedById(docker, id, true);
  if (!listed) return null;
  const networks: Obj = {};
  for (const [name, ep] of Object.entries(obj(obj(listed.NetworkSettings).Networks))) {
    const ref = typeof obj(ep).NetworkID === 'string' && obj(ep).NetworkID ? String(obj(ep).NetworkID) : name;
    const info = obj(
      await docker
        .getNetwork(ref)
        .inspect()
        .catch(() => null),
    );
    const endpoint = obj(obj(info.Containers)[id]);
    if (typeof info.Id !== 'string' || Object.keys(endpoint).length === 0) continue;
    networks[name] = { NetworkID: info.Id, IPAddress: bare(endpoint.IPv4Address), GlobalIPv6Address: bare(endpoint.IPv6Address) };
  }
  return { ...listed, Ports: [], NetworkSettings: { Networks: networks } };
}

/** One container as `GET /containers/json` lists it (running only unless `all`); null when it is not listed. */
async function listedById(docker: Docker, id: string, all: boolean): Promise<Docker.ContainerInfo | null> {
  const listed = await docker.listContainers({ all, filters: { id: [id] } });
  // The id filter matches prefixes: only the exact container will do.
  return listed.find((c) => c.Id === id) ?? null;
}

/** dockerode with its defaults: `DOCKER_HOST` (unix or tcp) or /var/run/docker.sock. */
export function dockerSource(docker: Docker = new Docker()): DockerSource {
  return {
    async lists() {
      const [networks, containers] = await Promise.all([docker.listNetworks(), docker.listContainers({ all: false })]);
      return { networks, containers };
    },
    starting: (id) => startingContainer(docker, id),
    running: (id) => listedById(docker, id, false),
    networks: () => docker.listNetworks(),
    async ping() {
      await docker.ping();
    },
    async events(onEvent, onEnd) {
      const stream = (await docker.getEvents({ filters: { type: ['container', 'network'] } })) as NodeJS.ReadableStream & { destroy(): void };
      let ended = false;
      const end = (err: Error | null) => {
        if (ended) return;
        ended = true;
        onEnd(err);
      };
      stream.on('data', eventLineReader(onEvent));
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
