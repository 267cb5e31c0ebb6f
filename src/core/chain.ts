// One chain of moat's ruleset as data: what the builders (ruleset.ts,
// network-chains.ts, dispatch.ts) produce and render.ts writes out.
import type { Rule } from './rule.js';

export interface Chain {
  readonly name: string;
  readonly rules: readonly Rule[];
}
