// Golden scenarios: Docker list answers + config -> exact rules per family.
// Regenerate after an intended change with UPDATE_GOLDEN=1 and review the
// diff; a missing expected file fails (scenarios/README.md).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/core/config.js';
import { computeDesired } from '../../src/core/desired.js';
import { renderText } from '../../src/core/render.js';
import { expectGolden } from './expect-golden.js';
import { checkInvariants } from './invariants.js';
import { scenarioNames, SCENARIOS_DIR } from './scenario-folders.js';

describe.each(scenarioNames())('scenario %s', (name) => {
  const dir = join(SCENARIOS_DIR, name);
  const lists = JSON.parse(readFileSync(join(dir, 'snapshot.json'), 'utf8'));
  const { config, errors } = parseConfig(parse(readFileSync(join(dir, 'config.yaml'), 'utf8')));
  if (!config) throw new Error(`${name}/config.yaml: ${JSON.stringify(errors)}`);
  const desired = computeDesired(lists, config, [4, 6]);

  it.each([4, 6] as const)('renders the expected IPv%i rules', (family) => {
    expectGolden(join(dir, `expected.v${family}.rules`), renderText(desired.rendered[family === 4 ? 0 : 1]!));
  });

  it('reports the expected problems', () => {
    expectGolden(join(dir, 'expected.problems.json'), `${JSON.stringify(desired.problems, null, 2)}\n`);
  });

  it('holds the ruleset invariants', () => {
    for (const r of desired.rendered) expect(checkInvariants(r)).toEqual([]);
  });

  it('does not depend on the order Docker lists things in', () => {
    const shuffled = { networks: [...lists.networks].reverse(), containers: [...lists.containers].reverse() };
    const again = computeDesired(shuffled, config, [4, 6]);
    expect(again.rendered.map(renderText)).toEqual(desired.rendered.map(renderText));
  });
});
