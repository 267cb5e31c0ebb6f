// Probes beyond the bed's HTTP one, for flows-*.test.ts: UDP (busybox tftp
// against a tiny Python TFTP responder in a peer namespace) and ICMP (busybox
// ping). Same table style as check(): every case in parallel, one assertion.
// The TCP cases of the flows tests are built in flows-cases.ts.
import { expect } from 'vitest';
import type { Netns } from './testbed/netns.js';
import type { ProbeSource } from './testbed/probe.js';
import { terminate } from './testbed/processes.js';
import { execaSpawn, type Spawn } from './testbed/spawn.js';
import { setTimeout as sleep } from 'node:timers/promises';

// Answers a TFTP read request with one DATA block holding the client address
// it saw, from the same socket (a reply from a new port would not be a
// conntrack reply). Dual-stack, like the bed's httpd.
const TFTP_RESPONDER = `
import socket, sys
s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
s.bind(('::', int(sys.argv[1])))
print('ready', flush=True)
while True:
    data, addr = s.recvfrom(2048)
    if data[:2] != b'\\x00\\x01':
        continue
    host = addr[0][7:] if addr[0].startswith('::ffff:') else addr[0]
    s.sendto(b'\\x00\\x03\\x00\\x01' + host.encode() + b'\\n', addr)
`;

export interface UdpResponder {
  readonly pid: number;
  stop(): Promise<void>;
}

/** Starts the UDP responder in `netns` on `port`; stop it by PID. */
export async function startUdpResponder(netns: Netns, port: number, spawn: Spawn = execaSpawn): Promise<UdpResponder> {
  const [file, argv] = netns.enter(['/usr/bin/python3', '-u', '-c', TFTP_RESPONDER, String(port)]);
  const proc = spawn(file, argv, { stdout: 'pipe', stderr: 'ignore' });
  const ready = new Promise<void>((resolve, reject) => {
    proc.stdout?.setEncoding('utf8').on('data', (d: string) => d.includes('ready') && resolve());
    void proc.exited.then(() => reject(new Error(`UDP responder on ${netns.name}:${port} exited`)));
  });
  await Promise.race([ready, sleep(5_000).then(() => Promise.reject(new Error('UDP responder did not start')))]);
  return { pid: proc.pid, stop: async () => void (await terminate(proc.pid, 2_000)) };
}

export type OtherProto = 'udp' | 'icmp';

export interface OtherCase {
  readonly name: string;
  readonly proto: OtherProto;
  readonly from: ProbeSource;
  readonly to: string;
  /** udp only. */
  readonly port?: number;
  readonly state: 'open' | 'closed';
  /** udp open: the client address the responder saw. */
  readonly seen?: string;
}

export interface OtherResult {
  readonly state: 'open' | 'closed';
  readonly body: string;
  readonly stderr: string;
}

export async function probeOther(c: OtherCase, timeoutS = 1): Promise<OtherResult> {
  const argv =
    c.proto === 'icmp'
      ? ['/bin/busybox', c.to.includes(':') ? 'ping6' : 'ping', '-c', '1', '-W', String(timeoutS), c.to]
      : ['/bin/busybox', 'timeout', String(timeoutS + 1), '/bin/busybox', 'tftp', '-g', '-r', 'ip', '-l', '-', c.to, String(c.port ?? 69)];
  const res = await c.from.exec(argv, (timeoutS + 1) * 1000 + 10_000);
  return { state: res.exitCode === 0 ? 'open' : 'closed', body: res.stdout.trim(), stderr: res.stderr.trim() };
}

/** Like check(): a table of UDP/ICMP verdicts, compared in one assertion. */
export async function checkOther(cases: readonly OtherCase[]): Promise<void> {
  const results = await Promise.all(cases.map((c) => probeOther(c)));
  const verdict = (name: string, state: string, seen?: string) => `${name}: ${state}${seen ? ` ${seen}` : ''}`;
  const got = results.map((r, i) => verdict(cases[i]?.name ?? '', r.state, r.state === 'open' && cases[i]?.seen ? r.body : undefined));
  const want = cases.map((c) => verdict(c.name, c.state, c.state === 'open' ? c.seen : undefined));
  expect(got, JSON.stringify(results, null, 1)).toEqual(want);
}
