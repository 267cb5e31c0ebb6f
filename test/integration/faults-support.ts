// Helpers for the fault tests (faults-*.test.ts) and the churn soak: fault-
// injecting wrappers on moatd's PATH, the ruleset compared without counters,
// references to things Docker no longer has, and a prober that keeps
// probing one flow while something else happens.
import type Docker from 'dockerode';
import { chmod } from 'node:fs/promises';
import { readFile } from 'node:fs/promises';
import type { Bed } from './testbed/bed.js';
import type { Moatd, MoatdLine } from './testbed/moatd.js';
import type { Netns } from './testbed/netns.js';
import { containerSource, probe, type ProbeSource } from './testbed/probe.js';

/** The real tools, whatever a wrapper earlier on PATH is called. */
export const REAL_RESTORE = { 4: '/usr/sbin/iptables-restore', 6: '/usr/sbin/ip6tables-restore' } as const;

/** moatd's PATH with the bed's fakebin first. */
export const fakePath = (bed: Bed) => `${bed.dir}/fakebin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`;

/** Writes an executable script into the bed's fakebin (first on fakePath()). */
export async function writeTool(bed: Bed, name: string, script: string): Promise<string> {
  const path = await bed.writeFile(`fakebin/${name}`, script);
  await chmod(path, 0o755);
  return path;
}

/**
 * iptables-restore that fails while `DIR/fail` holds a count above 0 (printing
 * `DIR/stderr`, exiting `DIR/exit`), sleeps `DIR/sleep` seconds first when that
 * file exists, and otherwise hands its input to the real tool. Every call is
 * appended to `DIR/calls` ("<ms> fail|ok <pid>"); the input of the last
 * success is kept in `DIR/last-ok`, of the last failure in `DIR/last-failed`,
 * of the first failure (until deleted) in `DIR/first-failed`.
 */
export function faultyRestore(dir: string, real: string): string {
  return `#!/bin/sh
d='${dir}'
input=$(mktemp "$d/in.XXXXXX")
cat > "$input"
echo $$ > "$d/pid"
if [ -e "$d/sleep" ]; then sleep "$(cat "$d/sleep")" & echo $! > "$d/sleep-pid"; wait $!; fi
n=$(cat "$d/fail" 2>/dev/null || echo 0)
if [ "$n" -gt 0 ]; then
  echo $((n - 1)) > "$d/fail"
  echo "$(date +%s%3N) fail $$" >> "$d/calls"
  [ -e "$d/first-failed" ] || cp "$input" "$d/first-failed"
  mv "$input" "$d/last-failed"
  cat "$d/stderr" >&2
  exit "$(cat "$d/exit" 2>/dev/null || echo 1)"
fi
echo "$(date +%s%3N) ok $$" >> "$d/calls"
cp "$input" "$d/last-ok"
${real} "$@" < "$input"
rc=$?
rm -f "$input"
exit $rc
`;
}

/** iptables-save of one family with comments and packet counters stripped: byte-comparable. */
export async function savedRules(netns: Netns, family: 4 | 6 = 4): Promise<string> {
  const res = await netns.run(family === 4 ? 'iptables-save' : 'ip6tables-save', []);
  return res.stdout
    .split('\n')
    .filter((l) => !l.startsWith('#'))
    .map((l) => l.replace(/\[\d+:\d+\]$/, '[0:0]'))
    .join('\n');
}

/**
 * The lines of a saved ruleset that are not moat's: foreign chains, rules and
 * policies. A table holding nothing else (moat created it: only built-in
 * chains, ACCEPT, no rule) is left out.
 */
export function foreignOnly(saved: string): string {
  const lines = saved.split('\n').filter((l) => l !== '' && !/^:MOAT-/.test(l) && !/^-A MOAT-/.test(l) && !/-j MOAT-\S+$/.test(l));
  const blocks: string[][] = [];
  for (const l of lines) {
    if (l.startsWith('*') || blocks.length === 0) blocks.push([]);
    blocks.at(-1)!.push(l);
  }
  const empty = (b: string[]) => b.every((l) => l.startsWith('*') || l === 'COMMIT' || /^:\S+ ACCEPT \[0:0\]$/.test(l));
  return blocks
    .filter((b) => !empty(b))
    .map((b) => b.join('\n'))
    .join('\n');
}

