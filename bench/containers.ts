// Containers on the bed's private engine, straight through dockerode (the
// bench drives three engines from one process; testcontainers binds one).
import type Docker from 'dockerode';
import { PassThrough } from 'node:stream';
import { sleep } from './clock.js';

/** Docker API calls get a deadline: a wedged engine fails the section instead of hanging the bench. */
export const API_TIMEOUT_MS = 60_000;

export class EngineTimeout extends Error {
  override name = 'EngineTimeout';
}

export async function withTimeout<T>(what: string, p: Promise<T>, ms = API_TIMEOUT_MS): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new EngineTimeout(`${what}: no answer from the engine within ${ms} ms`)), ms))),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

export interface RunSpec {
  readonly name: string;
  readonly image: string;
  readonly cmd: readonly string[];
  readonly network: string;
  readonly labels?: Readonly<Record<string, string>>;
  /** Fixed IPv4 address on `network` (its subnet must be user-defined). */
  readonly ip?: string;
  /** Networks joined between create and start. */
  readonly alsoOn?: readonly string[];
  /** OCI runtime (HostConfig.Runtime, a daemon.json `runtimes` name); the engine's default when absent. */
  readonly runtime?: string;
}

export async function createContainer(docker: Docker, spec: RunSpec): Promise<Docker.Container> {
  const container = await withTimeout(
    `create ${spec.name}`,
    docker.createContainer({
      name: spec.name,
      Image: spec.image,
      Cmd: [...spec.cmd],
      Labels: { ...spec.labels },
      HostConfig: { NetworkMode: spec.network, ...(spec.runtime ? { Runtime: spec.runtime } : {}) },
      ...(spec.ip ? { NetworkingConfig: { EndpointsConfig: { [spec.network]: { IPAMConfig: { IPv4Address: spec.ip } } } } } : {}),
    }),
  );
  for (const net of spec.alsoOn ?? []) await withTimeout(`connect ${spec.name}`, docker.getNetwork(net).connect({ Container: container.id }));
  return container;
}

export async function start(container: Docker.Container): Promise<void> {
  await withTimeout(`start ${container.id.slice(0, 12)}`, container.start());
}

/** Force-removes a container; an engine that does not answer in time is an error, a container already gone is not. */
export async function remove(docker: Docker, id: string): Promise<void> {
  await withTimeout(
    `remove ${id.slice(0, 12)}`,
    docker
      .getContainer(id)
      .remove({ force: true, v: true })
      .catch(() => undefined),
  );
}

/**
 * Removes many containers at most 4 at a time: dockerd 20.10 deadlocked here
 * (goroutines stuck in releaseNetwork) on 50 concurrent force-removals.
 */
export async function removeAll(docker: Docker, ids: readonly string[]): Promise<void> {
  await pool(ids, 4, (id) => remove(docker, id));
}

/** Follows a container's stdout; `lines()` is everything seen so far. Call close() when done. */
export async function followOutput(container: Docker.Container, docker: Docker): Promise<{ lines(): string[]; close(): void }> {
  const stream = (await container.logs({ follow: true, stdout: true, stderr: false })) as NodeJS.ReadableStream & { destroy(): void };
  let text = '';
  const out = new PassThrough().setEncoding('utf8').on('data', (d: string) => (text += d));
  docker.modem.demuxStream(stream, out, new PassThrough());
  return { lines: () => text.split('\n').filter(Boolean), close: () => stream.destroy() };
}

/** Waits until `test` holds for the container's output (bounded). */
export async function waitOutput(follow: { lines(): string[] }, test: (lines: string[]) => boolean, timeoutMs: number): Promise<string[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const lines = follow.lines();
    if (test(lines)) return lines;
    if (Date.now() > deadline) throw new Error(`container output did not arrive within ${timeoutMs} ms: ${JSON.stringify(lines)}`);
    await sleep(5);
  }
}

/** A probe server (busybox httpd via the image's `serve`), ready when it says so. */
export async function startServer(
  docker: Docker,
  spec: Omit<RunSpec, 'cmd'> & { ports?: readonly number[] },
): Promise<{ id: string; ip: string; pid: number }> {
  const c = await createContainer(docker, { ...spec, cmd: ['serve', ...(spec.ports ?? [80]).map(String)] });
  await start(c);
  const follow = await followOutput(c, docker);
  try {
    await waitOutput(follow, (l) => l.includes('ready'), 15_000);
  } finally {
    follow.close();
  }
  const info = await c.inspect();
  return { id: c.id, ip: info.NetworkSettings.Networks[spec.network]!.IPAddress, pid: info.State.Pid };
}

/** Runs `fn` over `items` with at most `limit` in flight. */
export async function pool<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}
