import { describe, expect, it } from 'vitest';
import { InstallError } from './install-layout.js';
import { productionTree, type PackageJson } from './install-package.js';

/** A fake source tree: manifests by directory, and Node's lookup over it. */
function tree(dirs: Record<string, Partial<PackageJson>>) {
  const read = async (dir: string): Promise<PackageJson> => ({ name: dir.split('/node_modules/').at(-1) ?? dir, version: '1.0.0', ...dirs[dir] });
  const resolve = async (name: string, from: string): Promise<string | null> => {
    for (let dir = from; ; dir = dir.slice(0, dir.lastIndexOf('/'))) {
      if (!dir.endsWith('/node_modules') && dirs[`${dir}/node_modules/${name}`]) return `${dir}/node_modules/${name}`;
      if (!dir.includes('/')) return null;
    }
  };
  return { read, resolve };
}

describe('productionTree', () => {
  it('takes dependencies, optional and peer dependencies, transitively, and nothing else', async () => {
    const t = tree({
      '/r': { dependencies: { a: '1' }, optionalDependencies: { opt: '1', gone: '1' } },
      '/r/node_modules/a': { dependencies: { b: '1' }, peerDependencies: { p: '1' } },
      '/r/node_modules/b': { dependencies: { a: '1' } },
      '/r/node_modules/p': {},
      '/r/node_modules/opt': {},
      '/r/node_modules/devonly': {},
    });
    expect(await productionTree('/r', t.resolve, t.read)).toEqual([
      { dest: 'node_modules/a', source: '/r/node_modules/a' },
      { dest: 'node_modules/b', source: '/r/node_modules/b' },
      { dest: 'node_modules/opt', source: '/r/node_modules/opt' },
      { dest: 'node_modules/p', source: '/r/node_modules/p' },
    ]);
  });

  it('nests a second version under the package that needs it', async () => {
    const t = tree({
      '/r': { dependencies: { a: '1', c: '1' } },
      '/r/node_modules/a': { dependencies: { c: '2' } },
      '/r/node_modules/a/node_modules/c': {},
      '/r/node_modules/c': {},
    });
    expect(await productionTree('/r', t.resolve, t.read)).toEqual([
      { dest: 'node_modules/a', source: '/r/node_modules/a' },
      { dest: 'node_modules/a/node_modules/c', source: '/r/node_modules/a/node_modules/c' },
      { dest: 'node_modules/c', source: '/r/node_modules/c' },
    ]);
  });

  it('finds dependencies hoisted above the package (npx cache, global install)', async () => {
    const t = tree({
      '/cache/node_modules/moat': { dependencies: { a: '1' } },
      '/cache/node_modules/a': { dependencies: { '@s/b': '1' } },
      '/cache/node_modules/@s/b': {},
    });
    expect((await productionTree('/cache/node_modules/moat', t.resolve, t.read)).map((p) => p.dest)).toEqual(['node_modules/@s/b', 'node_modules/a']);
  });

  it('refuses when a required dependency is missing', async () => {
    const t = tree({ '/r': { dependencies: { a: '1' } } });
    await expect(productionTree('/r', t.resolve, t.read)).rejects.toThrow(InstallError);
  });
});