export interface LiveDocker {
  readonly containerIds: readonly string[];
  readonly networkIds: readonly string[];
  readonly addresses: ReadonlySet<string>;
}

export async function liveDocker(docker: Docker): Promise<LiveDocker> {
  const [containers, networks] = await Promise.all([docker.listContainers(), docker.listNetworks()]);
  const addresses = new Set<string>();
  for (const c of containers) {
    for (const ep of Object.values(c.NetworkSettings?.Networks ?? {})) {
      if (ep.IPAddress) addresses.add(ep.IPAddress);
      if (ep.GlobalIPv6Address) addresses.add(ep.GlobalIPv6Address);
    }
  }
  return { containerIds: containers.map((c) => c.Id), networkIds: networks.map((n) => n.Id), addresses };
}

/**
 * What a ruleset says that Docker no longer has: a host address (/32, /128)
 * in `subnets` that no running container holds, or a 12-hex id (chain names,
 * comments) that is no live container's or network's.
 */
export function staleReferences(saved: string, live: LiveDocker, subnetPrefixes: readonly string[]): string[] {
  const stale = new Set<string>();
  for (const m of saved.matchAll(/(?:-s|-d) ([0-9a-f.:]+)\/(32|128)\b/g)) {
    const ip = m[1]!;
    if (subnetPrefixes.some((p) => ip.startsWith(p)) && !live.addresses.has(ip)) stale.add(`address ${ip}`);
  }
  const ids = [...live.containerIds, ...live.networkIds];
  for (const m of saved.matchAll(/(?:MOAT-[A-Z]+-|moat:[a-z-]+:)([0-9a-f]{12})\b/g)) {
    const short = m[1]!;
    if (!ids.some((id) => id.startsWith(short))) stale.add(`id ${short} (${m[0]})`);
  }
  return [...stale].sort();
}

/** Probes one flow over and over until stopped; every verdict is kept. */
export function probeLoop(from: ProbeSource, to: string, port: number, timeoutS = 1) {
  let stopped = false;
  const seen: { at: number; state: string }[] = [];
  const done = (async () => {
    // Bounded: stops by itself after 10 minutes, or when a probe cannot run at all.
    const deadline = Date.now() + 600_000;
    while (!stopped && Date.now() < deadline) {
      const state = await probe(from, to, port, { timeoutS }).then(
        (r) => r.state,
        () => 'error',
      );
      seen.push({ at: Date.now(), state });
      if (state === 'error') break;
    }
  })();
  return {
    seen,
    async stop() {
      stopped = true;
      await done;
      return seen;
    },
  };
}

/** VmRSS of a process in KiB, or null once it is gone. */
export async function rssKiB(pid: number): Promise<number | null> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
  const m = /VmRSS:\s+(\d+) kB/.exec(status);
  return m ? Number(m[1]) : null;
}

/** Resolves once moatd has logged nothing for `quietMs` (a reconcile in flight has finished). */
export async function settled(moatd: Moatd, quietMs = 800, timeoutMs = 15_000): Promise<void> {
  const t0 = Date.now();
  let count = moatd.lines.length;
  let since = Date.now();
  while (Date.now() - t0 < timeoutMs) {
    await sleep(100);
    if (moatd.lines.length !== count) {
      count = moatd.lines.length;
      since = Date.now();
    } else if (Date.now() - since >= quietMs) return;
  }
  throw new Error('moatd did not settle');
}

/** A log line's timestamp (pino isoTime), in ms. */
export const at = (line: MoatdLine) => Date.parse(String(line.time));

