// Ruleset -> iptables-restore text in a stable order. The same bodies are
// what iptables-save prints, so the rendered text doubles as the expected
// live state (golden files, `moat plan`, drift detection).
import type { Chain } from './chain.js';
import { cached } from './memo.js';
import type { Family } from './model.js';
import type { TableName } from './names.js';
import { renderRule, type Rule } from './rule.js';
import type { Ruleset } from './ruleset.js';

/** Rendered form of one table: chain name -> rule bodies, in order. */
export interface RenderedTable {
  readonly chains: ReadonlyMap<string, readonly string[]>;
  readonly jumps: Readonly<Record<string, string>>;
}

export interface RenderedRuleset {
  readonly family: Family;
  readonly tables: Readonly<Record<TableName, RenderedTable>>;
}

export const TABLES: readonly TableName[] = ['filter', 'nat'];

/**
 * Rendered text kept per Chain and per Rule object, by family (see
 * desired.ts): a chain the ruleset handed back unchanged renders to the very
 * same line array, which planning then compares at no cost.
 */
export interface RenderMemo {
  readonly chains: Readonly<Record<Family, WeakMap<Chain, readonly string[]>>>;
  readonly rules: Readonly<Record<Family, WeakMap<Rule, string>>>;
}

export const createRenderMemo = (): RenderMemo => ({ chains: { 4: new WeakMap(), 6: new WeakMap() }, rules: { 4: new WeakMap(), 6: new WeakMap() } });

export function renderRuleset(ruleset: Ruleset): RenderedRuleset {
  const tables = {} as Record<TableName, RenderedTable>;
  for (const table of TABLES) {
    const t = ruleset.tables[table];
    const chains = new Map<string, readonly string[]>();
    for (const chain of t.chains)
      chains.set(
        chain.name,
        chain.rules.map((r) => renderRule(r, ruleset.family)),
      );
    tables[table] = { chains, jumps: t.jumps };
  }
  return { family: ruleset.family, tables };
}

export function renderRulesetWith(ruleset: Ruleset, memo: RenderMemo): RenderedRuleset {
  const tables = {} as Record<TableName, RenderedTable>;
  const family = ruleset.family;
  const rules = memo.rules[family];
  for (const table of TABLES) {
    const t = ruleset.tables[table];
    const chains = new Map<string, readonly string[]>();
    for (const chain of t.chains)
      chains.set(
        chain.name,
        cached(memo.chains[family], chain, () => chain.rules.map((r) => cached(rules, r, () => renderRule(r, family)))),
      );
    tables[table] = { chains, jumps: t.jumps };
  }
  return { family: ruleset.family, tables };
}

/** The whole desired state as one restore document (what `moat plan` shows). */
export function renderText(rendered: RenderedRuleset): string {
  const lines: string[] = [];
  for (const table of TABLES) {
    const t = rendered.tables[table];
    lines.push(`*${table}`);
    for (const name of t.chains.keys()) lines.push(`:${name} - [0:0]`);
    for (const [builtin, target] of Object.entries(t.jumps)) lines.push(`-I ${builtin} 1 -j ${target}`);
    for (const [name, rules] of t.chains) for (const body of rules) lines.push(`-A ${name} ${body}`);
    lines.push('COMMIT');
  }
  return `${lines.join('\n')}\n`;
}

export function countRules(rendered: RenderedRuleset): Record<TableName, number> {
  const out = {} as Record<TableName, number>;
  for (const table of TABLES) {
    let n = Object.keys(rendered.tables[table].jumps).length;
    for (const rules of rendered.tables[table].chains.values()) n += rules.length;
    out[table] = n;
  }
  return out;
}
