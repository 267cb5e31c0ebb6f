// The whole bed in one disposable: topology, private engine, probe image,
// and whatever a test starts on it, torn down in reverse order even when the
// test failed. Use as `await using bed = await createBed()`, or keep it in a
// beforeAll/afterAll pair and call dispose().
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DNS_HOST_LO_ADDRESSES, DNS_WORLD_ADDRESSES, DNS_LISTEN, setUpDns, type BedDns, type DnsBedOptions } from './dns-bed.js';
import { createDockerNetwork, type DockerNetwork, type NetworkSpec } from './docker-network.js';
import { startEngine, type Engine, type EngineOptions } from './engine.js';
import { iptablesBackend } from './iptables-backend.js';
import { startMoatd, type Moatd, type MoatdOptions } from './moatd.js';
import { buildProbeImage } from './probe-image.js';
import { execaRun, type Run } from './run.js';
import { startServerContainer, type ServerContainer, type ServerSpec } from './server-container.js';
import { execaSpawn, type Spawn } from './spawn.js';
import { createTopology, type Topology } from './topology.js';

/** The start gate of this repository (see BedOptions.startGate). */
export const GATE_WRAPPER = fileURLToPath(new URL('../../../bin/moat-runc', import.meta.url));

export interface BedOptions {
  readonly engine?: Omit<EngineOptions, 'netns' | 'dir' | 'name' | 'run' | 'spawn'>;
  readonly peerHttpPorts?: readonly number[];
  readonly hostHttpPorts?: readonly number[];
  /** Register bin/moat-runc as the engine's default runtime, asking `${dir}/moat.sock` (moatd's socket in the test's config). */
  readonly startGate?: { readonly waitMs?: number } | boolean;
  /**
   * The DNS bed (dns-bed.ts): a test DNS server in world, its two servers' addresses,
   * DNS_LISTEN on the host ns's lo and daemon.json `"dns": [DNS_LISTEN]`; `bed.dns.config`
   * is moatd's `dns:` key for it.
   */
  readonly dns?: DnsBedOptions | boolean;
  readonly run?: Run;
  readonly spawn?: Spawn;
}

export interface TeardownReport {
  /** Processes that needed SIGKILL or outlived their parent, leftover mounts and cgroups: all should be empty. */
  readonly forced: readonly string[];
  readonly unmounted: readonly string[];
  readonly cgroupsLeft: readonly string[];
}

export interface Bed extends AsyncDisposable {
  /** moat-<6 hex>: in every namespace, containerd namespace and cgroup name of this run. */
  readonly prefix: string;
  /** /tmp/PREFIX: every file of this run. */
  readonly dir: string;
  readonly topology: Topology;
  readonly engine: Engine;
  readonly image: string;
  /** Present when created with `dns`. */
  readonly dns: BedDns | null;
  createNetwork(spec: NetworkSpec): Promise<DockerNetwork>;
  startServer(spec?: ServerSpec): Promise<ServerContainer>;
  startMoatd(options: Omit<MoatdOptions, 'netns' | 'dockerHost' | 'spawn'>): Moatd;
  /** Writes a file under the bed's directory (configs, policies); returns its path. */
  writeFile(name: string, content: string): Promise<string>;
  dispose(): Promise<TeardownReport>;
}

