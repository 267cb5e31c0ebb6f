// Desired vs live -> the smallest restore document that makes live equal
// desired, or null when they already match. Only MOAT- chains and the one
// jump from each built-in chain are ever written; foreign rules are never
// named, so `--noflush` leaves them exactly as they were.
import type { LiveState } from './live.js';
import { isMoatChain, type TableName } from './names.js';
import { type RenderedRuleset, TABLES } from './render.js';

export interface TablePlan {
  readonly table: TableName;
  /** Chains declared (created or flushed) and rewritten. */
  readonly rewritten: readonly string[];
  /** Stale moat chains removed. */
  readonly deleted: readonly string[];
  /** Built-in chains whose jump was missing, duplicated or not first. */
  readonly jumpsFixed: readonly string[];
  readonly lines: readonly string[];
}

export interface Plan {
  readonly tables: readonly TablePlan[];
  /** The restore document, or null when nothing differs. */
  readonly text: string | null;
}

const jumpBody = (target: string) => `-j ${target}`;
// The incremental path (desired.ts) hands back the very same line arrays for
// chains that did not change: comparing those costs nothing, whatever the host.
const same = (a: readonly string[] | undefined, b: readonly string[]) => a === b || (a !== undefined && a.length === b.length && a.every((x, i) => x === b[i]));

/** `full` rewrites every moat chain (after a failure, to leave nothing half-known). */
export function planRestore(desired: RenderedRuleset, live: LiveState, full = false): Plan {
  const tables: TablePlan[] = [];
  for (const table of TABLES) {
    const want = desired.tables[table];
    const have = live[table]?.chains ?? new Map<string, readonly string[]>();
    const rewritten = [...want.chains.keys()].filter((name) => full || !same(have.get(name), want.chains.get(name)!));
    const deleted = [...have.keys()].filter((name) => isMoatChain(name) && !want.chains.has(name)).sort();
    const jumpsFixed: string[] = [];
    const jumpLines: string[] = [];
    for (const [builtin, target] of Object.entries(want.jumps)) {
      const rules = have.get(builtin) ?? [];
      const body = jumpBody(target);
      const count = rules.filter((r) => r === body).length;
      if (rules[0] === body && count === 1) continue;
      jumpsFixed.push(builtin);
      for (let i = 0; i < count; i++) jumpLines.push(`-D ${builtin} ${body}`);
      jumpLines.push(`-I ${builtin} 1 ${body}`);
    }
    // Jumps from built-in chains to stale moat chains (none expected) must go before -X.
    for (const [builtin, rules] of have) {
      if (isMoatChain(builtin)) continue;
      for (const r of rules) {
        const target = /^-j (MOAT-\S+)$/.exec(r)?.[1];
        if (target && deleted.includes(target)) jumpLines.push(`-D ${builtin} ${r}`);
      }
    }
    if (rewritten.length === 0 && deleted.length === 0 && jumpsFixed.length === 0 && jumpLines.length === 0) continue;
    const lines: string[] = [`*${table}`];
    // Declaring a chain creates it, or flushes it under --noflush.
    for (const name of [...rewritten, ...deleted]) lines.push(`:${name} - [0:0]`);
    lines.push(...jumpLines);
    for (const name of rewritten) for (const body of want.chains.get(name)!) lines.push(`-A ${name} ${body}`);
    for (const name of deleted) lines.push(`-X ${name}`);
    lines.push('COMMIT');
    tables.push({ table, rewritten, deleted, jumpsFixed, lines });
  }
  return { tables, text: tables.length === 0 ? null : `${tables.flatMap((t) => t.lines).join('\n')}\n` };
}

/** Removes every moat chain and every jump to one (`moat flush`); null when there is none. */
export function planFlush(live: LiveState): Plan {
  const tables: TablePlan[] = [];
  for (const table of TABLES) {
    const have = live[table]?.chains ?? new Map<string, readonly string[]>();
    const deleted = [...have.keys()].filter(isMoatChain).sort();
    const jumpLines: string[] = [];
    const jumpsFixed: string[] = [];
    for (const [chain, rules] of have) {
      if (isMoatChain(chain)) continue;
      for (const r of rules) {
        if (/-j MOAT-\S+$/.test(r)) {
          jumpLines.push(`-D ${chain} ${r}`);
          jumpsFixed.push(chain);
        }
      }
    }
    if (deleted.length === 0 && jumpLines.length === 0) continue;
    const lines = [`*${table}`, ...deleted.map((n) => `:${n} - [0:0]`), ...jumpLines, ...deleted.map((n) => `-X ${n}`), 'COMMIT'];
    tables.push({ table, rewritten: [], deleted, jumpsFixed, lines });
  }
  return { tables, text: tables.length === 0 ? null : `${tables.flatMap((t) => t.lines).join('\n')}\n` };
}

/** The filter chains whose rules differ between two rulesets, or that only one of them has. */
export function changedChains(before: RenderedRuleset, after: RenderedRuleset): Set<string> {
  const was = before.tables.filter.chains;
  const now = after.tables.filter.chains;
  const names = new Set([...was.keys(), ...now.keys()]);
  return new Set([...names].filter((name) => !now.has(name) || !same(was.get(name), now.get(name)!)));
}

/** Targets whose rules only let more through: ACCEPT, and the zone chains that accept or return. */
const WIDENING = / -j (ACCEPT|MOAT-TO-WORLD|MOAT-TO-LAN|MOAT-TO-EXTERNAL|MOAT-FROM-WORLD|MOAT-FROM-LAN)$/;

/**
 * How `after` differs from `before`: 'same'; 'widens' when the only change is
 * allowing rules added to existing filter chains (every rule of `before` is
 * still there, in the same chain and order, and every new one accepts), so
 * committing it later can only delay a grant; else 'narrows' (a removed or
 * reordered rule, a new DROP, REJECT, RETURN or deny jump, a new or deleted
 * chain, any nat or jump change), which must never wait.
 */
export function compareRulesets(before: RenderedRuleset, after: RenderedRuleset): 'same' | 'widens' | 'narrows' {
  let added = 0;
  for (const table of TABLES) {
    const was = before.tables[table];
    const now = after.tables[table];
    if (was.chains.size !== now.chains.size || JSON.stringify(was.jumps) !== JSON.stringify(now.jumps)) return 'narrows';
    for (const [name, rules] of was.chains) {
      const next = now.chains.get(name);
      if (!next) return 'narrows';
      if (same(rules, next)) continue;
      if (table !== 'filter') return 'narrows';
      // The old rules, in their order, must be a subsequence of the new ones.
      let i = 0;
      for (const r of next) {
        if (i < rules.length && r === rules[i]) i++;
        else if (WIDENING.test(r)) added++;
        else return 'narrows';
      }
      if (i < rules.length) return 'narrows';
    }
  }
  return added > 0 ? 'widens' : 'same';
}
