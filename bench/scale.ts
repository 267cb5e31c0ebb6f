// Scale: synthetic hosts of 100 to 5,000 containers through the real core and
// a real kernel. Runs inside the bench namespace. For each size:
// - render: computeDesired (fromDocker -> policy -> ruleset -> text), both families;
// - full commit: a fresh Reconciler against an empty kernel, end to end
//   (list over HTTP from the fake engine, render, iptables-save, plan, restore);
// - floor: iptables-restore of the very same text alone, into an empty kernel;
// - resync with nothing changed;
// - one-container change (add, then remove) and one-network change, planned
//   against the live state, so only the changed chains are written; and the
//   same +1 container planned against the last commit kept in memory;
// - per-packet rule counts (packet-walk.ts).
import Docker from 'dockerode';
import { execa } from 'execa';
import pino from 'pino';
import { dockerSource, type DockerSource } from '../src/adapters/docker.js';
import { HostCache } from '../src/runtime/host-cache.js';
import { DEFAULT_CONFIG, type Config } from '../src/core/config.js';
import { fromDocker } from '../src/core/from-docker.js';
import { planRestore } from '../src/core/plan.js';
import { buildPolicy } from '../src/core/policy.js';
import type { LiveState } from '../src/core/live.js';
import { countRules, renderRuleset, renderText, TABLES, type RenderedRuleset } from '../src/core/render.js';
import { buildRuleset } from '../src/core/ruleset.js';
import { computeDesired } from '../src/core/desired.js';
import { Reconciler } from '../src/runtime/reconciler.js';
import { createHash } from 'node:crypto';
import { FakeDocker } from './fake-docker.js';
import { familiesOf, flushMoat, kernelRuleCount } from './kernel.js';
import { packetWalks, type PacketWalks } from './packets.js';
import { summarize, type Summary } from './stats.js';
import { containerJson, extraContainer, hexId, synthetic, type DockerLists, type SyntheticSpec } from './synthetic.js';
import { byTool, timedRunner, type Call } from './timed-runner.js';

export interface ScaleOptions {
  readonly socketPath: string;
  /** Repetitions; the 5,000-container size uses about half. */
  readonly reps: number;
  readonly log: (line: string) => void;
}

export interface ReconcileSteps {
  readonly total: Summary | null;
  readonly lists: Summary | null;
  readonly save: Summary | null;
  readonly restore: Summary | null;
  /** total - lists - save - restore: render, hash, parse of the save output, plan. */
  readonly cpu: Summary | null;
  readonly saveCalls: number;
  readonly restoreCalls: number;
  readonly restoreLines?: Summary | null;
  /** Median time per command (e.g. "iptables-save -t filter"), ms. */
  readonly perCommand: Record<string, number>;
}

export interface SizeResult {
  readonly spec: SyntheticSpec;
  readonly rules: Record<string, Record<string, number>>;
  readonly kernelRules: Record<string, number>;
  readonly fullTextLines: number;
  readonly listBytes: number;
  readonly render: { readonly total: Summary | null; readonly stages: Record<string, number | null> };
  readonly fullCommit: ReconcileSteps;
  readonly floor: { readonly v4: Summary | null; readonly v4v6: Summary | null };
  readonly noChange: ReconcileSteps;
  readonly oneContainerAdd: ReconcileSteps & { readonly chains: readonly string[] };
  readonly oneContainerRemove: ReconcileSteps;
  /** +1 container planned against the last commit kept in memory: no iptables-save, no text hash. */
  readonly oneContainerAddNoSave: ReconcileSteps;
  readonly oneNetworkAdd: ReconcileSteps & { readonly chains: readonly string[] };
  readonly perPacket: PacketWalks;
}

/** The live state a successful commit of `rendered` leaves: its chains, and each built-in chain's jump first. */
function asLive(rendered: RenderedRuleset): LiveState {
  const live: Record<string, { chains: Map<string, readonly string[]> }> = {};
  for (const table of TABLES) {
    const t = rendered.tables[table];
    const chains = new Map<string, readonly string[]>(t.chains);
    for (const [builtin, target] of Object.entries(t.jumps)) chains.set(builtin, [`-j ${target}`]);
    live[table] = { chains };
  }
  return live as LiveState;
}

