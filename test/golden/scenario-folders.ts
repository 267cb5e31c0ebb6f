// The golden scenario folders: every directory under scenarios/ (its
// README.md and any other file are not scenarios). Each must hold the two
// inputs; a folder without one fails here, by name, instead of in whichever
// test read it first. A folder may also hold `policy.yaml`, one policy file
// (docs/policy.md#policy-files) loaded as moatd loads /etc/moat/policy.d.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { type Config, parseConfig } from '../../src/core/config.js';
import type { DockerLists } from '../../src/core/from-docker.js';
import { parsePolicyFile, type PolicyRule } from '../../src/core/policy-file.js';

export const SCENARIOS_DIR = join(import.meta.dirname, 'scenarios');
export const SCENARIO_INPUTS = ['snapshot.json', 'config.yaml'] as const;

export function scenarioNames(root = SCENARIOS_DIR): string[] {
  const names = readdirSync(root, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => d.name)
    .sort();
  for (const name of names) {
    const missing = SCENARIO_INPUTS.filter((f) => !existsSync(join(root, name, f)));
    if (missing.length > 0) throw new Error(`golden scenario ${name} has no ${missing.join(' and no ')} (see test/golden/scenarios/README.md)`);
  }
  return names;
}

/** A scenario's inputs: the lists, the config and the rules of its policy.yaml (none without one). */
export function loadScenario(dir: string): { lists: DockerLists; config: Config; policyRules: PolicyRule[] } {
  const lists = JSON.parse(readFileSync(join(dir, 'snapshot.json'), 'utf8')) as DockerLists;
  const { config, errors } = parseConfig(parse(readFileSync(join(dir, 'config.yaml'), 'utf8')));
  if (!config) throw new Error(`${dir}/config.yaml: ${JSON.stringify(errors)}`);
  const policyPath = join(dir, 'policy.yaml');
  if (!existsSync(policyPath)) return { lists, config, policyRules: [] };
  const policy = parsePolicyFile(policyPath, readFileSync(policyPath, 'utf8'));
  if (policy.errors.length > 0) throw new Error(`${policyPath}: ${JSON.stringify(policy.errors)}`);
  return { lists, config, policyRules: policy.rules };
}
