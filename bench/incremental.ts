// The pure computation of one event, from scratch and through the memo the
// reconciler keeps (src/core/desired.ts): computeDesired for both families,
// then what the reconciler does against the last commit in memory: plan,
// changed chains, scoped revocation. No kernel, no Docker: CPU only.
//
// Changes are applied the way a cached listing presents them: the changed
// raw object is new, every other raw object is the one from before, the
// arrays are new. Each sample starts from the warmed base state, applies one
// change (a fresh one each time), is timed, then goes back to the base.
import { DEFAULT_CONFIG } from '../src/core/config.js';
import { computeDesired, createDesiredMemo, type Desired, type DesiredMemo } from '../src/core/desired.js';
import { changedChains, planRestore } from '../src/core/plan.js';
import { revokedFilters } from '../src/core/revocation.js';
import { committedState } from '../src/core/committed-state.js';
import { summarize, type Summary } from './stats.js';
import { containerJson, containerName, extraContainer, hexId, synthetic, type DockerLists, type SyntheticSpec } from './synthetic.js';

export const CHANGES = ['+1 container', '−1 container', 'label change', '+1 network'] as const;
export type ChangeName = (typeof CHANGES)[number];

export interface IncrementalResult {
  readonly spec: SyntheticSpec;
  /** Median CPU ms (user + system) per change: computeDesired + planning against the previous commit. */
  readonly scratch: Record<ChangeName, Summary | null>;
  readonly memo: Record<ChangeName, Summary | null>;
}

/** The lists after change `k` of a kind: a new raw object for what changed, the same ones for the rest. */
function changed(base: DockerLists, spec: SyntheticSpec, change: ChangeName, k: number): DockerLists {
  const networks = [...base.networks];
  const containers = [...base.containers];
  switch (change) {
    case '+1 container':
      containers.push(extraContainer(spec, k));
      break;
    case '−1 container':
      containers.splice((k * 7919) % containers.length, 1);
      break;
    case 'label change': {
      const i = (k * 7919) % containers.length;
      const c = containers[i]!;
      containers[i] = {
        ...c,
        Labels: { ...(c.Labels as Record<string, string>), 'moat.egress': `${containerName((k * 31 + 1) % spec.containers)}:${8000 + (k % 100)}` },
      };
      break;
    }
    case '+1 network': {
      const i = 250 + (k % 5);
      networks.push({
        Name: `extra-net-${k}`,
        Id: hexId(`extra-net-${k}`),
        Scope: 'local',
        Driver: 'bridge',
        IPAM: { Driver: 'default', Config: [{ Subnet: `10.${i}.${k % 256}.0/24` }] },
        Internal: false,
        Options: {},
        Labels: {},
      });
      const c = containerJson({ name: `extra-net-c-${k}`, id: hexId(`extra-net-c-${k}`), net: 0, host: 2, labels: {} }) as {
        NetworkSettings: { Networks: Record<string, Record<string, unknown>> };
      };
      c.NetworkSettings.Networks = { [`extra-net-${k}`]: { NetworkID: hexId(`extra-net-${k}`), IPAddress: `10.${i}.${k % 256}.2`, GlobalIPv6Address: '' } };
      containers.push(c as unknown as Record<string, unknown>);
      break;
    }
  }
  return { networks, containers };
}

const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

/** What the reconciler computes for one event: desired state, then plan, changed chains and revocation against the last commit. */
function oneEvent(lists: DockerLists, last: Desired, memo: DesiredMemo | undefined): Desired {
  const d = computeDesired(lists, DEFAULT_CONFIG, [4, 6], [], memo);
  d.rendered.forEach((r, i) => {
    planRestore(r, committedState(last.rendered[i]!));
    const changedNow = changedChains(last.rendered[i]!, r);
    revokedFilters(last.rulesets[i]!, d.rulesets[i]!, changedNow);
  });
  return d;
}

export function runIncremental(spec: SyntheticSpec, reps: number): IncrementalResult {
  const base = synthetic(spec);
  const memo = createDesiredMemo();
  const baseDesired = computeDesired(base, DEFAULT_CONFIG, [4, 6], [], memo);
  const scratch = {} as Record<ChangeName, Summary | null>;
  const memoised = {} as Record<ChangeName, Summary | null>;
  let k = 0;
  for (const change of CHANGES) {
    for (const [out, m] of [
      [scratch, undefined],
      [memoised, memo],
    ] as const) {
      const samples: number[] = [];
      for (let r = 0; r < reps + 2; r++) {
        const lists = changed(base, spec, change, k++);
        const t = cpuMs();
        oneEvent(lists, baseDesired, m);
        const ms = cpuMs() - t;
        if (r >= 2) samples.push(ms); // the first two warm the code paths up
        // Back to the base state (what the next sample changes), untimed.
        oneEvent({ networks: [...base.networks], containers: [...base.containers] }, baseDesired, m);
      }
      out[change] = summarize(samples);
    }
  }
  return { spec, scratch, memo: memoised };
}

/** Markdown rows for the report: one per size and change. */
export function incrementalRows(results: readonly IncrementalResult[]): string[][] {
  const fmt = (s: Summary | null) => (s ? String(Math.round(s.median * 100) / 100) : 'n/a');
  return results.flatMap((r) =>
    CHANGES.map((c) => {
      const a = r.scratch[c]?.median ?? NaN;
      const b = r.memo[c]?.median ?? NaN;
      return [`${r.spec.containers.toLocaleString('en')} / ${r.spec.networks}`, c, fmt(r.scratch[c]), fmt(r.memo[c]), `${Math.round((a / b) * 10) / 10}×`];
    }),
  );
}

if (process.argv[1]?.endsWith('incremental.js') || process.argv[1]?.endsWith('incremental.ts')) {
  const sizes = (process.argv[2] ?? '100/10,1000/100,5000/500').split(',').map((s) => {
    const [containers, networks] = s.split('/').map(Number);
    return { containers: containers!, networks: networks! };
  });
  const reps = Number(process.argv[3] ?? 15);
  const results = sizes.map((s) => runIncremental(s, reps));
  process.stdout.write(`| size | change | from scratch, ms | memoised, ms | speed-up |\n|---|---|---|---|---|\n`);
  for (const row of incrementalRows(results)) process.stdout.write(`| ${row.join(' | ')} |\n`);
}
