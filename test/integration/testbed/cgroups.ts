// dockerd runs with `--cgroup-parent NAME` so its containers' cgroups sit
// under a directory only this engine uses; runc removes the container
// cgroups but not that parent, so teardown removes the (empty) parents.
import { readdir, rmdir } from 'node:fs/promises';
import { join } from 'node:path';

async function find(dir: string, name: string, depth: number): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  const found: string[] = [];
  for (const e of entries) {
    if (!e.isDirectory()) continue;
    const path = join(dir, e.name);
    if (e.name === name) found.push(path);
    else if (depth > 0) found.push(...(await find(path, name, depth - 1)));
  }
  return found;
}

/** Cgroup directories named `name` in any hierarchy (v1 or v2), shallow search. */
export function cgroupDirs(name: string, root = '/sys/fs/cgroup'): Promise<string[]> {
  return find(root, name, 4);
}

/** rmdir succeeds only on an empty cgroup, so this can never disturb a live one. */
export async function removeCgroupDirs(name: string, root = '/sys/fs/cgroup'): Promise<string[]> {
  const dirs = await cgroupDirs(name, root);
  const left: string[] = [];
  for (const dir of dirs.sort((a, b) => b.length - a.length)) await rmdir(dir).catch(() => left.push(dir));
  return left;
}
