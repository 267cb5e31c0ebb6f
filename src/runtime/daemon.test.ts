import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { captureLogger } from '../../test/fakes/capture-logger.js';
import { FakeDocker } from '../../test/fakes/fake-docker.js';
import { FakeXtables } from '../../test/fakes/fake-xtables.js';
import { hostMixed } from '../../test/fakes/reconciler-on-fakes.js';
import type { CommandRunner } from '../adapters/iptables.js';
import { type MonitorHandlers, parseMonitorLine } from '../adapters/nft-monitor.js';
import { ConfigSchema } from '../core/config.js';
import { Daemon } from './daemon.js';

async function daemon(sysctl: Record<string, string | null>) {
  const cap = captureLogger();
  const kernel = new FakeXtables();
  const docker = new FakeDocker();
  let ready = 0;
  // A policy directory that does not exist: no policy files, nothing to clean up.
  const config = ConfigSchema.parse({ policyDir: join(tmpdir(), `moat-no-policy-${process.pid}`, 'none') });
  const d = new Daemon({
    config,
    docker,
    run: kernel.runner(),
    log: cap.log,
    now: () => 0,
    onReady: () => void ready++,
    readSysctl: async (n) => sysctl[n] ?? null,
  });
  return { d, cap, kernel, docker, ready: () => ready };
}

describe('Daemon', () => {
  it('commits on start, reports ready once, and stops leaving the rules', async () => {
    const { d, cap, kernel, docker, ready } = await daemon({ 'net.bridge.bridge-nf-call-iptables': '1\n', 'net.bridge.bridge-nf-call-ip6tables': '1\n' });
    await d.start();
    for (let i = 0; i < 50 && ready() === 0; i++) await new Promise((r) => setTimeout(r, 5));
    expect(ready()).toBe(1);
    expect(kernel.chain(4, 'filter', 'FORWARD')).toEqual(['-j MOAT-FORWARD']);
    docker.send({ type: 'container', action: 'start', id: 'x' });
    await new Promise((r) => setTimeout(r, 20));
    expect(ready()).toBe(1);
    expect(cap.events('br_netfilter_off')).toEqual([]);
    await d.stop();
    expect(kernel.chain(4, 'filter', 'MOAT-FORWARD')).toBeDefined();
  });

  it('stops only after the connection cuts of the last commit have run', async () => {
    const { d } = await daemon({ 'net.bridge.bridge-nf-call-iptables': '1\n', 'net.bridge.bridge-nf-call-ip6tables': '1\n' });
    await d.start();
    // A revocation still cutting connections (conntrack -D) when SIGTERM arrives.
    let cut = false;
    d.reconciler!.revocations = () => new Promise<void>((r) => setTimeout(() => r(void (cut = true)), 30));
    await d.stop();
    expect(cut).toBe(true);
  });

  it('says loudly when bridged traffic bypasses iptables', async () => {
    const { d, cap } = await daemon({ 'net.bridge.bridge-nf-call-iptables': '0\n', 'net.bridge.bridge-nf-call-ip6tables': null });
    await d.start();
    await d.stop();
    expect(cap.events('br_netfilter_off').map((l) => [l.sysctl, l.value])).toEqual([
      ['net.bridge.bridge-nf-call-iptables', '0'],
      ['net.bridge.bridge-nf-call-ip6tables', null],
    ]);
  });
});

