import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { SCENARIOS_DIR, scenarioNames } from '../../test/golden/scenario-folders.js';
import { parseConfig } from './config.js';
import { computeDesired } from './desired.js';
import { lockdownRuleset } from './lockdown.js';
import { parseRuleComment, ruleComment, type RuleId } from './rule-ids.js';

const root = SCENARIOS_DIR;

describe('rule ids', () => {
  it.each(scenarioNames())('parses back every comment golden scenario %s writes, to the same text', (name) => {
    const lists = JSON.parse(readFileSync(join(root, name, 'snapshot.json'), 'utf8'));
    const { config } = parseConfig(parse(readFileSync(join(root, name, 'config.yaml'), 'utf8')));
    const desired = computeDesired(lists, config!, [4, 6]);
    const seen = new Set<string>();
    for (const rs of [...desired.rulesets, lockdownRuleset(config!, 4)]) {
      for (const table of ['filter', 'nat'] as const) for (const chain of rs.tables[table].chains) for (const rule of chain.rules) seen.add(rule.comment);
    }
    expect(seen.size).toBeGreaterThan(0);
    for (const comment of seen) {
      const id = parseRuleComment(comment);
      expect(id, comment).not.toBeNull();
      expect(ruleComment(id!)).toBe(comment);
    }
  });

  it('writes only the first 12 characters of a Docker id, and reads back what it wrote', () => {
    const full = 'a'.repeat(12) + '9'.repeat(52);
    const ids: RuleId[] = [
      { kind: 'net', network: full },
      { kind: 'nat', network: full },
      { kind: 'world', container: full },
      { kind: 'published-port', container: full, port: 8080, proto: 'udp', unlisted: true },
      { kind: 'published-port', container: full, port: 80, proto: 'tcp', unlisted: false },
      { kind: 'zone', zone: 'external' },
      { kind: 'flow', flow: 'policy:web.yaml:3:egress:0' },
      { kind: 'icc-off' },
    ];
    for (const id of ids) {
      const comment = ruleComment(id);
      expect(comment).not.toContain('9');
      expect(ruleComment(parseRuleComment(comment)!)).toBe(comment);
    }
    expect(ruleComment(ids[3]!)).toBe('moat:published:aaaaaaaaaaaa:8080/udp:unlisted');
  });

  it('knows no comment moat does not write', () => {
    for (const c of ['icc', 'moat:', 'moat:zone:mars', 'moat:net:xyz', 'moat:world:ABCDEF012345', 'moat:published:aaaaaaaaaaaa:80', 'moat:something-else'])
      expect(parseRuleComment(c), c).toBeNull();
  });
});
