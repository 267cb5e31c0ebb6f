// The bench namespace's ruleset, through the production Iptables adapter.
// This code runs inside the bench's own network namespace (the worker is
// started under `nsenter --net`), so it never sees the machine's firewall.
import { Iptables } from '../src/adapters/iptables.js';
import { parseSave, type LiveState } from '../src/core/live.js';
import type { Family } from '../src/core/model.js';
import { planFlush } from '../src/core/plan.js';
import { TABLES } from '../src/core/render.js';
import type { TimedRunner } from './timed-runner.js';

export async function liveState(ipt: Iptables): Promise<LiveState> {
  const live: LiveState = {};
  for (const table of TABLES) Object.assign(live, parseSave(await ipt.save(table)));
  return live;
}

/** Removes every moat chain (what `moat flush` does), so the next commit starts from nothing. */
export async function flushMoat(ipt: Iptables): Promise<void> {
  const plan = planFlush(await liveState(ipt));
  if (plan.text !== null) await ipt.restore(plan.text);
}

export function familiesOf(runner: TimedRunner, families: readonly Family[] = [4, 6]): Iptables[] {
  return families.map((f) => new Iptables(runner.run, f));
}

/** Rules per table as the kernel holds them (every chain, moat's and built-in). */
export async function kernelRuleCount(ipt: Iptables): Promise<Record<string, number>> {
  const live = await liveState(ipt);
  const out: Record<string, number> = {};
  for (const table of TABLES) {
    let n = 0;
    for (const rules of live[table]?.chains.values() ?? []) n += rules.length;
    out[table] = n;
  }
  return out;
}