/** A daemon on a fake nf_tables kernel whose restores show up on a fake `nft monitor`, as the real one prints them. */
function onMonitor(backend: 'nf_tables' | 'legacy') {
  const cap = captureLogger();
  const kernel = new FakeXtables();
  const docker = new FakeDocker();
  docker.lists_ = hostMixed;
  const mon = { opened: 0, closed: 0, handlers: null as MonitorHandlers | null };
  const emit = (...lines: string[]) => lines.forEach((l) => mon.handlers?.onLine(parseMonitorLine(l)!));
  const base = kernel.runner();
  let nextPid = 1000;
  const run: CommandRunner = async (file, args, input, onSpawn) => {
    if (args[0] === '--version') return { stdout: `${file} v1.8.9 (${backend})\n`, stderr: '', exitCode: 0 };
    const pid = nextPid++;
    onSpawn?.(pid);
    const res = await base(file, args, input);
    if (file.endsWith('-restore') && res.exitCode === 0)
      emit('add rule ip filter MOAT-FORWARD counter accept', `# new generation 9 by process ${pid} (${file.slice(0, 15)})`);
    return res;
  };
  const config = ConfigSchema.parse({ policyDir: join(tmpdir(), `moat-no-policy-${process.pid}`, 'none') });
  const monitor = (h: MonitorHandlers) => {
    mon.opened++;
    mon.handlers = h;
    return () => void (mon.closed++, (mon.handlers = null));
  };
  let ready = false;
  const d = new Daemon({ config, docker, run, log: cap.log, now: () => 0, monitor, onReady: () => void (ready = true) });
  return { d, cap, kernel, docker, mon, emit, ready: () => ready };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('Daemon drift watching', () => {
  it('on nf_tables, checks on change: its own commits cost no check, a foreign one is repaired; stop kills the monitor', async () => {
    const t = onMonitor('nf_tables');
    await t.d.start();
    for (let i = 0; i < 100 && !t.ready(); i++) await sleep(5);
    expect(t.cap.events('drift_watch')).toMatchObject([{ mode: 'monitor' }]);
    await sleep(400); // the look after the monitor opened
    const saves = t.kernel.saves;
    t.docker.lists_ = { ...hostMixed, containers: hostMixed.containers.slice(1) };
    t.docker.send({ type: 'container', action: 'destroy', id: hostMixed.containers[0].Id });
    await sleep(400);
    expect(t.cap.events('reconcile').at(-1)).toMatchObject({ trigger: 'container.destroy', committed: true });
    expect(t.kernel.saves).toBe(saves); // planned in memory, and no check after its own commit
    t.kernel.families[4].get('filter')!.set('FORWARD', []);
    t.emit('delete rule ip filter FORWARD handle 3', '# new generation 10 by process 1 (iptables)');
    for (let i = 0; i < 100 && t.kernel.chain(4, 'filter', 'FORWARD')!.length === 0; i++) await sleep(10);
    expect(t.kernel.chain(4, 'filter', 'FORWARD')).toEqual(['-j MOAT-FORWARD']);
    expect(t.cap.events('drift_repaired')).toHaveLength(1);
    await t.d.stop();
    expect([t.mon.opened, t.mon.closed]).toEqual([1, 1]);
  });

  it('polls on the legacy backend: nft monitor would not see its changes', async () => {
    const t = onMonitor('legacy');
    await t.d.start();
    await t.d.stop();
    expect(t.mon.opened).toBe(0);
    expect(t.cap.events('drift_watch')).toMatchObject([{ mode: 'poll', intervalMs: 2000 }]);
  });
});

describe('Daemon and containers being started', () => {
  const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));
  const edgey = hostMixed.containers.find((c: { Names: string[] }) => c.Names[0] === '/edgey');
  const others = { ...hostMixed, containers: hostMixed.containers.filter((c: unknown) => c !== edgey) };
  const holdsEdgey = (kernel: FakeXtables) => [...kernel.families[4].get('filter')!.values()].flat().some((r) => r.includes('172.22.0.2'));

  async function setup() {
    const cap = captureLogger();
    const kernel = new FakeXtables();
    const docker = new FakeDocker();
    docker.lists_ = others;
    const config = ConfigSchema.parse({ policyDir: join(tmpdir(), `moat-no-policy-${process.pid}`, 'none') });
    const d = new Daemon({ config, docker, run: kernel.runner(), log: cap.log, now: () => performance.now(), readSysctl: async () => '1\n' });
    await d.start();
    for (let i = 0; i < 100 && cap.events('reconcile').length === 0; i++) await wait(5);
    return { cap, kernel, docker, d };
  }

  it('commits every start at once: no grant waits for a burst to pause', async () => {
    const { cap, kernel, docker, d } = await setup();
    const before = kernel.restores.length;
    docker.lists_ = hostMixed;
    docker.send({ type: 'container', action: 'start', id: edgey.Id });
    docker.send({ type: 'container', action: 'start', id: others.containers[0].Id });
    for (let i = 0; i < 100 && !holdsEdgey(kernel); i++) await wait(5);
    expect(holdsEdgey(kernel)).toBe(true);
    expect(kernel.restores.length).toBe(before + 1);
    expect(cap.events('reconcile').filter((r) => r.committed && String(r.trigger).includes('container.start'))).toHaveLength(1);
    expect(cap.events('commit_held')).toEqual([]);
    await d.stop();
  });

  it('enforces a container at network connect, before it is listed running, and forgets it when it dies', async () => {
    const { cap, kernel, docker, d } = await setup();
    docker.starting_.set(edgey.Id, edgey);
    docker.send({ type: 'network', action: 'connect', id: edgey.NetworkSettings.Networks.edge.NetworkID, container: edgey.Id });
    for (let i = 0; i < 100 && !holdsEdgey(kernel); i++) await wait(5);
    expect(holdsEdgey(kernel)).toBe(true);
    // The gate then finds it committed already: an answer without another reconcile.
    const reconciles = cap.events('reconcile').length;
    expect(await d.admit(edgey.Id, 2_000)).toMatchObject({ verdict: 'committed' });
    expect(cap.events('reconcile')).toHaveLength(reconciles);
    docker.send({ type: 'container', action: 'die', id: edgey.Id });
    for (let i = 0; i < 100 && holdsEdgey(kernel); i++) await wait(5);
    expect(holdsEdgey(kernel)).toBe(false);
    await d.stop();
  });

  it('answers the start gate once a commit holds the container, and at once for what it cannot enforce', async () => {
    const { kernel, docker, d } = await setup();
    docker.starting_.set(edgey.Id, edgey);
    const answer = await d.admit(edgey.Id, 2_000);
    expect(answer).toMatchObject({ id: edgey.Id, verdict: 'committed' });
    expect(holdsEdgey(kernel)).toBe(true);
    const restores = kernel.restores.length;
    expect(await d.admit('f'.repeat(64), 2_000)).toMatchObject({ verdict: 'unknown' });
    const nonet = hostMixed.containers.find((c: { Names: string[] }) => c.Names[0] === '/nonet');
    docker.starting_.set(nonet.Id, { ...nonet, NetworkSettings: { Networks: {} } });
    expect(await d.admit(nonet.Id, 2_000)).toMatchObject({ verdict: 'no-network' });
    expect(kernel.restores.length).toBe(restores);
    // Once listed running, the listing is the source: nothing changes.
    docker.lists_ = hostMixed;
    docker.send({ type: 'container', action: 'start', id: edgey.Id });
    await wait(50);
    expect(holdsEdgey(kernel)).toBe(true);
    expect(kernel.restores.length).toBe(restores);
    await d.stop();
  });
});
