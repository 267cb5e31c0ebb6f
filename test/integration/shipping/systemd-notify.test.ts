// moatd's readiness hook with the real systemd-notify(1): a Python datagram
// socket stands in for systemd's NOTIFY_SOCKET (Node cannot open one) and
// records what arrives.
import { execa, type ResultPromise } from 'execa';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { execaRunner } from '../../../src/adapters/exec.js';
import { systemdReadiness } from '../../../src/adapters/systemd-notify.js';

const RECEIVER = `
import array, os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
print("listening", flush=True)
s.settimeout(10)
while True:
    try:
        msg, anc, _, _ = s.recvmsg(4096, socket.CMSG_SPACE(64))
    except socket.timeout:
        break
    for level, kind, data in anc:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            fds = array.array("i"); fds.frombytes(data[: len(data) - len(data) % fds.itemsize])
            for fd in fds: os.close(fd)   # answers systemd-notify's BARRIER=1, as systemd does
    print(msg.decode().replace("\\n", "|"), flush=True)
`;

const have = async (cmd: string) => (await execa(cmd, ['--version'], { reject: false })).exitCode === 0;
const ok = (await have('python3')) && (await have('systemd-notify'));

describe.skipIf(!ok)('systemdReadiness with the real systemd-notify', () => {
  let dir = '';
  let receiver: ResultPromise | null = null;
  afterEach(async () => {
    receiver?.kill();
    await receiver?.catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  });

  it('sends READY=1 (and a status) to NOTIFY_SOCKET, logging success', async () => {
    dir = await mkdtemp(join(tmpdir(), 'moat-notify-'));
    const socket = join(dir, 'notify');
    receiver = execa('python3', ['-c', RECEIVER, socket], { reject: false, buffer: true });
    const lines: string[] = [];
    receiver.stdout?.on('data', (b: Buffer) => lines.push(...b.toString().split('\n').filter(Boolean)));
    while (!lines.includes('listening')) await sleep(20);

    const events: unknown[] = [];
    const log = { info: (o: { event: string }) => events.push(o.event), warn: (o: { event: string }) => events.push(o.event) };
    const hook = systemdReadiness({ NOTIFY_SOCKET: socket }, execaRunner(), log as never);
    expect(hook).toBeDefined();
    const saved = process.env.NOTIFY_SOCKET;
    process.env.NOTIFY_SOCKET = socket; // execa passes the daemon's own environment on
    try {
      hook?.();
      for (let i = 0; i < 200 && events.length === 0; i++) await sleep(20);
    } finally {
      if (saved === undefined) delete process.env.NOTIFY_SOCKET;
      else process.env.NOTIFY_SOCKET = saved;
    }
    expect(events).toEqual(['systemd_notified']);
    expect(lines).toContain('READY=1|STATUS=enforcing: first ruleset committed');
  });
});
