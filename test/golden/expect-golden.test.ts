import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { expectGolden, UPDATE_COMMAND } from './expect-golden.js';
import { scenarioNames } from './scenario-folders.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'moat-golden-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('expectGolden', () => {
  it('fails on a missing expected file, naming it and the command that writes it, and writes nothing', () => {
    const path = join(dir, 'expected.v4.rules');
    expect(() => expectGolden(path, 'rules\n', false)).toThrow(`expected.v4.rules is missing: write it with \`${UPDATE_COMMAND}\``);
    expect(() => readFileSync(path)).toThrow(/ENOENT/);
  });

  it('fails when the output differs from the file, and passes when it matches', () => {
    const path = join(dir, 'expected.v4.rules');
    writeFileSync(path, 'old\n');
    expect(() => expectGolden(path, 'new\n', false)).toThrow(/expected 'new\\n' to be 'old\\n'/);
    expect(() => expectGolden(path, 'old\n', false)).not.toThrow();
  });

  it('writes the file under UPDATE_GOLDEN=1, missing or not', () => {
    const path = join(dir, 'expected.v6.rules');
    expectGolden(path, 'first\n', true);
    expectGolden(path, 'second\n', true);
    expect(readFileSync(path, 'utf8')).toBe('second\n');
  });
});

describe('scenarioNames', () => {
  it('lists the scenario folders, sorted, and skips files such as the README', () => {
    for (const name of ['b', 'a']) {
      mkdirSync(join(dir, name));
      writeFileSync(join(dir, name, 'snapshot.json'), '{}');
      writeFileSync(join(dir, name, 'config.yaml'), '');
    }
    writeFileSync(join(dir, 'README.md'), '# scenarios\n');
    expect(scenarioNames(dir)).toEqual(['a', 'b']);
  });

  it('fails on a folder without its inputs, naming the folder and the file', () => {
    mkdirSync(join(dir, 'half'));
    writeFileSync(join(dir, 'half', 'config.yaml'), '');
    expect(() => scenarioNames(dir)).toThrow('golden scenario half has no snapshot.json');
  });
});
