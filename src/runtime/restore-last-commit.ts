import type { Logger } from 'pino';
import type { Iptables } from '../adapters/iptables.js';
import type { Family } from '../core/model.js';
import { planRestore } from '../core/plan.js';
import type { RenderedRuleset } from '../core/render.js';
import { driftedTables } from './commit-family.js';

/**
 * Docker is unreachable: put back exactly the last committed rules (`expected`,
 * per family) where they drifted, nothing new. True when something was put back.
 */
export async function restoreLastCommit(iptables: readonly Iptables[], expected: ReadonlyMap<Family, RenderedRuleset>, log: Logger): Promise<boolean> {
  let repaired = false;
  for (const ipt of iptables) {
    const want = expected.get(ipt.family);
    if (!want) continue;
    const plan = planRestore(want, await ipt.live());
    if (plan.text === null) continue;
    await ipt.restore(plan.text);
    repaired = true;
    log.warn(
      { event: 'drift_repaired', family: ipt.family, source: 'last-commit', tables: driftedTables(plan) },
      'moat chains had drifted while Docker is unreachable; the last committed rules are back',
    );
  }
  return repaired;
}
