import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { cidrContains, parseCidr } from './addr.js';
import { cidrDispatch, dispatch, FANOUT, type Leaf, portDispatch } from './dispatch.js';
import type { Rule } from './rule.js';
import { matchesPattern } from './bridges.js';

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

/** Every rule a packet with `port` (or source `addr`) evaluates, in order, following dispatch jumps: the leaves it can match. */
function reached(d: ReturnType<typeof dispatch>, matches: (r: Rule) => boolean): { leaves: Rule[]; evaluated: number } {
  const chains = new Map(d.chains.map((c) => [c.name, c.rules]));
  const leaves: Rule[] = [];
  let evaluated = 0;
  const visit = (rules: readonly Rule[]) => {
    for (const r of rules) {
      evaluated++;
      if (!matches(r)) continue;
      const sub = chains.get(r.jump);
      if (sub) visit(sub);
      else leaves.push(r);
    }
  };
  visit(d.rules);
  return { leaves, evaluated };
}

const portMatches = (proto: string, port: number) => (r: Rule) => {
  if (r.proto !== proto) return false;
  const [lo, hi = lo] = r.dport!.split(':').map(Number);
  return port >= lo! && port <= hi!;
};

describe('port dispatch', () => {
  it('keeps every rule of a port, in order, and only those', () => {
    const rule = fc.record({ proto: fc.constantFrom('tcp' as const, 'udp' as const), port: fc.integer({ min: 1, max: 400 }), n: fc.nat(3) });
    fc.assert(
      fc.property(fc.array(rule, { maxLength: 150 }), fc.integer({ min: 1, max: 20 }), (specs, fanout) => {
        const rules: Rule[] = specs.map((x, i) => ({
          proto: x.proto,
          dport: String(x.port),
          comment: `moat:published:${i}`,
          jump: x.n === 0 ? 'DROP' : 'ACCEPT',
        }));
        const d = portDispatch(rules, 'MOAT-PI-', fanout);
        for (const proto of ['tcp', 'udp']) {
          for (let port = 0; port <= 401; port++) {
            const want = rules.filter((r) => r.proto === proto && r.dport === String(port));
            expect(reached(d, portMatches(proto, port)).leaves).toEqual(want);
          }
        }
        for (const c of d.chains) expect(c.name.length).toBeLessThanOrEqual(28);
      }),
      { numRuns: 100 },
    );
  });

  it('finds one of 1,000 published ports in a few dozen rules', () => {
    const rules: Rule[] = Array.from({ length: 1000 }, (_, i) => ({
      proto: 'tcp',
      dport: String(20000 + 3 * i),
      comment: `moat:published:${i}`,
      jump: 'ACCEPT',
    }));
    const d = portDispatch(rules, 'MOAT-PI-');
    const costs = [20000, 21500, 22997, 22].map((p) => reached(d, portMatches('tcp', p)).evaluated);
    expect(Math.max(...costs)).toBeLessThanOrEqual(3 * FANOUT);
    expect(reached(d, portMatches('tcp', 22997)).leaves).toEqual([rules[999]]);
  });
});

