// A stand-in Docker engine on a unix socket for the synthetic footprint runs:
// it answers the calls moatd makes (`/_ping`, `/networks`, `/containers/json`,
// `/events`, held open) from in-memory lists, and can push events. Nothing
// else: any other path is a 404, so a moatd that needs more shows up at once.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { rm } from 'node:fs/promises';
import type { DockerLists } from './synthetic.js';

export interface FakeDockerEvent {
  readonly Type: 'container' | 'network';
  readonly Action: string;
  readonly id: string;
}

export class FakeDocker {
  private server: Server | null = null;
  private networksJson = '[]';
  private containersJson = '[]';
  /** Each container's JSON by id: an id-filtered list costs what one container costs, as it does in Docker. */
  private containerById = new Map<string, string>();
  private readonly streams = new Set<ServerResponse>();
  /** Requests served, by path (without the API version prefix). */
  readonly served = new Map<string, number>();

  constructor(readonly socketPath: string) {}

  setLists(lists: DockerLists): void {
    this.networksJson = JSON.stringify(lists.networks);
    this.containersJson = JSON.stringify(lists.containers);
    this.containerById = new Map(lists.containers.map((c) => [String((c as { Id?: unknown }).Id), JSON.stringify(c)]));
  }

  get eventStreams(): number {
    return this.streams.size;
  }

  emit(e: FakeDockerEvent): void {
    const nowNs = BigInt(Date.now()) * 1_000_000n;
    const line = JSON.stringify({
      Type: e.Type,
      Action: e.Action,
      Actor: { ID: e.id, Attributes: {} },
      scope: 'local',
      time: Number(nowNs / 1_000_000_000n),
      timeNano: Number(nowNs),
    });
    for (const s of this.streams) s.write(`${line}\n`);
  }

  /** `filters={"id":[…]}` (what moatd asks for one container): the listed containers with that id. */
  private filtered(url: string): string {
    const filters = new URL(url, 'http://fake').searchParams.get('filters');
    const ids = filters ? ((JSON.parse(filters) as { id?: string[] }).id ?? null) : null;
    if (!ids) return this.containersJson;
    return `[${ids.flatMap((id) => this.containerById.get(id) ?? []).join(',')}]`;
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const path = (req.url ?? '/').split('?')[0]!.replace(/^\/v\d+\.\d+/, '');
    this.served.set(path, (this.served.get(path) ?? 0) + 1);
    const json = (body: string) => {
      res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
      res.end(body);
    };
    if (path === '/_ping') {
      res.writeHead(200, { 'Content-Type': 'text/plain', 'Api-Version': '1.41' });
      res.end('OK');
    } else if (path === '/networks') json(this.networksJson);
    else if (path === '/containers/json') json(this.filtered(req.url ?? ''));
    else if (path === '/version') json(JSON.stringify({ ApiVersion: '1.41', Version: '20.10.24', Os: 'linux', Arch: 'amd64' }));
    else if (path === '/events') {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.flushHeaders();
      this.streams.add(res);
      res.on('close', () => this.streams.delete(res));
    } else {
      res.writeHead(404, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ message: `fake docker: no ${req.method} ${path}` }));
    }
  }

  async start(): Promise<void> {
    await rm(this.socketPath, { force: true });
    const server = createServer((req, res) => this.handle(req, res));
    this.server = server;
    await new Promise<void>((resolve, reject) => server.once('error', reject).listen(this.socketPath, resolve));
  }

  async stop(): Promise<void> {
    for (const s of this.streams) s.end();
    this.streams.clear();
    const server = this.server;
    this.server = null;
    if (server) {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
    await rm(this.socketPath, { force: true });
  }
}
