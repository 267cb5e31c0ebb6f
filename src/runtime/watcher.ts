// Keeps the Docker events stream open. A drop (stream end, error, engine
// restart) is logged once, retried with capped exponential backoff, and a
// reconnect always triggers a full resync: events missed meanwhile are lost.
import type { Logger } from 'pino';
import { type DockerEvent, type DockerSource, relevant } from '../adapters/docker.js';

export interface WatcherDeps {
  readonly docker: DockerSource;
  readonly log: Logger;
  readonly trigger: (reason: string) => void;
  readonly sleep: (ms: number) => Promise<void>;
  readonly minBackoffMs?: number;
  readonly maxBackoffMs?: number;
  /** Status hooks: a relevant event arrived; the stream opened or dropped. */
  readonly onEvent?: (trigger: string) => void;
  /** Work an event needs before its reconcile (reading a container being started); the trigger waits for it. */
  readonly prepare?: (e: DockerEvent) => Promise<void> | undefined;
  readonly onConnection?: (connected: boolean) => void;
}

export class Watcher {
  private closeStream: (() => void) | null = null;
  private stopped = false;
  connected = false;
  private wake: (() => void) | null = null;

  constructor(private readonly deps: WatcherDeps) {}

  /** Connects (retrying forever); resolves once the first stream is open. */
  async start(): Promise<void> {
    await this.connect('start');
  }

  private async connect(reason: string): Promise<void> {
    const min = this.deps.minBackoffMs ?? 100;
    const max = this.deps.maxBackoffMs ?? 5_000;
    let delay = min;
    let attempt = 0;
    while (!this.stopped) {
      try {
        await this.deps.docker.ping();
        this.closeStream = await this.deps.docker.events(
          (e) => this.onEvent(e),
          (err) => void this.onEnd(err),
        );
        this.connected = true;
        this.deps.onConnection?.(true);
        this.deps.log.info({ event: 'docker_connected', attempt }, 'following Docker events');
        this.deps.trigger(reason);
        return;
      } catch (err) {
        attempt++;
        if (attempt === 1) this.deps.log.warn({ event: 'docker_unreachable', err: String(err) }, 'cannot reach Docker; retrying');
        await Promise.race([this.deps.sleep(delay), new Promise<void>((r) => (this.wake = r))]);
        delay = Math.min(max, delay * 2);
      }
    }
  }

  private onEvent(e: DockerEvent): void {
    if (!relevant(e)) return;
    const trigger = `${e.type}.${e.action}`;
    this.deps.onEvent?.(trigger);
    const prepared = this.deps.prepare?.(e);
    if (prepared) void prepared.then(() => this.deps.trigger(trigger));
    else this.deps.trigger(trigger);
  }

  private async onEnd(err: Error | null): Promise<void> {
    this.closeStream = null;
    if (this.stopped) return;
    this.connected = false;
    this.deps.onConnection?.(false);
    this.deps.log.warn({ event: 'docker_disconnected', err: err ? String(err) : null }, 'Docker events stream dropped; rules stay as they are');
    await this.connect('reconnect');
  }

  stop(): void {
    this.stopped = true;
    this.closeStream?.();
    this.wake?.();
  }
}