describe('subnet dispatch', () => {
  const v4 = fc
    .tuple(fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 255 }), fc.constantFrom(16, 20, 24, 28))
    .map(([a, b, p]) => parseCidr(`10.${a}.${b}.0/${p}`.replace(/\.(\d+)\.0\/16$/, '.0.0/16'))!);
  const v6 = fc.tuple(fc.integer({ min: 0, max: 0xffff }), fc.constantFrom(48, 56, 64)).map(([a, p]) => parseCidr(`fd00:${a.toString(16)}::/${p}`)!);

  it.each([
    ['IPv4', v4],
    ['IPv6', v6],
  ] as const)('%s: an address reaches exactly the subnets that hold it', (_, subnet) => {
    fc.assert(
      fc.property(
        fc.uniqueArray(
          subnet.filter((c) => c !== null),
          { maxLength: 80, selector: (c) => c.text },
        ),
        fc.integer({ min: 1, max: 20 }),
        (subnets, fanout) => {
          const leaves = subnets.map((cidr) => ({ cidr, rule: { src: cidr.text, comment: 'moat:nat:x', jump: 'MASQUERADE' } as Rule }));
          const d = cidrDispatch(leaves, 'src', 'MOAT-MQ-', fanout);
          for (const probe of subnets) {
            const inside = (r: Rule) => cidrContains(parseCidr(r.src!)!, { ...probe, prefix: probe.family === 4 ? 32 : 128 });
            const got = reached(d, inside)
              .leaves.map((r) => r.src)
              .sort();
            expect(got).toEqual(
              subnets
                .filter((c) => cidrContains(c, { ...probe, prefix: probe.family === 4 ? 32 : 128 }))
                .map((c) => c.text)
                .sort(),
            );
          }
          for (const c of d.chains) expect(c.name.length).toBeLessThanOrEqual(28);
        },
      ),
      { numRuns: 100 },
    );
  });

  it('finds one of 500 Docker subnets in a few dozen rules', () => {
    const leaves = Array.from({ length: 500 }, (_, i) => {
      const cidr = parseCidr(`10.${i >> 8}.${i & 255}.0/24`)!;
      return { cidr, rule: { src: cidr.text, comment: 'moat:nat:x', jump: 'MASQUERADE' } as Rule };
    });
    const d = cidrDispatch(leaves, 'src', 'MOAT-MQ-');
    const addr = parseCidr('10.1.243.7/32')!;
    const r = reached(d, (x) => cidrContains(parseCidr(x.src!)!, addr));
    expect(r.leaves.map((x) => x.src)).toEqual(['10.1.243.0/24']);
    expect(r.evaluated).toBeLessThanOrEqual(3 * FANOUT);
  });
});

describe('dispatch trees with a memo', () => {
  // A pool of bridges sharing prefixes (so that trees have subtrees), steps
  // that keep some, drop some and replace some with a leaf of other content.
  const pool = Array.from({ length: 80 }, (_, i) => `br-${hex(i % 40, 7).slice(0, 2)}${hex(i, 3).slice(0, 3)}`);
  const step = fc.record({ keep: fc.subarray([...new Set(pool)]), replace: fc.subarray([...new Set(pool)], { maxLength: 5 }) });

  it('builds what a fresh dispatch builds, after any change to its leaves', () => {
    fc.assert(
      fc.property(fc.array(step, { minLength: 1, maxLength: 8 }), fc.integer({ min: 2, max: 16 }), (steps, fanout) => {
        const memo = new Map();
        const leaves = new Map<string, Leaf>();
        steps.forEach(({ keep, replace }, n) => {
          for (const name of replace) leaves.set(name, { iface: name, rule: { in: name, comment: `moat:net:${name}`, jump: `MOAT-OUT-${n}` } });
          const now = keep.map((name) => leaves.get(name) ?? leaves.set(name, leaf(name)).get(name)!);
          expect(dispatch(now, 'in', 'MOAT-FI-', fanout, memo)).toEqual(dispatch(now, 'in', 'MOAT-FI-', fanout));
        });
      }),
      { numRuns: 200 },
    );
  });

  it('builds what a fresh subnet dispatch builds, after any change to its leaves', () => {
    const subnets = Array.from({ length: 120 }, (_, i) => `10.${(i * 37) % 64}.${(i * 11) % 256}.0/24`);
    const pick = fc.record({ keep: fc.subarray([...new Set(subnets)]), replace: fc.subarray([...new Set(subnets)], { maxLength: 5 }) });
    fc.assert(
      fc.property(fc.array(pick, { minLength: 1, maxLength: 8 }), fc.integer({ min: 2, max: 16 }), (steps, fanout) => {
        const memo = new Map();
        const leaves = new Map<string, { cidr: NonNullable<ReturnType<typeof parseCidr>>; rule: Rule }>();
        const make = (s: string, tag: string) => ({ cidr: parseCidr(s)!, rule: { src: s, comment: `moat:nat:${tag}`, jump: 'MASQUERADE' } });
        steps.forEach(({ keep, replace }, n) => {
          for (const s of replace) leaves.set(s, make(s, `r${n}`));
          const now = keep.map((s) => leaves.get(s) ?? leaves.set(s, make(s, 'first')).get(s)!);
          expect(cidrDispatch(now, 'src', 'MOAT-MQ-', fanout, memo)).toEqual(cidrDispatch(now, 'src', 'MOAT-MQ-', fanout));
        });
      }),
      { numRuns: 200 },
    );
  });
});
