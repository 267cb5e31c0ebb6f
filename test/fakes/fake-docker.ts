// A Docker that answers list calls from fixtures and whose events stream
// can be fed, dropped, or refused, on request.
import type { DockerEvent, DockerSource } from '../../src/adapters/docker.js';
import type { DockerLists } from '../../src/core/from-docker.js';

export class FakeDocker implements DockerSource {
  lists_: DockerLists = { networks: [], containers: [] };
  /** Containers being started, as DockerSource.starting answers them. */
  starting_ = new Map<string, unknown>();
  down = false;
  listCalls = 0;
  private emit: ((e: DockerEvent) => void) | null = null;
  private end: ((err: Error | null) => void) | null = null;
  streamsOpened = 0;

  async lists(): Promise<DockerLists> {
    this.listCalls++;
    if (this.down) throw new Error('connect ENOENT /var/run/docker.sock');
    return structuredClone(this.lists_);
  }

  async starting(id: string): Promise<unknown> {
    if (this.down) throw new Error('connect ENOENT /var/run/docker.sock');
    return structuredClone(this.starting_.get(id) ?? null);
  }

  runningCalls = 0;
  async running(id: string): Promise<unknown> {
    this.runningCalls++;
    if (this.down) throw new Error('connect ENOENT /var/run/docker.sock');
    return structuredClone((this.lists_.containers as { Id?: string }[]).find((c) => c.Id === id) ?? null);
  }

  networkCalls = 0;
  async networks(): Promise<readonly unknown[]> {
    this.networkCalls++;
    if (this.down) throw new Error('connect ENOENT /var/run/docker.sock');
    return structuredClone(this.lists_.networks);
  }

  async ping(): Promise<void> {
    if (this.down) throw new Error('connect ENOENT /var/run/docker.sock');
  }

  async events(onEvent: (e: DockerEvent) => void, onEnd: (err: Error | null) => void): Promise<() => void> {
    if (this.down) throw new Error('connect ENOENT /var/run/docker.sock');
    this.streamsOpened++;
    this.emit = onEvent;
    this.end = onEnd;
    return () => {
      this.emit = null;
      this.end = null;
    };
  }

  send(e: DockerEvent): void {
    this.emit?.(e);
  }

  /** The engine goes away: the stream ends and calls fail until `up()`. */
  crash(): void {
    this.down = true;
    const end = this.end;
    this.emit = null;
    this.end = null;
    end?.(new Error('socket hang up'));
  }

  up(): void {
    this.down = false;
  }
}
