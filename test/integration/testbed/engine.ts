// A private Docker engine inside a network namespace: its own data-root,
// exec-root, pidfile, socket, containerd namespace and cgroup parent, so it
// shares nothing with any other engine on the machine and its bridges,
// docker-proxy listeners and (optional) iptables rules live only in `netns`.
import Docker from 'dockerode';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { removeCgroupDirs } from './cgroups.js';
import { dockerdArgs, type DockerdFlags } from './dockerd-args.js';
import { chosenEngine, engineLine, type EngineChoice } from './engine-choice.js';
import { unmountUnder } from './mounts.js';
import type { Netns } from './netns.js';
import { isAlive, pidsWithCmdline, signal, terminate, waitForExit } from './processes.js';
import { execaRun, type Run } from './run.js';
import { execaSpawn, type Spawn, type Spawned } from './spawn.js';

export interface EngineOptions extends DockerdFlags {
  readonly netns: Netns;
  /** Created here and removed on stop. Keep it short: the socket path must fit in 108 bytes. */
  readonly dir: string;
  /** Unique per engine: containerd namespace and cgroup parent. */
  readonly name: string;
  readonly startTimeoutMs?: number;
  /** daemon.json content (default `{}`), e.g. runtimes for the start gate. */
  readonly daemonJson?: Readonly<Record<string, unknown>>;
  /** Which engine to run; default: the one MOAT_ENGINE chooses (engine-choice.ts). */
  readonly engine?: EngineChoice;
  readonly run?: Run;
  readonly spawn?: Spawn;
}

export interface StopReport {
  /** Anything that needed SIGKILL or was still running after dockerd exited. */
  readonly forced: readonly string[];
  readonly unmounted: readonly string[];
  readonly cgroupsLeft: readonly string[];
}

export interface Engine extends AsyncDisposable {
  readonly docker: Docker;
  readonly socketPath: string;
  /** `unix://…`, for DOCKER_HOST. */
  readonly dockerHost: string;
  readonly dir: string;
  readonly name: string;
  readonly netns: Netns;
  /** The engine line that runs (20.10, 26.1, 28.5) and its binaries. */
  readonly choice: EngineChoice;
  /** What `docker version` says of the server, one line: `Docker 28.5.2+dfsg4 (API 1.51, containerd 2.1.9, runc 1.1.5-…)`. */
  readonly version: string;
  /** PID of the running dockerd. */
  pid(): number;
  log(): Promise<string>;
  /** Stops dockerd (containers stop with it) and starts it again on the same socket. */
  restart(): Promise<void>;
  stop(): Promise<StopReport>;
}

