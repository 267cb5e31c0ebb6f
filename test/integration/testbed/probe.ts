// One TCP probe: an HTTP GET of /cgi-bin/ip with busybox wget under busybox
// timeout, from a container, a peer namespace or the host namespace. "open"
// means the server answered; its body is the client address it saw.
import type Docker from 'dockerode';
import { execInContainer } from './container-exec.js';
import type { Netns } from './netns.js';
import type { RunResult } from './run.js';

export type ProbeState = 'open' | 'closed';
/** Why a probe failed: reject (RST / ICMP port unreachable), drop, ICMP unreachable, other. */
export type ClosedReason = 'refused' | 'timeout' | 'unreachable' | 'error';

export interface ProbeResult {
  readonly state: ProbeState;
  readonly reason: ClosedReason | null;
  /** Trimmed response body: for /cgi-bin/ip, the client address the server saw. */
  readonly body: string;
  readonly from: string;
  readonly url: string;
  readonly stderr: string;
}

export interface ProbeSource {
  readonly label: string;
  exec(argv: readonly string[], timeoutMs: number): Promise<RunResult>;
}

export interface ProbeOptions {
  /** Connect + response budget, in whole seconds (busybox timeout). Default 2. */
  readonly timeoutS?: number;
  readonly path?: string;
}

/** Probes run inside a container: the probe image ships /bin/busybox. */
export function containerSource(docker: Docker, container: string, label = container): ProbeSource {
  return { label, exec: (argv, timeoutMs) => execInContainer(docker, container, argv, timeoutMs) };
}

/** Probes run in a namespace with the machine's /bin/busybox. */
export function netnsSource(netns: Netns, label = netns.name): ProbeSource {
  return { label, exec: (argv, timeoutMs) => netns.run(argv[0] ?? '', argv.slice(1), { check: false, timeoutMs }) };
}

export function url(address: string, port: number, path = '/cgi-bin/ip'): string {
  return `http://${address.includes(':') ? `[${address}]` : address}:${port}${path}`;
}

function reasonOf(res: RunResult): ClosedReason {
  if (/refused/i.test(res.stderr)) return 'refused';
  if (res.exitCode === 143 || res.exitCode === 137) return 'timeout';
  if (/unreachable|no route/i.test(res.stderr)) return 'unreachable';
  return 'error';
}

export async function probe(source: ProbeSource, address: string, port: number, options: ProbeOptions = {}): Promise<ProbeResult> {
  const timeoutS = options.timeoutS ?? 2;
  const target = url(address, port, options.path);
  const argv = ['/bin/busybox', 'timeout', String(timeoutS), '/bin/busybox', 'wget', '-q', '-O', '-', target];
  const res = await source.exec(argv, timeoutS * 1000 + 10_000);
  const open = res.exitCode === 0;
  return {
    state: open ? 'open' : 'closed',
    reason: open ? null : reasonOf(res),
    body: res.stdout.trim(),
    from: source.label,
    url: target,
    stderr: res.stderr.trim(),
  };
}
