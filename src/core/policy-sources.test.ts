import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { SCENARIOS_DIR, scenarioNames } from '../../test/golden/scenario-folders.js';
import { parseConfig } from './config.js';
import { computeDesired } from './desired.js';
import type { DecisionSource } from './policy.js';

const root = SCENARIOS_DIR;

// The kind explain reported when it still read it from a reason's wording:
// the typed source must say the same for every decision of every scenario.
function sourceOfWording(reason: string): DecisionSource {
  if (reason.startsWith('option')) return 'option';
  if (reason.startsWith('config')) return 'config';
  if (reason.startsWith('network label') || reason.startsWith('container label')) return 'label';
  if (reason.startsWith('internal')) return 'network';
  return 'default';
}

describe('decision sources', () => {
  it.each(scenarioNames())('agree with what the reasons of golden scenario %s say', (name) => {
    const lists = JSON.parse(readFileSync(join(root, name, 'snapshot.json'), 'utf8'));
    const { config } = parseConfig(parse(readFileSync(join(root, name, 'config.yaml'), 'utf8')));
    const { policy } = computeDesired(lists, config!, [4, 6]);
    for (const np of policy.networks) {
      for (const key of ['icc', 'egress', 'nat'] as const)
        expect(np.sources[key], `${np.network.name} ${key}: ${np[key].reason}`).toBe(sourceOfWording(np[key].reason));
    }
    for (const cp of policy.containers) expect(cp.sources.world, `${cp.container.name}: ${cp.world.reason}`).toBe(sourceOfWording(cp.world.reason));
  });
});
