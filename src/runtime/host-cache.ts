// The last Docker listing, kept between reconciles and patched per event, so
// that an event about one container costs a read of that container, not of
// the whole host.
//
// Invariants:
// - a full listing replaces everything: at start, on reconnect, resync,
//   drift, config, policy, after any failure (listing or commit), after an
//   event that names nothing (unparsable, oversized), and when more
//   containers changed than a full listing costs to read;
// - between full listings, a container named by an event (its own, or a
//   network connect/disconnect) is read again alone: running, it replaces
//   its entry; not running, its entry goes. `die` and `destroy` drop the
//   entry without a read, and for DEAD_MS, or until its next `start`, no
//   read of that container alone brings it back: the engine releases a
//   dying container's network (`network disconnect`) before its list entry
//   stops saying "running" with its old address; a full listing honours
//   those marks too, until the events stream reconnects (a `start` may then
//   have been missed: forgetDeaths). Likewise a `network disconnect`: for
//   DEAD_MS (or until it connects there again) the container's entry has no
//   endpoint on that network, whatever a read a moment later still says. A
//   network created or removed rereads the network list;
// - what an event marks is read by the next listing that starts after it
//   (the scheduler runs one after every event), never lost: a failed read
//   makes the next listing a full one;
// - unchanged entries keep their identity from one listing to the next, so
//   the core can reuse what it computed from them.
import type { DockerEvent, DockerSource } from '../adapters/docker.js';
import type { DockerLists } from '../core/from-docker.js';

/** Past this many containers to reread, one full listing is cheaper than that many calls. */
export const MAX_PATCHED = 16;
/** How long a container that died stays dead to reads, unless it starts again. */
export const DEAD_MS = 10_000;

export class HostCache {
  private networks: readonly unknown[] | null = null;
  private readonly containers = new Map<string, unknown>();
  /** Entries without a usable id: kept so that the core reports them, as a full listing would. */
  private odd: unknown[] = [];
  private dirty = new Set<string>();
  private gone = new Set<string>();
  /** Containers that died, and when: a read that still lists them running is stale. */
  private readonly dead = new Map<string, number>();
  /** Container -> networks it was disconnected from, and when. */
  private readonly detached = new Map<string, Map<string, number>>();
  private networksDirty = false;
  private full = true;

  constructor(
    private readonly docker: DockerSource,
    private readonly now: () => number,
  ) {}

  /** A Docker event arrived: mark what the next listing must read again. */
  note(e: DockerEvent): void {
    if (e.type === 'container' && e.id && (e.action === 'die' || e.action === 'destroy')) {
      this.gone.add(e.id);
      this.dirty.delete(e.id);
      this.dead.set(e.id, this.now());
    } else if (e.type === 'container' && e.id) {
      if (e.action === 'start') this.dead.delete(e.id);
      this.dirty.add(e.id);
      this.gone.delete(e.id);
    } else if (e.type === 'network' && (e.action === 'connect' || e.action === 'disconnect') && e.container) {
      this.dirty.add(e.container);
      const marks = this.detached.get(e.container) ?? new Map<string, number>();
      if (e.action === 'disconnect') marks.set(e.id, this.now());
      else marks.delete(e.id);
      if (marks.size > 0) this.detached.set(e.container, marks);
      else this.detached.delete(e.container);
    } else if (e.type === 'network' && e.action !== 'connect' && e.action !== 'disconnect') this.networksDirty = true;
    else this.full = true; // names nothing we can read alone
  }

  /** The events stream (re)connected: events may have been missed, so no death (or disconnect) is trusted any more. */
  forgetDeaths(): void {
    this.dead.clear();
    this.detached.clear();
    this.full = true;
  }

  /** The next listing is a full one. */
  invalidate(): void {
    this.full = true;
  }

  /** The host as Docker lists it: in full when `full` (or in doubt), else the last listing with what events changed read again. */
  async lists(full: boolean): Promise<DockerLists> {
    const ids = [...this.dirty];
    const gone = [...this.gone];
    const networksDirty = this.networksDirty;
    this.dirty = new Set();
    this.gone = new Set();
    this.networksDirty = false;
    try {
      if (full || this.full || this.networks === null || ids.length > MAX_PATCHED) return await this.relist();
      const [networks, found] = await Promise.all([
        networksDirty ? this.docker.networks() : this.networks,
        Promise.all(ids.map((id) => this.docker.running(id))),
      ]);
      this.networks = networks;
      for (const id of gone) this.containers.delete(id);
      ids.forEach((id, i) => {
        const raw = found[i];
        if (raw && !this.isDead(id)) this.containers.set(id, this.withoutDetached(id, raw));
        else this.containers.delete(id);
      });
      return { networks, containers: [...this.containers.values(), ...this.odd] };
    } catch (err) {
      this.full = true;
      throw err;
    }
  }

  /** `raw` without the endpoints of networks the container was just disconnected from (the same object when there are none). */
  private withoutDetached(id: string, raw: unknown): unknown {
    const marks = this.detached.get(id);
    if (!marks) return raw;
    const t = this.now();
    for (const [net, at] of marks) if (t - at >= DEAD_MS) marks.delete(net);
    if (marks.size === 0) {
      this.detached.delete(id);
      return raw;
    }
    const r = raw as { NetworkSettings?: { Networks?: Record<string, { NetworkID?: unknown }> } };
    const nets = r.NetworkSettings?.Networks;
    if (!nets) return raw;
    const kept = Object.fromEntries(Object.entries(nets).filter(([, ep]) => !marks.has(String(ep?.NetworkID ?? ''))));
    if (Object.keys(kept).length === Object.keys(nets).length) return raw;
    return { ...r, NetworkSettings: { ...r.NetworkSettings, Networks: kept } };
  }

  private isDead(id: string): boolean {
    const at = this.dead.get(id);
    if (at === undefined) return false;
    if (this.now() - at < DEAD_MS) return true;
    this.dead.delete(id);
    return false;
  }

  private async relist(): Promise<DockerLists> {
    this.full = true; // until this listing succeeds
    const lists = await this.docker.lists();
    this.networks = lists.networks;
    this.containers.clear();
    this.odd = [];
    for (const c of lists.containers) {
      const id = (c as { Id?: unknown } | null)?.Id;
      if (typeof id !== 'string' || this.containers.has(id)) this.odd.push(c);
      else if (!this.isDead(id)) this.containers.set(id, this.withoutDetached(id, c));
    }
    for (const id of this.dead.keys()) this.isDead(id); // forget the old ones
    this.full = false;
    return { networks: lists.networks, containers: [...this.containers.values(), ...this.odd] };
  }
}
