import { describe, expect, it } from 'vitest';
import { parseSave } from './live.js';
import { planFlush, planRestore } from './plan.js';
import type { RenderedRuleset } from './render.js';

const desired: RenderedRuleset = {
  family: 4,
  tables: {
    filter: {
      chains: new Map([
        ['MOAT-FORWARD', ['-i br-a -m comment --comment "moat:net:a" -j MOAT-OUT-a']],
        ['MOAT-OUT-a', ['-m comment --comment "moat:default-deny" -j DROP']],
      ]),
      jumps: { FORWARD: 'MOAT-FORWARD' },
    },
    nat: { chains: new Map([['MOAT-POSTROUTING', []]]), jumps: { POSTROUTING: 'MOAT-POSTROUTING' } },
  },
};

const inSync = `*filter
:INPUT ACCEPT [0:0]
:FORWARD DROP [0:0]
:MOAT-FORWARD - [0:0]
:MOAT-OUT-a - [0:0]
-A FORWARD -j MOAT-FORWARD
-A FORWARD -i eth0 -j ACCEPT
-A MOAT-FORWARD -i br-a -m comment --comment "moat:net:a" -j MOAT-OUT-a
-A MOAT-OUT-a -m comment --comment "moat:default-deny" -j DROP
COMMIT
*nat
:POSTROUTING ACCEPT [0:0]
:MOAT-POSTROUTING - [0:0]
-A POSTROUTING -j MOAT-POSTROUTING
COMMIT
`;

describe('planRestore', () => {
  it('plans nothing when live equals desired (foreign rules ignored)', () => {
    expect(planRestore(desired, parseSave(inSync)).text).toBeNull();
  });

  it('writes everything on an empty host, jumps inserted first', () => {
    const plan = planRestore(desired, parseSave('*filter\n:FORWARD ACCEPT [0:0]\nCOMMIT\n'));
    expect(plan.text).toBe(`*filter
:MOAT-FORWARD - [0:0]
:MOAT-OUT-a - [0:0]
-I FORWARD 1 -j MOAT-FORWARD
-A MOAT-FORWARD -i br-a -m comment --comment "moat:net:a" -j MOAT-OUT-a
-A MOAT-OUT-a -m comment --comment "moat:default-deny" -j DROP
COMMIT
*nat
:MOAT-POSTROUTING - [0:0]
-I POSTROUTING 1 -j MOAT-POSTROUTING
COMMIT
`);
  });

  it('rewrites only the chain that changed', () => {
    const live = parseSave(inSync.replace('"moat:default-deny" -j DROP', '"moat:default-deny" -j ACCEPT'));
    const plan = planRestore(desired, live);
    expect(plan.tables).toHaveLength(1);
    expect(plan.tables[0]).toMatchObject({ table: 'filter', rewritten: ['MOAT-OUT-a'], deleted: [], jumpsFixed: [] });
  });

  it('moves a jump that was pushed down back to the top, removing duplicates', () => {
    const live = parseSave(
      inSync.replace(
        '-A FORWARD -j MOAT-FORWARD\n-A FORWARD -i eth0 -j ACCEPT',
        '-A FORWARD -i eth0 -j ACCEPT\n-A FORWARD -j MOAT-FORWARD\n-A FORWARD -j MOAT-FORWARD',
      ),
    );
    const plan = planRestore(desired, live);
    expect(plan.tables[0]?.jumpsFixed).toEqual(['FORWARD']);
    expect(plan.text).toContain('-D FORWARD -j MOAT-FORWARD\n-D FORWARD -j MOAT-FORWARD\n-I FORWARD 1 -j MOAT-FORWARD');
    expect(plan.text).not.toContain('eth0');
  });

  it('deletes stale moat chains after flushing them, never foreign chains', () => {
    const live = parseSave(inSync.replace(':MOAT-OUT-a - [0:0]', ':MOAT-OUT-a - [0:0]\n:MOAT-OUT-gone - [0:0]\n:DOCKER-USER - [0:0]'));
    const plan = planRestore(desired, live);
    expect(plan.tables[0]?.deleted).toEqual(['MOAT-OUT-gone']);
    expect(plan.text).toMatch(/:MOAT-OUT-gone - \[0:0\]\n[\s\S]*-X MOAT-OUT-gone\nCOMMIT/);
    expect(plan.text).not.toContain('DOCKER-USER');
  });

  it('rewrites every chain when asked for a full sync', () => {
    const plan = planRestore(desired, parseSave(inSync), true);
    expect(plan.tables.flatMap((t) => t.rewritten)).toEqual(['MOAT-FORWARD', 'MOAT-OUT-a', 'MOAT-POSTROUTING']);
  });
});

describe('planFlush', () => {
  it('removes moat chains and jumps only', () => {
    const plan = planFlush(parseSave(inSync));
    expect(plan.text).toBe(`*filter
:MOAT-FORWARD - [0:0]
:MOAT-OUT-a - [0:0]
-D FORWARD -j MOAT-FORWARD
-X MOAT-FORWARD
-X MOAT-OUT-a
COMMIT
*nat
:MOAT-POSTROUTING - [0:0]
-D POSTROUTING -j MOAT-POSTROUTING
-X MOAT-POSTROUTING
COMMIT
`);
  });

  it('is a no-op on a host without moat', () => {
    expect(planFlush(parseSave('*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -j ACCEPT\nCOMMIT\n')).text).toBeNull();
  });
});