export async function startEngine(options: EngineOptions): Promise<Engine> {
  const { netns, dir, name } = options;
  const run = options.run ?? execaRun;
  const spawn = options.spawn ?? execaSpawn;
  const socketPath = join(dir, 'docker.sock');
  const logPath = join(dir, 'dockerd.log');
  if (Buffer.byteLength(socketPath) > 100) throw new Error(`socket path too long for a unix socket: ${socketPath}`);
  const choice = options.engine ?? chosenEngine();
  const args = dockerdArgs(dir, name, options, choice);
  // A fetched engine's own binaries (containerd, shim, docker-proxy) first; runc is the system's.
  const env = { PATH: [...choice.pathDirs, process.env.PATH ?? '', '/usr/local/sbin:/usr/sbin:/sbin:/usr/bin:/bin'].join(':') };
  const docker = new Docker({ socketPath });
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'daemon.json'), `${JSON.stringify(options.daemonJson ?? {}, null, 2)}\n`);

  let daemon: Spawned | null = null;
  let containerdPid: number | null = null;
  const log = () => readFile(logPath, 'utf8').catch(() => '');

  async function launch(): Promise<void> {
    const [file, argv] = netns.enter(args);
    const proc = spawn(file, argv, { env, stdout: logPath, stderr: logPath });
    daemon = proc;
    const deadline = Date.now() + (options.startTimeoutMs ?? 20_000);
    let exited = false;
    void proc.exited.then(() => (exited = true));
    for (;;) {
      if (
        await docker.ping().then(
          () => true,
          () => false,
        )
      )
        break;
      if (exited || Date.now() > deadline) {
        throw new Error(
          `dockerd ${choice.version} (${choice.dockerd}) in ${netns.name} ${exited ? 'exited' : 'did not answer'}; log tail:\n${(await log()).slice(-3000)}`,
        );
      }
      await sleep(50);
    }
    // dockerd starts its managed containerd as a direct child.
    const children = await readFile(`/proc/${proc.pid}/task/${proc.pid}/children`, 'utf8').catch(() => '');
    containerdPid = children.trim().split(/\s+/).filter(Boolean).map(Number)[0] ?? null;
  }

  async function halt(forced: string[]): Promise<void> {
    const proc = daemon;
    daemon = null;
    if (proc && (await isAlive(proc.pid)) && (await terminate(proc.pid, 20_000))) forced.push(`dockerd ${proc.pid} needed SIGKILL`);
    if (containerdPid !== null && !(await waitForExit(containerdPid, 10_000))) {
      signal(containerdPid, 'SIGKILL');
      forced.push(`containerd ${containerdPid} outlived dockerd`);
    }
    containerdPid = null;
    // Shims double-fork away from containerd; they name our exec-root in their argv.
    for (const pid of await pidsWithCmdline(`${dir}/`)) {
      signal(pid, 'SIGKILL');
      forced.push(`pid ${pid} (shim?) outlived dockerd`);
    }
  }

  let version = '';
  async function describeVersion(): Promise<string> {
    const v = (await docker.version()) as { Version: string; ApiVersion: string; Components?: Array<{ Name: string; Version: string }> };
    // A PATH mix-up (the system's dockerd instead of the fetched one) must not pass unnoticed.
    if (engineLine(v.Version) !== choice.version) throw new Error(`engine ${choice.version} asked for, but dockerd says ${v.Version}`);
    const part = (n: string) => v.Components?.find((c) => c.Name.toLowerCase() === n)?.Version;
    const parts = [`API ${v.ApiVersion}`, ...['containerd', 'runc'].flatMap((n) => (part(n) ? [`${n} ${part(n)}`] : []))];
    return `Docker ${v.Version} (${parts.join(', ')})`;
  }

  let stopped: Promise<StopReport> | null = null;
  const engine: Engine = {
    docker,
    socketPath,
    dockerHost: `unix://${socketPath}`,
    dir,
    name,
    netns,
    choice,
    get version() {
      return version;
    },
    pid() {
      if (!daemon) throw new Error('engine is not running');
      return daemon.pid;
    },
    log,
    async restart() {
      const forced: string[] = [];
      await halt(forced);
      if (forced.length > 0) throw new Error(`engine restart was not clean: ${forced.join('; ')}`);
      await launch();
    },
    stop() {
      stopped ??= (async () => {
        const forced: string[] = [];
        if (
          daemon &&
          (await docker.ping().then(
            () => true,
            () => false,
          ))
        ) {
          // Removing containers first keeps dockerd's own shutdown short and leaves no shims.
          const all = await docker.listContainers({ all: true }).catch(() => []);
          // A few at a time, each bounded: dockerd 20.10 can deadlock (in
          // releaseNetwork) when many containers are force-removed at once; a
          // removal that hangs is left to the SIGTERM/SIGKILL below.
          const remove = (id: string) =>
            Promise.race([
              docker
                .getContainer(id)
                .remove({ force: true, v: true })
                .catch(() => undefined),
              sleep(15_000, undefined, { ref: false }),
            ]);
          for (let i = 0; i < all.length; i += 4) await Promise.all(all.slice(i, i + 4).map((c) => remove(c.Id)));
        }
        await halt(forced);
        const unmounted = await unmountUnder(dir, run);
        const cgroupsLeft = await removeCgroupDirs(name);
        await rm(dir, { recursive: true, force: true });
        return { forced, unmounted, cgroupsLeft };
      })();
      return stopped;
    },
    async [Symbol.asyncDispose]() {
      await engine.stop();
    },
  };
  try {
    await launch();
    version = await describeVersion();
  } catch (err) {
    await engine.stop();
    throw err;
  }
  return engine;
}
