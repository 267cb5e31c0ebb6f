import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { computeDesired } from './desired.js';
import { parseCidr } from './addr.js';
import { ruleReason } from './explain-reasons.js';
import { loadScenario } from '../../test/golden/scenario-folders.js';

// Comments that never decide a verdict: dispatch jumps, conntrack, NDP, zone
// and deny helpers (their caller decides), NAT, the logDenied LOG rules.
const STRUCTURAL =
  /^moat:(established|ndp|dispatch|net:[0-9a-f]{12}|zone:\w+|deny|nat:[0-9a-f]{12}|no-nat-between-networks|published|published:from-docker|log-denied)$/;
const root = join(import.meta.dirname, '../../test/golden/scenarios');
// Folders only: scenarios/README.md is no scenario.
const scenarioNames = () =>
  readdirSync(root, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => d.name)
    .sort();

describe('ruleReason', () => {
  it.each(scenarioNames())('maps every deciding comment of golden scenario %s to its origin', (name) => {
    const { lists, config, policyRules } = loadScenario(join(root, name));
    const desired = computeDesired(lists, config, [4, 6], policyRules);
    const nets = new Map(desired.policy.networks.map((n) => [n.network.id, n]));
    for (const rs of desired.rulesets) {
      for (const table of ['filter', 'nat'] as const) {
        for (const chain of rs.tables[table].chains) {
          for (const rule of chain.rules) {
            if (STRUCTURAL.test(rule.comment)) continue;
            const d = ruleReason(
              { table, chain: chain.name, comment: rule.comment },
              [],
              { srcNet: null, srcContainer: null, dstKind: 'docker', dstSet: { kind: 'ip', cidr: parseCidr('10.0.0.1')! } },
              { policy: desired.policy, config, nets, protectedRanges: [] },
            );
            expect(d.reason, `${chain.name} ${rule.comment}`).not.toBe(rule.comment);
            expect(d.rule).toBe(rule.comment);
          }
        }
      }
    }
  });
});
