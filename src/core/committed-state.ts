// What the kernel holds right after a commit, without reading it back: the
// reconciler's stand-in for iptables-save on a run Docker events alone asked for.
import type { LiveState, LiveTable } from './live.js';
import type { TableName } from './names.js';
import { type RenderedRuleset, TABLES } from './render.js';

/** What the kernel holds right after `rendered` was committed, as iptables-save would show moat's part of it. */
export function committedState(rendered: RenderedRuleset): LiveState {
  const state: Partial<Record<TableName, LiveTable>> = {};
  for (const table of TABLES) {
    const t = rendered.tables[table];
    const chains = new Map<string, readonly string[]>(t.chains);
    for (const [builtin, target] of Object.entries(t.jumps)) chains.set(builtin, [`-j ${target}`]);
    state[table] = { chains };
  }
  return state;
}
