// Cuts the live connections of flows a new ruleset no longer allows. Only
// for addresses a running container still holds (a removed container's
// connections die with it), and in the background, one batch after another:
// a revocation of thousands of grants must not hold up the next reconcile.
import type { Logger } from 'pino';
import type { ConntrackResult } from '../adapters/conntrack.js';
import type { Family, Snapshot } from '../core/model.js';
import { type ConntrackFilter, revokedFilters } from '../core/revocation.js';
import type { Ruleset } from '../core/ruleset.js';

export interface RevokerDeps {
  readonly log: Logger;
  /** Deletes the conntrack entries the filters match; without it nothing is cut. */
  readonly conntrack?: (filters: readonly ConntrackFilter[]) => Promise<ConntrackResult>;
}

/** Every address a running container holds, as conntrack filters name them. */
function liveAddresses(snapshot: Snapshot): Set<string> {
  const out = new Set<string>();
  for (const c of snapshot.containers) for (const e of c.endpoints) for (const ip of [e.ipv4, e.ipv6]) if (ip) out.add(ip);
  return out;
}

export class Revoker {
  /** The ruleset live per family after the last successful commit or check: the base for revocation. */
  private readonly live = new Map<Family, Ruleset>();
  private revoking: Promise<void> = Promise.resolve();

  constructor(private readonly deps: RevokerDeps) {}

  /** `now` is live in `family` (committed or found in place); `changed`: the chains that differ from the last commit, when known. */
  revoke(family: Family, now: Ruleset, snapshot: Snapshot, changed?: ReadonlySet<string>): void {
    const before = this.live.get(family);
    this.live.set(family, now);
    if (!before || !this.deps.conntrack) return;
    const revoked = revokedFilters(before, now, changed);
    if (revoked.length === 0) return;
    const live = liveAddresses(snapshot);
    const filters = revoked.filter((f) => f.args.some((a) => live.has(a)));
    if (filters.length === 0) return;
    const conntrack = this.deps.conntrack;
    this.revoking = this.revoking
      .then(() => conntrack(filters))
      .then(
        (res) =>
          this.deps.log.info(
            { event: 'conntrack_revoked', family, filters: filters.map((f) => f.args.join(' ')), deleted: res.deleted, errors: res.errors },
            `revoked flows: ${res.deleted} live connections cut`,
          ),
        (err: unknown) => this.deps.log.warn({ event: 'conntrack_failed', family, err: String(err) }, 'could not cut the connections of revoked flows'),
      );
  }

  /** Resolves when every revocation started so far has run (tests, shutdown). */
  idle(): Promise<void> {
    return this.revoking;
  }
}
