// Property: whatever text sits in labels (container or network), the whole
// pipeline never throws, never renders any of it, and never changes another
// container's rules.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG } from '../../src/core/config.js';
import { renderText } from '../../src/core/render.js';
import { computeDesired } from '../../src/core/desired.js';
import { checkInvariants } from './invariants.js';

const lists = JSON.parse(readFileSync(join(import.meta.dirname, 'scenarios/labels-open-proxy/snapshot.json'), 'utf8'));
const victim = lists.containers.find((c: { Names: string[] }) => c.Names[0] === '/shop-web-1');
const attacker = lists.containers.find((c: { Names: string[] }) => c.Names[0] === '/other-app-1');
const baseline = computeDesired(lists, DEFAULT_CONFIG, [4, 6]);
const victimRules = (texts: string[]) =>
  texts.flatMap((t) => t.split('\n').filter((l) => l.includes(victim.Id.slice(0, 12)) && !l.includes(attacker.Id.slice(0, 12))));

const hostile = fc.oneof(
  fc.string({ unit: 'grapheme', maxLength: 300 }),
  fc.string({ unit: 'binary', maxLength: 300 }),
  fc.constantFrom(
    '-j ACCEPT',
    '\n-A FORWARD -j ACCEPT\nCOMMIT',
    'world"; rm -rf / #',
    '$(reboot)',
    '`id`',
    'app:80\r\n*filter',
    "'; DROP TABLE",
    'net:../../etc',
    '[::1]:22 -j ACCEPT',
    'x'.repeat(70_000),
  ),
  fc
    .array(fc.constantFrom('world', 'lan', 'host', 'app:80', 'net:edge', '10.0.0.0/8', '-j', 'ACCEPT', '"', '\n', ';', '[fd00::1]'), { maxLength: 50 })
    .map((a) => a.join(' ')),
);

describe('hostile label text through the whole pipeline', () => {
  it('never throws, renders none of it, and leaves other containers alone', () => {
    fc.assert(
      fc.property(hostile, hostile, hostile, (egress, ingress, netLabel) => {
        const evil = { ...attacker, Labels: { ...attacker.Labels, 'moat.egress': egress, 'moat.ingress': ingress } };
        const networks = lists.networks.map((n: { Name: string; Labels: Record<string, string> }) =>
          n.Name === 'back' ? { ...n, Labels: { ...n.Labels, 'moat.icc': netLabel, 'moat.egress': netLabel } } : n,
        );
        const desired = computeDesired({ networks, containers: lists.containers.map((c: unknown) => (c === attacker ? evil : c)) }, DEFAULT_CONFIG, [4, 6]);
        for (const r of desired.rendered) expect(checkInvariants(r)).toEqual([]);
        const texts = desired.rendered.map(renderText);
        for (const text of texts) {
          for (const line of text.split('\n')) expect(line).toMatch(/^[A-Za-z0-9_.:/=+,"![\]* -]*$/);
          expect(text).not.toMatch(/-j ACCEPT.*-j ACCEPT/);
        }
        // The victim's own rules are the same as without the attacker's labels.
        expect(victimRules(texts)).toEqual(victimRules(baseline.rendered.map(renderText)));
      }),
      { numRuns: 150 },
    );
  });
});
