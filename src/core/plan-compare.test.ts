// compareRulesets decides whether a commit may wait for a burst to pause:
// only a change that adds allowing rules to existing chains may.
import { describe, expect, it } from 'vitest';
import { hostMixed } from '../../test/fakes/host-mixed.js';
import { computeDesired } from './desired.js';
import { ConfigSchema } from './config.js';
import { compareRulesets } from './plan.js';
import type { RenderedRuleset } from './render.js';

const config = ConfigSchema.parse({});
const named = (name: string) => (c: { Names: string[] }) => c.Names[0] === `/${name}`;
const withoutContainer = (name: string, conf = config) =>
  computeDesired({ ...hostMixed, containers: hostMixed.containers.filter((c: { Names: string[] }) => !named(name)(c)) }, conf, [4, 6]).rendered;
const full = (conf = config) => computeDesired(hostMixed, conf, [4, 6]).rendered;

describe('compareRulesets', () => {
  it('a container whose start only adds grants widens; its removal narrows', () => {
    const [before4] = withoutContainer('app');
    const [after4] = full();
    expect(compareRulesets(before4!, after4!)).toBe('widens');
    expect(compareRulesets(after4!, before4!)).toBe('narrows');
    expect(compareRulesets(after4!, full()[0]!)).toBe('same');
  });

  it('a new published port under published: labelled narrows (its unlisted sources are dropped at once)', () => {
    const labelled = ConfigSchema.parse({ published: 'labelled' });
    const [before4] = withoutContainer('web', labelled);
    const [after4] = full(labelled);
    expect(compareRulesets(before4!, after4!)).toBe('narrows');
  });

  it('a reordered chain, a new deny, a new chain or a nat change narrows', () => {
    const [base] = full();
    const edit = (f: (chains: Map<string, readonly string[]>, nat: Map<string, readonly string[]>) => void): RenderedRuleset => {
      const filter = new Map(base!.tables.filter.chains);
      const nat = new Map(base!.tables.nat.chains);
      f(filter, nat);
      return { family: 4, tables: { filter: { ...base!.tables.filter, chains: filter }, nat: { ...base!.tables.nat, chains: nat } } };
    };
    const out = [...base!.tables.filter.chains.keys()].find((n) => n.startsWith('MOAT-OUT-') && base!.tables.filter.chains.get(n)!.length > 2)!;
    const rules = base!.tables.filter.chains.get(out)!;
    expect(
      compareRulesets(
        base!,
        edit((c) => c.set(out, [...rules].reverse())),
      ),
    ).toBe('narrows');
    expect(
      compareRulesets(
        base!,
        edit((c) => c.set(out, ['-s 10.9.9.9/32 -m comment --comment "moat:x" -j MOAT-DENY', ...rules])),
      ),
    ).toBe('narrows');
    expect(
      compareRulesets(
        base!,
        edit((c) => c.set(out, ['-s 10.9.9.9/32 -m comment --comment "moat:x" -j RETURN', ...rules])),
      ),
    ).toBe('narrows');
    expect(
      compareRulesets(
        base!,
        edit((c) => c.set('MOAT-OUT-000000000000', [])),
      ),
    ).toBe('narrows');
    expect(
      compareRulesets(
        base!,
        edit((_, n) => n.set('MOAT-POSTROUTING', [])),
      ),
    ).toBe('narrows');
    expect(
      compareRulesets(
        base!,
        edit((c) => c.set(out, ['-s 10.9.9.9/32 -m comment --comment "moat:x" -j ACCEPT', ...rules])),
      ),
    ).toBe('widens');
    expect(
      compareRulesets(
        base!,
        edit((c) => c.set(out, [...rules.slice(0, 1), '-s 10.9.9.9/32 -m comment --comment "moat:x" -j MOAT-TO-WORLD', ...rules.slice(1)])),
      ),
    ).toBe('widens');
  });
});
