import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { dispatch, FANOUT, type Leaf } from './dispatch.js';
import type { Rule } from './rule.js';
import { matchesPattern } from './ruleset.js';

const leaf = (iface: string): Leaf => ({ iface, rule: { in: iface, comment: `moat:net:${iface}`, jump: `MOAT-OUT-${iface}` } });

/** Walks `rules` for a packet arriving on `iface` as netfilter would: the leaf reached (or null) and the rules evaluated. */
function walk(d: ReturnType<typeof dispatch>, iface: string): { leaf: string | null; evaluated: number } {
  const chains = new Map(d.chains.map((c) => [c.name, c.rules]));
  let evaluated = 0;
  const visit = (rules: readonly Rule[]): string | null => {
    for (const r of rules) {
      evaluated++;
      if (!matchesPattern(r.in!, iface)) continue;
      const sub = chains.get(r.jump);
      if (!sub) return r.jump;
      const found = visit(sub);
      if (found) return found;
    }
    return null;
  };
  return { leaf: visit(d.rules), evaluated };
}

const hex = (n: number, seed: number) => {
  let x = (n + 1) * 2654435761 + seed;
  let s = '';
  for (let i = 0; i < 12; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    s += (x >>> 16).toString(16).slice(-1);
  }
  return s;
};

describe('interface dispatch', () => {
  it('keeps a flat list up to the fanout, in the given order', () => {
    const leaves = ['br-b', 'docker0', 'br-a'].map(leaf);
    expect(dispatch(leaves, 'in', 'MOAT-FI-')).toEqual({ rules: leaves.map((l) => l.rule), chains: [] });
  });

  it('sends every bridge to its own rule, and no other name anywhere', () => {
    const name = fc.stringMatching(/^[A-Za-z0-9_.-]{1,15}$/);
    const names = fc.uniqueArray(fc.oneof(name, fc.constantFrom('br-', 'br-a', 'br-ab', 'docker0')), { minLength: 0, maxLength: 120 });
    fc.assert(
      fc.property(names, fc.array(name, { maxLength: 10 }), fc.integer({ min: 1, max: 20 }), (members, strangers, fanout) => {
        const d = dispatch(members.map(leaf), 'in', 'MOAT-FI-', fanout);
        for (const m of members) expect(walk(d, m).leaf).toBe(`MOAT-OUT-${m}`);
        for (const s of strangers.filter((x) => !members.includes(x))) expect(walk(d, s).leaf).toBeNull();
        for (const c of d.chains) {
          expect(c.name.length).toBeLessThanOrEqual(28);
          expect(c.rules.length).toBeLessThanOrEqual(Math.max(fanout, 16 * 4 + 1));
        }
        for (const r of d.rules) expect((r.in ?? '').length).toBeLessThanOrEqual(16);
      }),
      { numRuns: 300 },
    );
  });

  it('finds a bridge among 500 or 5,000 Docker networks in a few dozen rules', () => {
    for (const [count, bound] of [
      [500, 2 + 16 + 16 + 4],
      [5000, 2 + 16 + 16 + 16 + 4],
    ] as const) {
      const names = [...new Set(Array.from({ length: count }, (_, i) => `br-${hex(i, count)}`))];
      const d = dispatch([leaf('docker0'), ...names.map(leaf)], 'in', 'MOAT-FI-');
      const worst = Math.max(...names.map((n) => walk(d, n).evaluated));
      expect(worst).toBeLessThanOrEqual(bound);
      expect(worst).toBeGreaterThan(FANOUT / 4);
      expect(walk(d, 'br-unknown0000').leaf).toBeNull();
    }
  });
});
