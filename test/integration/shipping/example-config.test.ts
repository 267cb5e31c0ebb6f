// config/config.yaml is what `moat install` puts at /etc/moat/config.yaml:
// it must pass `moat config check`, spell out every key the schema knows
// (a new key must be documented there), and change nothing (the values are
// the defaults).
import { execa } from 'execa';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ownPackageRoot } from '../../../src/adapters/install-package.js';
import { DEFAULT_CONFIG, parseConfig } from '../../../src/core/config.js';

const path = join(ownPackageRoot(), 'config/config.yaml');

/** Dotted paths of every key, descending into objects (not arrays). */
function keys(value: unknown, prefix = ''): string[] {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return [];
  return Object.entries(value).flatMap(([k, v]) => [`${prefix}${k}`, ...keys(v, `${prefix}${k}.`)]);
}

describe('config/config.yaml', () => {
  it('passes `moat config check`', async () => {
    const res = await execa(join(ownPackageRoot(), 'bin/moat'), ['config', 'check', path], { reject: false });
    expect(res.exitCode, res.stderr).toBe(0);
  });

  it('names every config key, each set to its default', async () => {
    const doc: unknown = parse(await readFile(path, 'utf8'));
    expect(keys(doc).sort()).toEqual(keys(DEFAULT_CONFIG).sort());
    expect(parseConfig(doc).config).toEqual(DEFAULT_CONFIG);
  });
});
