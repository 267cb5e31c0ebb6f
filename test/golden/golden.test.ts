// Golden scenarios: Docker list answers + config -> exact rules per family.
// Regenerate after an intended change with UPDATE_GOLDEN=1 and review the
// diff; a missing expected file fails (scenarios/README.md).
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { computeDesired } from '../../src/core/desired.js';
import { renderText } from '../../src/core/render.js';
import { expectGolden } from './expect-golden.js';
import { checkInvariants } from './invariants.js';
import { loadScenario, scenarioNames, SCENARIOS_DIR } from './scenario-folders.js';

describe.each(scenarioNames())('scenario %s', (name) => {
  const dir = join(SCENARIOS_DIR, name);
  const { lists, config, policyRules } = loadScenario(dir);
  const desired = computeDesired(lists, config, [4, 6], policyRules);

  it.each([4, 6] as const)('renders the expected IPv%i rules', (family) => {
    expectGolden(join(dir, `expected.v${family}.rules`), renderText(desired.rendered[family === 4 ? 0 : 1]!));
  });

  it('reports the expected problems', () => {
    expectGolden(join(dir, 'expected.problems.json'), `${JSON.stringify(desired.problems, null, 2)}\n`);
  });

  // Only scenarios with dns: grants have sets; the file is then required like the others.
  const setsFile = join(dir, 'expected.dns-sets.json');
  it.runIf(desired.dnsSets.length > 0 || existsSync(setsFile))('lists the expected kernel sets', () => {
    expectGolden(setsFile, `${JSON.stringify(desired.dnsSets, null, 2)}\n`);
  });

  it('holds the ruleset invariants', () => {
    for (const r of desired.rendered) expect(checkInvariants(r)).toEqual([]);
  });

  it('does not depend on the order Docker lists things in', () => {
    const shuffled = { networks: [...lists.networks].reverse(), containers: [...lists.containers].reverse() };
    const again = computeDesired(shuffled, config, [4, 6], policyRules);
    expect(again.rendered.map(renderText)).toEqual(desired.rendered.map(renderText));
  });
});