export async function createBed(options: BedOptions = {}): Promise<Bed> {
  const run = options.run ?? execaRun;
  const spawn = options.spawn ?? execaSpawn;
  const prefix = `moat-${randomBytes(3).toString('hex')}`;
  const dir = `/tmp/${prefix}`;
  const cleanups: Array<() => Promise<void>> = [];
  const forced: string[] = [];
  let unmounted: readonly string[] = [];
  let cgroupsLeft: readonly string[] = [];
  let moatds = 0;

  let disposing: Promise<TeardownReport> | null = null;
  const dispose = () =>
    (disposing ??= (async () => {
      const errors: unknown[] = [];
      for (const cleanup of cleanups.reverse()) await cleanup().catch((err: unknown) => errors.push(err));
      await rm(dir, { recursive: true, force: true });
      if (errors.length > 0) throw new AggregateError(errors, `teardown of ${prefix} failed`);
      return { forced, unmounted, cgroupsLeft };
    })());

  try {
    await mkdir(dir, { recursive: true });
    const dnsOptions = options.dns === true ? {} : options.dns || null;
    const topology = await createTopology({
      prefix,
      dir,
      peerHttpPorts: options.peerHttpPorts,
      hostHttpPorts: options.hostHttpPorts,
      ...(dnsOptions ? { worldAddresses: DNS_WORLD_ADDRESSES, hostLoAddresses: DNS_HOST_LO_ADDRESSES } : {}),
      run,
      spawn,
    });
    cleanups.push(async () => void forced.push(...(await topology.dispose())));
    const dns = dnsOptions ? await setUpDns(topology, dir, dnsOptions, spawn, (cleanup) => cleanups.push(cleanup)) : null;
    const gate = options.startGate
      ? {
          runtimes: {
            moat: {
              path: GATE_WRAPPER,
              runtimeArgs: [
                '--moat-socket',
                join(dir, 'moat.sock'),
                '--moat-wait-ms',
                String((typeof options.startGate === 'object' ? options.startGate.waitMs : undefined) ?? 5_000),
              ],
            },
          },
          'default-runtime': 'moat',
        }
      : {};
    const engine = await startEngine({
      ...options.engine,
      daemonJson: { ...gate, ...(dns ? { dns: [DNS_LISTEN] } : {}), ...options.engine?.daemonJson },
      netns: topology.host,
      dir: join(dir, 'e'),
      name: prefix,
      run,
      spawn,
    });
    cleanups.push(async () => {
      const report = await engine.stop();
      forced.push(...report.forced);
      unmounted = report.unmounted;
      cgroupsLeft = report.cgroupsLeft;
    });
    // In the test output, so that a failure names the engine it ran on.
    console.info(`test bed ${prefix}: ${engine.version}; iptables backend ${await iptablesBackend(topology.host)}`);
    const image = await buildProbeImage(engine.docker, { tmpDir: dir, run });
    const bed: Bed = {
      prefix,
      dir,
      topology,
      engine,
      image,
      dns,
      async createNetwork(spec) {
        const network = await createDockerNetwork(engine.docker, spec);
        cleanups.push(() => network.remove());
        return network;
      },
      async startServer(spec) {
        const server = await startServerContainer(engine, spec);
        cleanups.push(() => server.stop());
        return server;
      },
      startMoatd(moatdOptions) {
        // Keep moatd's control socket in the bed (not /run/moat on the machine)
        // unless the test's config places it itself.
        const configText = (() => {
          try {
            return readFileSync(moatdOptions.configPath, 'utf8');
          } catch {
            return ''; // a test of a missing or unreadable config
          }
        })();
        const ownSocket = moatdOptions.bin !== undefined || configText.includes('control:');
        const args =
          ownSocket || moatdOptions.args?.includes('--control-socket')
            ? moatdOptions.args
            : [...(moatdOptions.args ?? []), '--control-socket', join(dir, `moatd-${++moatds}.sock`)];
        const moatd = startMoatd({ ...moatdOptions, ...(args ? { args } : {}), netns: topology.host, dockerHost: engine.dockerHost, spawn });
        cleanups.push(async () => {
          if (!moatd.running()) return;
          const exit = await moatd.stop();
          if (exit.signal === 'SIGKILL') forced.push(`moatd ${moatd.pid} needed SIGKILL`);
        });
        return moatd;
      },
      async writeFile(name, content) {
        const path = join(dir, name);
        await mkdir(dirname(path), { recursive: true });
        await writeFile(path, content);
        return path;
      },
      dispose,
      async [Symbol.asyncDispose]() {
        await dispose();
      },
    };
    return bed;
  } catch (err) {
    await dispose().catch(() => undefined);
    throw err;
  }
}