/**
 * The wait before each attempt after the first, from `reconcile` log lines:
 * an attempt is logged when it ends, so it started `durationMs` earlier, and
 * the retry timer runs from the end of the attempt before.
 */
export const retryDelays = (attempts: readonly MoatdLine[]) => attempts.slice(1).map((l, i) => Math.round(at(l) - Number(l.durationMs) - at(attempts[i]!)));

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `fn` until it returns true or `timeoutMs` passes; returns the time it took, or null. */
export async function until(fn: () => Promise<boolean>, timeoutMs: number, everyMs = 100): Promise<number | null> {
  const t0 = Date.now();
  while (Date.now() - t0 < timeoutMs) {
    if (await fn()) return Date.now() - t0;
    await sleep(everyMs);
  }
  return null;
}

/**
 * moat's part of a saved ruleset, order-insensitive between chains: each MOAT-
 * chain with its rules in order, and where each built-in chain's jump sits.
 */
export function moatPart(saved: string): string {
  const chains = new Map<string, string[]>();
  let table = '';
  for (const line of saved.split('\n')) {
    if (line.startsWith('*')) table = line.slice(1);
    else if (line.startsWith(':')) chains.set(`${table}/${line.slice(1).split(' ')[0]}`, []);
    else if (line.startsWith('-A ')) {
      const [, chain = '', ...rest] = line.split(' ');
      chains.get(`${table}/${chain}`)?.push(rest.join(' '));
    }
  }
  const out: string[] = [];
  for (const [name, rules] of [...chains].sort(([a], [b]) => a.localeCompare(b))) {
    if (name.includes('/MOAT-')) out.push(`${name}: ${rules.join(' | ')}`);
    else rules.forEach((r, i) => /-j MOAT-\S+$/.test(r) && out.push(`${name}[${i}] ${r}`));
  }
  return out.join('\n');
}

/** A probe server started straight through the API (restart policy and all); resolves once it serves. */
export async function startPlain(
  docker: Docker,
  image: string,
  spec: { name: string; network: string; restart?: 'always' | 'no'; labels?: Record<string, string> },
): Promise<string> {
  const c = await docker.createContainer({
    Image: image,
    name: spec.name,
    Cmd: ['serve', '80', '8080'],
    Labels: spec.labels ?? {},
    HostConfig: { NetworkMode: spec.network, RestartPolicy: { Name: spec.restart ?? 'no' } },
  });
  await c.start();
  await waitServing(docker, c.id);
  return c.id;
}

/**
 * Waits until the container runs, its `serve` has printed "ready" since it
 * last started, and its port 80 answers from inside the container. The log
 * alone is not enough: it is read from the second StartedAt falls in, and a
 * restart-policy container an engine starts twice within one second (20.10
 * after a SIGKILL, it seems) would pass on its previous run's line.
 */
export async function waitServing(docker: Docker, id: string, timeoutMs = 20_000): Promise<void> {
  const self = containerSource(docker, id);
  const ok = await until(
    async () => {
      const info = await docker
        .getContainer(id)
        .inspect()
        .catch(() => null);
      if (!info?.State.Running) return false;
      const since = Math.floor(Date.parse(info.State.StartedAt) / 1000);
      const logs = await docker
        .getContainer(id)
        .logs({ stdout: true, since })
        .catch(() => Buffer.alloc(0));
      if (!logs.toString('utf8').includes('ready')) return false;
      return (await probe(self, '127.0.0.1', 80, { timeoutS: 1 }).catch(() => null))?.state === 'open';
    },
    timeoutMs,
    100,
  );
  if (ok === null) throw new Error(`container ${id.slice(0, 12)} is not serving after ${timeoutMs} ms`);
}

/** Addresses of a container by network name (running containers only). */
export async function addressesOf(docker: Docker, id: string): Promise<Record<string, string>> {
  const info = await docker.getContainer(id).inspect();
  return Object.fromEntries(Object.entries(info.NetworkSettings.Networks).map(([n, ep]) => [n, ep.IPAddress]));
}
