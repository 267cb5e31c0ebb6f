// dns-ask.ts run where a test needs it: inside a container's network
// namespace (the container's own address asks, as its resolver would) or a
// bed namespace. The probe image has no node; the machine's Node 24 enters
// the container's namespace only (nsenter --net), never its file system.
import type Docker from 'dockerode';
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Netns } from './netns.js';
import { execaRun, type Run } from './run.js';

const ASK = fileURLToPath(new URL(`./dns-ask${extname(fileURLToPath(import.meta.url))}`, import.meta.url));

/** Where dns-ask runs: argv -> the argv that runs it there. */
export type Enter = (argv: readonly string[]) => [string, string[]];

export const inNetns = (netns: Netns): Enter => netns.enter;

/** The network namespace of a running container, by its PID (read now: the container must keep running). */
export async function inContainer(docker: Docker, container: string): Promise<Enter> {
  const pid = (await docker.getContainer(container).inspect()).State.Pid;
  if (!pid) throw new Error(`container ${container} is not running`);
  return (argv) => ['nsenter', [`--net=/proc/${pid}/ns/net`, ...argv]];
}

export interface DnsAnswer {
  readonly ms: number;
  readonly rcode?: string;
  readonly id?: number;
  readonly answers?: readonly { readonly type: string; readonly name: string; readonly ttl?: number; readonly data: string }[];
  readonly error?: string;
  /** With --connect: the TCP connect made the moment the answer was decoded. */
  readonly connected?: boolean;
  readonly connectError?: string;
}

/** Runs dns-ask with `args` (see its header); its JSON lines. */
export async function dnsAsk(enter: Enter, args: readonly string[], run: Run = execaRun, timeoutMs = 120_000): Promise<unknown[]> {
  const [file, argv] = enter([process.execPath, ASK, ...args]);
  const res = await run(file, argv, { timeoutMs });
  return res.stdout
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as unknown);
}

/** One query: `server` asked `name`/`type`. */
export async function askOnce(enter: Enter, server: string, name: string, type: 'A' | 'AAAA' = 'A', extra: readonly string[] = []): Promise<DnsAnswer> {
  const [answer] = (await dnsAsk(enter, ['--server', server, '--name', name, '--type', type, ...extra])) as DnsAnswer[];
  if (!answer) throw new Error(`dns-ask printed nothing for ${name}`);
  return answer;
}
