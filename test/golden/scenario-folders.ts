// The golden scenario folders: every directory under scenarios/ (its
// README.md and any other file are not scenarios). Each must hold the two
// inputs; a folder without one fails here, by name, instead of in whichever
// test read it first.
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

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
