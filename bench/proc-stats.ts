// RSS and CPU of one process from /proc, by PID (a process this bench started).
// CPU counts the process itself and, separately, its reaped children (moatd
// runs iptables-save/-restore as child processes: that work is moat's too).
// RSS is VmRSS; RssAnon is the private part (VmRSS also counts the pages of
// the node binary mapped from the file, ~50 MB, shared with any other node).
import { readFile } from 'node:fs/promises';

/** Linux USER_HZ: /proc/PID/stat counts CPU time in 1/100 s. */
const TICKS_PER_S = 100;

export interface ProcSample {
  readonly atMs: number;
  readonly rssKb: number;
  readonly anonKb: number;
  /** user + system CPU time of the process, ms. */
  readonly cpuMs: number;
  /** user + system CPU time of its reaped children, ms. */
  readonly childMs: number;
}

const kb = (status: string, key: string) => Number(new RegExp(`${key}:\\s+(\\d+)`).exec(status)?.[1] ?? NaN);

export async function sampleProc(pid: number): Promise<ProcSample> {
  const [status, stat] = await Promise.all([readFile(`/proc/${pid}/status`, 'utf8'), readFile(`/proc/${pid}/stat`, 'utf8')]);
  // Fields after the command name: utime, stime, cutime, cstime are at 11..14.
  const f = stat
    .slice(stat.lastIndexOf(')') + 2)
    .split(' ')
    .map(Number);
  const toMs = (ticks: number) => (ticks * 1000) / TICKS_PER_S;
  return { atMs: performance.now(), rssKb: kb(status, 'VmRSS'), anonKb: kb(status, 'RssAnon'), cpuMs: toMs(f[11]! + f[12]!), childMs: toMs(f[13]! + f[14]!) };
}

export async function peakRssKb(pid: number): Promise<number> {
  return kb(await readFile(`/proc/${pid}/status`, 'utf8'), 'VmHWM');
}

export interface Window {
  readonly seconds: number;
  /** CPU time of the process over the window, as % of one core. */
  readonly cpuPercent: number;
  /** The same, plus its children (iptables-save/-restore runs). */
  readonly cpuPercentWithChildren: number;
  readonly rssMbStart: number;
  readonly rssMbEnd: number;
  readonly rssMbMax: number;
  readonly anonMbEnd: number;
  readonly anonMbMax: number;
}

const mb = (k: number) => Math.round(k / 102.4) / 10;

/** Samples `pid` every `everyMs` while `during` runs (or for `seconds` when it is null). */
export async function measureWindow(pid: number, seconds: number, during: (() => Promise<void>) | null = null, everyMs = 200): Promise<Window> {
  const first = await sampleProc(pid);
  let max = first.rssKb;
  let anonMax = first.anonKb;
  let done = false;
  const track = (s: ProcSample) => {
    max = Math.max(max, s.rssKb);
    anonMax = Math.max(anonMax, s.anonKb);
  };
  const sampler = (async () => {
    while (!done) {
      await new Promise((r) => setTimeout(r, everyMs));
      track(await sampleProc(pid));
    }
  })();
  if (during) await during();
  else await new Promise((r) => setTimeout(r, seconds * 1000));
  done = true;
  await sampler;
  const last = await sampleProc(pid);
  track(last);
  const elapsedS = (last.atMs - first.atMs) / 1000;
  const pct = (ms: number) => (elapsedS < 0.05 ? 0 : Math.round((ms / 10 / elapsedS) * 10) / 10);
  return {
    seconds: Math.round(elapsedS * 10) / 10,
    cpuPercent: pct(last.cpuMs - first.cpuMs),
    cpuPercentWithChildren: pct(last.cpuMs - first.cpuMs + last.childMs - first.childMs),
    rssMbStart: mb(first.rssKb),
    rssMbEnd: mb(last.rssKb),
    rssMbMax: mb(max),
    anonMbEnd: mb(last.anonKb),
    anonMbMax: mb(anonMax),
  };
}