const time = async <T>(f: () => Promise<T> | T): Promise<[T, number]> => {
  const t = performance.now();
  const v = await f();
  return [v, performance.now() - t];
};

interface Sample {
  readonly total: number;
  readonly lists: number;
  readonly calls: readonly Call[];
}

function steps(samples: readonly Sample[]): ReconcileSteps {
  const tools = samples.map((s) => byTool(s.calls));
  const save = tools.map((t) => (t['iptables-save'] ?? 0) + (t['ip6tables-save'] ?? 0));
  const restore = tools.map((t) => (t['iptables-restore'] ?? 0) + (t['ip6tables-restore'] ?? 0));
  const restoreLines = samples.map((s) => s.calls.filter((c) => c.file.endsWith('-restore')).reduce((n, c) => n + c.inputLines, 0));
  return {
    total: summarize(samples.map((s) => s.total)),
    lists: summarize(samples.map((s) => s.lists)),
    save: summarize(save),
    restore: summarize(restore),
    cpu: summarize(samples.map((s, i) => s.total - s.lists - save[i]! - restore[i]!)),
    saveCalls: samples[0]?.calls.filter((c) => c.file.endsWith('-save')).length ?? 0,
    restoreCalls: samples[0]?.calls.filter((c) => c.file.endsWith('-restore')).length ?? 0,
    restoreLines: summarize(restoreLines),
    perCommand: perCommand(samples),
  };
}

function perCommand(samples: readonly Sample[]): Record<string, number> {
  const acc = new Map<string, number[]>();
  for (const s of samples) {
    const inSample = new Map<string, number>();
    for (const c of s.calls) {
      const key = c.file.endsWith('-save') ? `${c.file} ${c.args.join(' ')}` : c.file;
      inSample.set(key, (inSample.get(key) ?? 0) + c.ms);
    }
    for (const [k, v] of inSample) acc.set(k, [...(acc.get(k) ?? []), v]);
  }
  return Object.fromEntries([...acc].map(([k, v]) => [k, Math.round((summarize(v)?.median ?? NaN) * 10) / 10]));
}

/** A DockerSource that times its list calls. */
function timedDocker(inner: DockerSource): DockerSource & { takeListMs(): number } {
  let ms = 0;
  const timed =
    <A extends unknown[], R>(f: (...a: A) => Promise<R>) =>
    async (...a: A): Promise<R> => {
      const [v, t] = await time(() => f(...a));
      ms += t;
      return v;
    };
  return {
    ...inner,
    lists: timed(() => inner.lists()),
    running: timed((id: string) => inner.running(id)),
    networks: timed(() => inner.networks()),
    takeListMs: () => {
      const v = ms;
      ms = 0;
      return v;
    },
  };
}

function stageTimes(lists: DockerLists, config: Config, reps: number): Record<string, number | null> {
  const acc: Record<string, number[]> = { fromDocker: [], policy: [], ruleset: [], render: [], hash: [] };
  for (let r = 0; r < reps; r++) {
    let t = performance.now();
    const lap = (k: string) => {
      const now = performance.now();
      acc[k]!.push(now - t);
      t = now;
    };
    const { result: snapshot } = fromDocker(lists);
    lap('fromDocker');
    const policy = buildPolicy(snapshot, config);
    lap('policy');
    const rulesets = ([4, 6] as const).map((f) => buildRuleset(policy, config, f));
    lap('ruleset');
    const rendered = rulesets.map(renderRuleset);
    lap('render');
    for (const r of rendered) createHash('sha256').update(renderText(r)).digest('hex');
    lap('hash');
  }
  return Object.fromEntries(Object.entries(acc).map(([k, v]) => [k, summarize(v)?.median ?? null]));
}

