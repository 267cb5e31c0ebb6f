// moat's ruleset as data: chains of rules per table, for one address family;
// what the builders (ruleset.ts and the builders it calls, dispatch.ts)
// produce and render.ts writes out. Its own module so that every builder can
// name these types without importing the assembler that imports it.
import type { Family } from './model.js';
import type { TableName } from './names.js';
import type { Rule } from './rule.js';

export interface Chain {
  readonly name: string;
  readonly rules: readonly Rule[];
}

export interface TableRuleset {
  /** moat's chains in render order; each built-in chain in `jumps` jumps to its MOAT- chain first. */
  readonly chains: readonly Chain[];
  readonly jumps: Readonly<Record<string, string>>;
}

export interface Ruleset {
  readonly family: Family;
  readonly tables: Readonly<Record<TableName, TableRuleset>>;
}
