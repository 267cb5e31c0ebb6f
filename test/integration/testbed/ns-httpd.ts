// busybox httpd in a namespace (the host itself, or a LAN/WORLD peer), in the
// foreground so its PID is the one we recorded and stop.
import type { Netns } from './netns.js';
import { terminate } from './processes.js';
import { execaSpawn, type Spawn } from './spawn.js';
import { setTimeout as sleep } from 'node:timers/promises';

export interface NsHttpd extends AsyncDisposable {
  readonly netns: Netns;
  readonly port: number;
  readonly pid: number;
  stop(): Promise<void>;
}

export async function startNsHttpd(netns: Netns, port: number, wwwDir: string, spawn: Spawn = execaSpawn): Promise<NsHttpd> {
  const [file, argv] = netns.enter(['/bin/busybox', 'httpd', '-f', '-p', String(port), '-h', wwwDir]);
  const proc = spawn(file, argv, { stderr: 'ignore' });
  let exited = false;
  void proc.exited.then(() => (exited = true));
  const stop = async () => {
    await terminate(proc.pid, 5_000);
  };
  // Ready once the CGI answers on loopback (proves the listener and the document root).
  const deadline = Date.now() + 5_000;
  for (;;) {
    const res = await netns.run('/bin/busybox', ['wget', '-q', '-O', '-', `http://127.0.0.1:${port}/cgi-bin/ip`], { check: false, timeoutMs: 2_000 });
    if (res.exitCode === 0) break;
    if (exited || Date.now() > deadline) {
      await stop();
      throw new Error(`httpd on ${netns.name}:${port} did not come up: ${res.stderr.trim()}`);
    }
    await sleep(20);
  }
  return { netns, port, pid: proc.pid, stop, [Symbol.asyncDispose]: stop };
}
