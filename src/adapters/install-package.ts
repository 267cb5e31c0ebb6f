// Copies the running moat package into the prefix: the files npm would pack
// (package.json `files`, README, LICENSE) and the production dependency tree,
// resolved the way Node resolves it, so it works from a git checkout (dev
// dependencies hoisted beside the production ones), a global npm install or
// an npx cache alike. Nothing is fetched: what runs here is what is copied.
import { cp, readFile, realpath, stat } from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { InstallError } from './install-layout.js';

export interface PackageJson {
  readonly name: string;
  readonly version: string;
  readonly files?: readonly string[];
  readonly dependencies?: Readonly<Record<string, string>>;
  readonly optionalDependencies?: Readonly<Record<string, string>>;
  readonly peerDependencies?: Readonly<Record<string, string>>;
  readonly peerDependenciesMeta?: Readonly<Record<string, { optional?: boolean }>>;
}

/** One dependency directory and where it goes, relative to the installed package. */
export interface Placement {
  readonly source: string;
  readonly dest: string;
}

/** The package this code was loaded from (src/ in tests, dist/ installed). */
export function ownPackageRoot(): string {
  return resolve(fileURLToPath(new URL('../..', import.meta.url)));
}

export async function readPackageJson(dir: string): Promise<PackageJson> {
  return JSON.parse(await readFile(join(dir, 'package.json'), 'utf8')) as PackageJson;
}

/** Node's lookup: DIR/node_modules/NAME, then each parent directory's. */
export async function resolvePackage(name: string, fromDir: string): Promise<string | null> {
  for (let dir = fromDir; ; dir = dirname(dir)) {
    if (!dir.endsWith(`${sep}node_modules`)) {
      const candidate = join(dir, 'node_modules', name);
      if (await exists(join(candidate, 'package.json'))) return realpath(candidate);
    }
    if (dirname(dir) === dir) return null;
  }
}

export type Resolver = (name: string, fromDir: string) => Promise<string | null>;
export type ManifestReader = (dir: string) => Promise<PackageJson>;

/**
 * Places each production dependency at the top level when the name is free
 * there, else nested under the package that needs it (the npm layout), so
 * that Node's lookup from every placed package finds the same directory it
 * found in the source tree.
 */
export async function productionTree(
  root: string,
  resolveDep: Resolver = resolvePackage,
  readManifest: ManifestReader = readPackageJson,
): Promise<Placement[]> {
  const placed = new Map<string, string>();
  const queue: Placement[] = [{ source: root, dest: '' }];
  for (let item = queue.shift(); item; item = queue.shift()) {
    const pkg = await readManifest(item.source);
    const optional = new Set([
      ...Object.keys(pkg.optionalDependencies ?? {}),
      ...Object.entries(pkg.peerDependenciesMeta ?? {})
        .filter(([, m]) => m.optional)
        .map(([n]) => n),
    ]);
    const names = [
      ...new Set([...Object.keys(pkg.dependencies ?? {}), ...Object.keys(pkg.optionalDependencies ?? {}), ...Object.keys(pkg.peerDependencies ?? {})]),
    ].sort();
    for (const name of names) {
      const source = await resolveDep(name, item.source);
      if (source === null) {
        if (optional.has(name)) continue;
        throw new InstallError(`${pkg.name} needs ${name}, which is not installed beside it (run npm ci --omit=dev first)`);
      }
      const found = nearest(placed, item.dest, name);
      if (found !== null && placed.get(found) === source) continue;
      const dest = found === null ? `node_modules/${name}` : `${item.dest}/node_modules/${name}`;
      placed.set(dest, source);
      queue.push({ source, dest });
    }
  }
  return [...placed].map(([dest, source]) => ({ source, dest })).sort((a, b) => a.dest.localeCompare(b.dest));
}

/** Where Node would find `name` starting from the installed directory `from`. */
function nearest(placed: ReadonlyMap<string, string>, from: string, name: string): string | null {
  for (let dir = from; ;) {
    const candidate = dir === '' ? `node_modules/${name}` : `${dir}/node_modules/${name}`;
    if (placed.has(candidate)) return candidate;
    if (dir === '') return null;
    const i = dir.lastIndexOf('node_modules/');
    dir = i <= 0 ? '' : dir.slice(0, i - 1);
  }
}

/** The package's own files, as `npm pack` would include them. */
export async function packageFiles(root: string, pkg: PackageJson): Promise<string[]> {
  const wanted = ['package.json', 'README.md', 'LICENSE', ...(pkg.files ?? ['bin/', 'dist/'])].map((f) => f.replace(/\/+$/, ''));
  const out: string[] = [];
  for (const f of wanted) if (await exists(join(root, f))) out.push(f);
  return out;
}

/** Copies the package and its production tree into `dest` (which must not exist). */
export async function copyPackage(root: string, files: readonly string[], tree: readonly Placement[], dest: string): Promise<void> {
  for (const f of files) await cp(join(root, f), join(dest, f), { recursive: true, verbatimSymlinks: true });
  for (const { source, dest: rel } of tree) {
    const skip = join(source, 'node_modules');
    await cp(source, join(dest, rel), {
      recursive: true,
      verbatimSymlinks: true,
      // Nested node_modules are placed by productionTree, never copied wholesale.
      filter: (p) => p !== skip && !p.startsWith(skip + sep),
    });
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}
