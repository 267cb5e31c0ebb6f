// Compares rendered output with a golden file. UPDATE_GOLDEN=1 (re)writes
// the file; without it a missing file is a failure, not a file quietly
// written from whatever the code renders today: a scenario is reviewed once,
// when its expected files are written on purpose.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { relative } from 'node:path';
import { expect } from 'vitest';

const REPO = new URL('../../', import.meta.url).pathname;

export const UPDATE_COMMAND = 'UPDATE_GOLDEN=1 npx vitest run --project unit test/golden';

export function expectGolden(path: string, actual: string, update = process.env.UPDATE_GOLDEN === '1'): void {
  if (update) {
    writeFileSync(path, actual);
    return;
  }
  if (!existsSync(path)) {
    const shown = relative(REPO, path).startsWith('..') ? path : relative(REPO, path);
    expect.fail(`${shown} is missing: write it with \`${UPDATE_COMMAND}\`, review what it holds and commit it`);
  }
  expect(actual).toBe(readFileSync(path, 'utf8'));
}
