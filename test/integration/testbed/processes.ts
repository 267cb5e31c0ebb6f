// Process bookkeeping by PID and by what we created (a namespace inode, a
// private path in the command line), so teardown never touches anything else.
import { readdir, readFile, readlink } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';

async function state(pid: number): Promise<string | null> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  } catch {
    return null;
  }
}

/** A zombie counts as gone: it no longer runs and holds no namespace. */
export async function isAlive(pid: number): Promise<boolean> {
  const s = await state(pid);
  return s !== null && s !== 'Z' && s !== 'X';
}

export function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
  }
}

export async function waitForExit(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (await isAlive(pid)) {
    if (Date.now() > deadline) return false;
    await sleep(25);
  }
  return true;
}

/** SIGTERM, wait, then SIGKILL. Returns true when SIGKILL was needed. */
export async function terminate(pid: number, graceMs: number): Promise<boolean> {
  signal(pid, 'SIGTERM');
  if (await waitForExit(pid, graceMs)) return false;
  signal(pid, 'SIGKILL');
  await waitForExit(pid, 5_000);
  return true;
}

async function allPids(): Promise<number[]> {
  return (await readdir('/proc')).filter((d) => /^\d+$/.test(d)).map(Number);
}

/** Live processes whose network namespace is the given nsfs inode. */
export async function pidsInNetns(inode: number): Promise<number[]> {
  const want = `net:[${inode}]`;
  const hits = await Promise.all(
    (await allPids()).map(async (pid) => ((await readlink(`/proc/${pid}/ns/net`).catch(() => '')) === want && (await isAlive(pid)) ? pid : 0)),
  );
  return hits.filter((pid) => pid !== 0);
}

/** Live processes whose command line contains `needle` (a private path or unique name). */
export async function pidsWithCmdline(needle: string): Promise<number[]> {
  const self = process.pid;
  const hits = await Promise.all(
    (await allPids()).map(async (pid) => {
      if (pid === self) return 0;
      const cmd = (await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')).replaceAll('\0', ' ');
      return cmd.includes(needle) && (await isAlive(pid)) ? pid : 0;
    }),
  );
  return hits.filter((pid) => pid !== 0);
}
