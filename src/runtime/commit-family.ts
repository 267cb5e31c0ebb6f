// One family's plan-and-commit step of a reconcile: what the kernel holds (or,
// when memory may be trusted, what was last committed), the drift from that
// last commit, and the restore that brings the kernel to what is desired.
import type { Logger } from 'pino';
import type { Iptables } from '../adapters/iptables.js';
import { committedState } from '../core/committed-state.js';
import type { LiveState } from '../core/live.js';
import { planRestore, type Plan } from '../core/plan.js';
import type { RenderedRuleset } from '../core/render.js';

export interface FamilyCommit {
  readonly committed: boolean;
  /** Moat's chains had drifted from the last commit and were put back. */
  readonly driftRepaired: boolean;
}

/** The tables a plan rewrites, as the drift_repaired log lines show them. */
export const driftedTables = (plan: Plan) => plan.tables.map((t) => ({ table: t.table, chains: t.rewritten, deleted: t.deleted, jumps: t.jumpsFixed }));

/**
 * Commits `rendered` for one family. `before` is the last commit (or live
 * read) for it; `readKernel` false trusts that in place of iptables-save;
 * `forceFull` rewrites every chain. Throws what the read or the restore threw.
 */
export async function commitFamily(
  ipt: Iptables,
  rendered: RenderedRuleset,
  before: RenderedRuleset | undefined,
  opts: { readonly readKernel: boolean; readonly forceFull: boolean },
  log: Logger,
): Promise<FamilyCommit> {
  const live: LiveState = before && !opts.readKernel ? committedState(before) : await ipt.live();
  // Drift: the kernel no longer holds what moat last committed, whatever
  // else this reconcile changes (a jump deleted just before a resync
  // that also carries a container event is still drift, and reported).
  const drift = before && opts.readKernel && !opts.forceFull ? planRestore(before, live) : null;
  const plan = planRestore(rendered, live, opts.forceFull);
  let committed = false;
  if (plan.text !== null) {
    await ipt.restore(plan.text);
    committed = true;
  }
  const driftRepaired = Boolean(drift?.text);
  if (drift?.text) {
    log.warn({ event: 'drift_repaired', family: ipt.family, tables: driftedTables(drift) }, 'moat chains had drifted; repaired');
  }
  return { committed, driftRepaired };
}
