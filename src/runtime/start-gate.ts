// Containers that are being started, before the engine lists them as
// running, and the start gate that holds a container's process until a
// commit holds its rules.
//
// Invariants:
// - an entry comes only from the engine's own answer for that container: its
//   labels from the container list, its addresses from the endpoints
//   libnetwork holds for it now (see startingContainer); nothing is guessed;
// - an entry lasts until the listing shows the container running (the
//   listing is then the source), a `die`/`destroy`/`disconnect` event for it,
//   or STARTING_TTL_MS: a start that never completes cannot keep an address's
//   grants alive for long;
// - a gated start waits for the first reconcile that begins after its entry
//   is in (the scheduler gathers what arrives during a commit into the next
//   one), and no longer: the answer says whether that commit succeeded. When
//   a successful reconcile that began after the same entry (same endpoints)
//   was tracked at its network connect already holds it, the answer is
//   immediate: that commit is the one;
// - the gate never blocks a start by itself: the wrapper bounds the wait.
import type { Logger } from 'pino';
import type { ReconcileOutcome } from './reconciler.js';
import { GATE_TRIGGER } from './triggers.js';

/** How long a container may stay "being started" without the listing showing it running. */
export const STARTING_TTL_MS = 60_000;

export type GateVerdict = 'committed' | 'failed' | 'unknown' | 'no-network';

export interface GateAnswer {
  readonly id: string;
  readonly verdict: GateVerdict;
  /** From the request's arrival to the answer. */
  readonly waitedMs: number;
}

export interface StartGateDeps {
  /** The engine's view of a container being started (DockerSource.starting); null when there is none. */
  readonly resolve: (id: string) => Promise<unknown>;
  /** Asks for a reconcile and resolves with the outcome of the one that ran for it (null when none ran). */
  readonly reconcile: (trigger: string) => Promise<ReconcileOutcome | null>;
  readonly now: () => number;
  readonly log: Logger;
  /** Timeouts the wrapper recorded while moatd did not answer, drained at each contact. */
  readonly drainTimeouts?: () => Promise<readonly Record<string, unknown>[]>;
  readonly ttlMs?: number;
  /** True when the last reconcile (or the one under way, once it ends) succeeded, began at or after `since`, and its snapshot holds the container. */
  readonly committedSince?: (id: string, since: number) => Promise<boolean>;
  /** Told about every answer (metrics). */
  readonly onAnswer?: (answer: GateAnswer) => void;
}

interface Entry {
  readonly raw: unknown;
  readonly at: number;
}

const ID = /^[0-9a-f]{64}$/;

/** A container entry's endpoints, compared as text (the same engine writes both). */
const endpointsOf = (raw: unknown): string => JSON.stringify((raw as { NetworkSettings?: { Networks?: unknown } } | null)?.NetworkSettings?.Networks ?? null);

const endpointCount = (raw: unknown): number => {
  const nets = (raw as { NetworkSettings?: { Networks?: Record<string, unknown> } } | null)?.NetworkSettings?.Networks;
  return nets && typeof nets === 'object' ? Object.keys(nets).length : 0;
};

export class StartGate {
  private readonly entries = new Map<string, Entry>();
  /** When each container was last forgotten: a read that began before that is stale. */
  private readonly forgotten = new Map<string, number>();

  constructor(private readonly deps: StartGateDeps) {}

  /** Reads a container being started and keeps it until it is listed running; true when it has an endpoint to enforce. */
  async track(id: string): Promise<boolean> {
    if (!ID.test(id)) return false;
    const began = this.deps.now();
    const raw = await this.deps.resolve(id).catch((err: unknown) => {
      this.deps.log.warn(
        { event: 'starting_unreadable', container: id, err: String(err) },
        'could not read a container being started; its rules follow its start event',
      );
      return null;
    });
    return this.keep(id, raw, began);
  }

  /** Keeps what a read began at `began` found, unless the container was forgotten since. */
  private keep(id: string, raw: unknown, began: number): boolean {
    if (raw === null || raw === undefined || endpointCount(raw) === 0) return false;
    if ((this.forgotten.get(id) ?? Number.NEGATIVE_INFINITY) >= began) return false;
    this.entries.set(id, { raw, at: this.deps.now() });
    return true;
  }

  /** The container stopped being started (die, destroy, disconnect). */
  forget(id: string): void {
    this.entries.delete(id);
    const t = this.deps.now();
    this.forgotten.set(id, t);
    const oldest = t - (this.deps.ttlMs ?? STARTING_TTL_MS);
    for (const [k, at] of this.forgotten) if (at < oldest) this.forgotten.delete(k);
  }

  /**
   * The containers being started that the listing does not show yet, as list
   * entries; entries the listing shows, and stale ones, are dropped here.
   */
  starting(listed: ReadonlySet<string>): unknown[] {
    const out: unknown[] = [];
    const oldest = this.deps.now() - (this.deps.ttlMs ?? STARTING_TTL_MS);
    for (const [id, e] of this.entries) {
      if (listed.has(id) || e.at < oldest) this.entries.delete(id);
      else out.push(e.raw);
    }
    return out;
  }

  /** How many containers are being started (status). */
  size(): number {
    return this.entries.size;
  }

  /**
   * The gate: answers once a commit holds the container's rules. `waitMs` is
   * the wrapper's bound: an answer later than that is logged as a timeout
   * (the start went ahead without it).
   */
  async admit(id: string, waitMs: number): Promise<GateAnswer> {
    const started = this.deps.now();
    void this.reportTimeouts();
    const answer = (verdict: GateVerdict): GateAnswer => {
      const waitedMs = Math.round((this.deps.now() - started) * 10) / 10;
      const a = { id, verdict, waitedMs };
      this.deps.onAnswer?.(a);
      if (waitedMs > waitMs)
        this.deps.log.warn(
          { event: 'start_gate_timeout', container: id, waitedMs, waitMs, source: 'moatd', verdict },
          `start of ${id.slice(0, 12)} was let go before its rules were committed`,
        );
      else this.deps.log.debug({ event: 'start_gate', container: id, verdict, waitedMs }, 'start gate answered');
      return a;
    };
    if (!ID.test(id)) return answer('unknown');
    const tracked = this.entries.get(id);
    const resolved = await this.deps.resolve(id).catch(() => undefined);
    if (resolved === undefined || resolved === null) return answer('unknown');
    // Already committed at its network connect, with these very endpoints: nothing to wait for.
    if (tracked && endpointsOf(tracked.raw) === endpointsOf(resolved) && (await this.deps.committedSince?.(id, tracked.at))) return answer('committed');
    if (!this.keep(id, resolved, started)) return answer('no-network');
    const outcome = await this.deps.reconcile(GATE_TRIGGER).catch(() => null);
    return answer(outcome?.ok ? 'committed' : 'failed');
  }

  /** Logs the timeouts the wrapper recorded while moatd was down or slow. */
  async reportTimeouts(): Promise<void> {
    const records = (await this.deps.drainTimeouts?.().catch(() => [])) ?? [];
    for (const r of records)
      this.deps.log.warn(
        { ...r, event: 'start_gate_timeout', source: 'moat-runc' },
        'a container start went ahead without moatd: it waited for the bound and got no answer',
      );
  }
}