export async function runScaleSize(spec: SyntheticSpec, opts: ScaleOptions): Promise<SizeResult> {
  const config = DEFAULT_CONFIG;
  const big = spec.containers >= 5000;
  const reps = big ? Math.max(3, Math.ceil(opts.reps / 2)) : opts.reps;
  const say = (s: string) => opts.log(`[scale ${spec.containers}/${spec.networks}] ${s}`);
  const base = synthetic(spec);
  const fake = new FakeDocker(opts.socketPath);
  fake.setLists(base);
  await fake.start();
  const runner = timedRunner();
  const [v4, v6] = familiesOf(runner);
  const families = [v4!, v6!];
  const docker = timedDocker(dockerSource(new Docker({ socketPath: opts.socketPath })));
  const log = pino({ level: 'silent' });
  // As moatd runs it: Docker events read only what they name (HostCache); anything else lists in full.
  let cache = new HostCache(docker, () => performance.now());
  const reconciler = () => {
    cache = new HostCache(docker, () => performance.now());
    return new Reconciler({ docker, iptables: families, config: () => config, log, now: () => performance.now(), cache });
  };
  const sample = async (rec: Reconciler, trigger: string): Promise<Sample & { committed: boolean; chains: string[] }> => {
    runner.take();
    docker.takeListMs();
    const outcome = await rec.run([trigger]);
    if (!outcome.ok) throw new Error(`reconcile failed at ${spec.containers}: ${outcome.error}`);
    const calls = runner.take();
    const chains = calls
      .filter((c) => c.file.endsWith('-restore'))
      .flatMap((c) =>
        c.input
          .split('\n')
          .filter((l) => l.startsWith(':'))
          .map((l) => l.slice(1).split(' ')[0]!),
      );
    return { total: outcome.durationMs, lists: docker.takeListMs(), calls, committed: outcome.committed, chains };
  };

  try {
    // Render.
    say('render');
    const renderMs: number[] = [];
    let desired = computeDesired(base, config, [4, 6]);
    const renderReps = big ? 10 : 25;
    for (let r = 0; r < renderReps; r++) renderMs.push((await time(() => (desired = computeDesired(base, config, [4, 6]))))[1]);
    const stages = stageTimes(base, config, renderReps);
    const rules = { v4: countRules(desired.rendered[0]!), v6: countRules(desired.rendered[1]!) };
    const problems = desired.problems.filter((p) => p.kind !== 'not_firewalled');
    if (problems.length > 0) say(`note: ${problems.length} problems in the synthetic host, e.g. ${JSON.stringify(problems[0])}`);

    // Full commit into an empty kernel, end to end, and the floor.
    say('full commit');
    const full: Sample[] = [];
    for (let r = 0; r < reps; r++) {
      for (const ipt of families) await flushMoat(ipt);
      full.push(await sample(reconciler(), 'start'));
    }
    const kernelRules = await kernelRuleCount(v4!);
    say('floor');
    const texts = families.map((_, i) => planRestore(desired.rendered[i]!, {}).text!);
    const floor4: number[] = [];
    const floor46: number[] = [];
    for (let r = 0; r < reps; r++) {
      for (const ipt of families) await flushMoat(ipt);
      let sum = 0;
      for (const [i, tool] of (['iptables-restore', 'ip6tables-restore'] as const).entries()) {
        const [res, ms] = await time(() => execa(tool, ['--noflush', '--wait', '5'], { input: texts[i]!, reject: false }));
        if (res.exitCode !== 0) throw new Error(`${tool} failed: ${String(res.stderr)}`);
        if (i === 0) floor4.push(ms);
        sum += ms;
      }
      floor46.push(sum);
    }

    // Steady state: a Reconciler that has seen the live state.
    for (const ipt of families) await flushMoat(ipt);
    const rec = reconciler();
    await sample(rec, 'start');
    say('no-change resync');
    const noChange: Sample[] = [];
    for (let r = 0; r < reps; r++) {
      const s = await sample(rec, 'resync');
      if (s.committed) throw new Error('a resync with nothing changed committed');
      noChange.push(s);
    }

    say('one-container change');
    const adds: (Sample & { chains: string[] })[] = [];
    const removes: Sample[] = [];
    for (let r = 0; r < reps * 2; r++) {
      const extra = extraContainer(spec, r);
      fake.setLists({ networks: base.networks, containers: [...base.containers, extra] });
      cache.note({ type: 'container', action: 'start', id: String(extra.Id) });
      adds.push(await sample(rec, 'container.start'));
      fake.setLists(base);
      cache.note({ type: 'container', action: 'destroy', id: String(extra.Id) });
      removes.push(await sample(rec, 'container.destroy'));
    }

    // What planning against the last commit kept in memory (no iptables-save
    // before each commit) would cost: list, render, plan, restore — nothing else.
    say('one-container change, planned against the last commit in memory');
    const memo = desired.rendered.map(asLive);
    const noSave: Sample[] = [];
    for (let r = 0; r < reps * 2; r++) {
      const steps: [Record<string, unknown>[], boolean][] = [
        [[...base.containers, extraContainer(spec, 100 + r)], true],
        [base.containers, false],
      ];
      for (const [containers, keep] of steps) {
        fake.setLists({ networks: base.networks, containers });
        runner.take();
        docker.takeListMs();
        const t = performance.now();
        const d = computeDesired(await docker.lists(), config, [4, 6]);
        for (const [i, ipt] of families.entries()) {
          const plan = planRestore(d.rendered[i]!, memo[i]!);
          if (plan.text !== null) await ipt.restore(plan.text);
          memo[i] = asLive(d.rendered[i]!);
        }
        const total = performance.now() - t;
        const calls = runner.take();
        if (keep) noSave.push({ total, lists: docker.takeListMs(), calls });
      }
    }

    say('one-network change');
    const netAdds: (Sample & { chains: string[] })[] = [];
    const n = spec.networks;
    const newNet = {
      ...(base.networks[3] as Record<string, unknown>),
      Name: `zz-new`,
      Id: hexId('net-new'),
      IPAM: { Driver: 'default', Config: [{ Subnet: '10.250.0.0/24' }] },
      Labels: {},
      Options: {},
    };
    const newCtr = containerJson({ name: 'zz-new-1', id: hexId('zz-new-1'), net: n, host: 2, labels: {} });
    // containerJson derives the endpoint from network index n: point it at the new network.
    const endpoints = (newCtr.NetworkSettings as { Networks: Record<string, Record<string, unknown>> }).Networks;
    const ep = Object.values(endpoints)[0]!;
    (newCtr.NetworkSettings as { Networks: Record<string, unknown> }).Networks = {
      'zz-new': { ...ep, NetworkID: hexId('net-new'), IPAddress: '10.250.0.2', Gateway: '10.250.0.1' },
    };
    for (let r = 0; r < Math.max(3, Math.ceil(reps / 2)); r++) {
      fake.setLists({ networks: [...base.networks, newNet], containers: [...base.containers, newCtr] });
      cache.note({ type: 'network', action: 'create', id: hexId('net-new') });
      cache.note({ type: 'container', action: 'start', id: hexId('zz-new-1') });
      netAdds.push(await sample(rec, 'network.create'));
      fake.setLists(base);
      cache.note({ type: 'container', action: 'destroy', id: hexId('zz-new-1') });
      cache.note({ type: 'network', action: 'destroy', id: hexId('net-new') });
      await sample(rec, 'network.destroy');
    }

    say('per-packet walks');
    const withExtra: DockerLists = { networks: base.networks, containers: [...base.containers, extraContainer(spec, 0)] };
    const perPacket = packetWalks(withExtra, spec, config);

    const chainsOf = (xs: readonly { chains: string[] }[]) => [...new Set(xs.flatMap((x) => x.chains))].sort();
    return {
      spec,
      rules,
      kernelRules,
      fullTextLines: texts.reduce((nLines, t) => nLines + t.split('\n').length - 1, 0),
      listBytes: JSON.stringify(base.networks).length + JSON.stringify(base.containers).length,
      render: { total: summarize(renderMs), stages },
      fullCommit: steps(full),
      floor: { v4: summarize(floor4), v4v6: summarize(floor46) },
      noChange: steps(noChange),
      oneContainerAdd: { ...steps(adds), chains: chainsOf(adds) },
      oneContainerRemove: steps(removes),
      oneContainerAddNoSave: steps(noSave),
      oneNetworkAdd: { ...steps(netAdds), chains: chainsOf(netAdds) },
      perPacket,
    };
  } finally {
    await fake.stop();
    for (const ipt of families) await flushMoat(ipt).catch(() => undefined);
  }
}
