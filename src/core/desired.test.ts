import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ChangingHost, change, type Change, type EntrySpec, type LabelSpec } from '../../test/fakes/list-changes.js';
import { committedState } from './committed-state.js';
import { ConfigSchema } from './config.js';
import { computeDesired, createDesiredMemo, type Desired } from './desired.js';
import { changedChains, compareRulesets, planRestore } from './plan.js';
import { parsePolicyFile, type PolicyRule } from './policy-file.js';
import { renderText } from './render.js';
import { revokedFilters } from './revocation.js';

const CONFIGS = [
  ConfigSchema.parse({}),
  ConfigSchema.parse({ publishMode: 'dnat', published: 'labelled' }),
  ConfigSchema.parse({ publishMode: 'dnat', hostToContainers: 'deny', logDenied: true, denyAction: 'drop' }),
  ConfigSchema.parse({ published: 'labelled', defaultEgress: 'none', dockerBridges: ['br-+'] }),
];

const rulesOf = (text: string): PolicyRule[] => {
  const { rules, errors } = parsePolicyFile('/etc/moat/policy.d/t.yaml', text);
  if (errors.length > 0) throw new Error(JSON.stringify(errors));
  return rules;
};
const POLICIES = [
  [],
  rulesOf('- select: { network: n0001 }\n  egress: ["world:443", "c00003:80", "host:22"]\n- select: { service: s2 }\n  ingress: ["lan:8080", "x1"]\n'),
  rulesOf('- select: { container: x0 }\n  egress: ["net:n0002:5432/tcp", "10.1.0.0/16"]\n'),
];

/** Everything a caller reads, as plain comparable data. */
function observed(d: Desired) {
  return {
    text: d.rendered.map(renderText),
    problems: d.problems,
    snapshot: d.snapshot,
    flows: d.policy.flows.map((f) => f.id),
    world: d.policy.containers.map((c) => c.world),
  };
}

/**
 * Applies the changes one by one and, after each, holds the memoised
 * computation to a fresh one: the same text, problems and snapshot, and the
 * same plan, changed chains, widening verdict and revocations against the
 * previous step.
 */
function check(configIndex: number, changes: readonly Change[], size: { containers: number; networks: number }) {
  const host = new ChangingHost(size.containers, size.networks);
  const memo = createDesiredMemo();
  let config = CONFIGS[configIndex % CONFIGS.length]!;
  const policy = () => POLICIES[host.policyFlips % POLICIES.length]!;
  let prev: Desired | null = null;
  for (const [step, ch] of [{ kind: 'touch' } as Change, ...changes].entries()) {
    host.apply(ch);
    // A config reload now and then: the memo must notice and start over.
    if (step === 7) config = CONFIGS[(configIndex + 1) % CONFIGS.length]!;
    const memoised = computeDesired(host.lists, config, [4, 6], policy(), memo);
    const fresh = computeDesired(host.lists, config, [4, 6], policy());
    expect(observed(memoised), `after step ${step}: ${JSON.stringify(ch)}`).toEqual(observed(fresh));
    if (prev) {
      for (const i of [0, 1]) {
        const before = prev.rendered[i]!;
        expect(planRestore(memoised.rendered[i]!, committedState(before)).text).toBe(planRestore(fresh.rendered[i]!, committedState(before)).text);
        expect(compareRulesets(before, memoised.rendered[i]!)).toBe(compareRulesets(before, fresh.rendered[i]!));
        const changed = changedChains(before, memoised.rendered[i]!);
        expect(changed).toEqual(changedChains(before, fresh.rendered[i]!));
        // Scoped to the changed chains, revocation finds what a scan of every chain finds.
        expect(revokedFilters(prev.rulesets[i]!, memoised.rulesets[i]!, changed)).toEqual(revokedFilters(prev.rulesets[i]!, fresh.rulesets[i]!));
      }
    }
    prev = memoised;
  }
}

/** More runs on request (`MOAT_PROPERTY_RUNS=2000 npx vitest run src/core/desired.test.ts`). */
const RUNS = Number(process.env.MOAT_PROPERTY_RUNS ?? 60);

describe('computeDesired with a memo', () => {
  it('equals a fresh computation after every change of a random sequence', { timeout: 600_000 }, () => {
    fc.assert(
      fc.property(fc.nat(3), fc.array(change, { minLength: 1, maxLength: 25 }), (configIndex, changes) =>
        check(configIndex, changes, { containers: 40, networks: 6 }),
      ),
      { numRuns: RUNS },
    );
  });

  it('equals a fresh computation on a host large enough for dispatch trees', { timeout: 600_000 }, () => {
    fc.assert(
      fc.property(fc.nat(3), fc.array(change, { minLength: 1, maxLength: 10 }), (configIndex, changes) =>
        check(configIndex, changes, { containers: 400, networks: 40 }),
      ),
      { numRuns: Math.ceil(RUNS / 10) },
    );
  });

  // Sequences random ones reach too rarely: a grant to a published port
  // replaced by another grant from the same container to the same target (the
  // DNAT of that port depends on the flows to the target, not only on who sends them).
  const grant = (port: EntrySpec['port'], proto: EntrySpec['proto'] = ''): Change => ({
    kind: 'relabel',
    at: 1,
    labels: { egress: [{ peer: 'publisher', k: 0, port, proto }], ingress: null },
  });
  it.each([
    ['to another port', grant(':443')],
    ['to another protocol', grant(':80', '/udp')],
    ['to every port', grant('')],
  ])('equals a fresh computation when a grant to a published port moves %s', (_, moved) => {
    for (const configIndex of [0, 1, 2, 3]) check(configIndex, [grant(':80'), moved, grant(':80')], { containers: 40, networks: 6 });
  });

  // A compose service looked up in the origin's own project gains a member
  // that has another name: only the service key changed.
  it('equals a fresh computation when a service in the same project gains a container', () => {
    const add = (labels: LabelSpec): Change => ({ kind: 'add-container', net: 0, net2: null, host: 200, labels, publish: null, v6: false, mode: 'own' });
    const none = { egress: null, ingress: null };
    // x0 (project p0) asks for service s2 (c00000's), which p0 has only once x2 (service s2) arrives.
    const changes = [add({ egress: [{ peer: 'own-svc', k: 0, port: ':80', proto: '' }], ingress: null }), add(none), add(none)];
    for (const configIndex of [0, 1]) check(configIndex, changes, { containers: 40, networks: 6 });
  });

  // A network named by an entry, or holding the subnet a CIDR entry falls in, goes away.
  it.each([
    ['named by net:', 'net'],
    ['whose subnet a CIDR entry is inside', 'inside'],
  ] as const)('equals a fresh computation when a network %s is removed', (_, peer) => {
    // lists.networks: bridge, host, none, then n0000... (synthetic.ts); k = 3 is n0000, on no grant's own side.
    const changes: Change[] = [
      { kind: 'relabel', at: 1, labels: { egress: [{ peer, k: 3, port: ':80', proto: '' }], ingress: null } },
      { kind: 'remove-network', at: 3 },
    ];
    for (const configIndex of [0, 1]) check(configIndex, changes, { containers: 40, networks: 6 });
  });

  // Docker data with a problem comes and goes: its problem with it (the patched snapshot keeps the last problems only when nothing changed them).
  it.each(['bad-address', 'duplicate-id', 'bad-id', 'not-an-object'] as const)(
    'equals a fresh computation when a container with a %s comes and goes',
    (what) => {
      // Base 40 containers: the odd one is appended at index 40.
      const changes: Change[] = [
        { kind: 'odd', at: 3, what },
        { kind: 'touch' },
        { kind: 'remove-container', at: 40 },
        { kind: 'odd', at: 5, what },
        { kind: 'remove-container', at: 5 },
      ];
      for (const configIndex of [0, 1]) check(configIndex, changes, { containers: 40, networks: 6 });
    },
  );

  it('hands back the same chain lines for chains a change did not touch', () => {
    const host = new ChangingHost(200, 20);
    const memo = createDesiredMemo();
    const config = CONFIGS[0]!;
    const before = computeDesired(host.lists, config, [4], [], memo).rendered[0]!;
    host.apply({ kind: 'relabel', at: 5, labels: { egress: [{ peer: 'world', k: 0, port: ':443', proto: '' }], ingress: null } });
    const after = computeDesired(host.lists, config, [4], [], memo).rendered[0]!;
    const reused = [...after.tables.filter.chains].filter(([name, lines]) => before.tables.filter.chains.get(name) === lines).length;
    expect(changedChains(before, after).size).toBeGreaterThan(0);
    expect(reused).toBe(after.tables.filter.chains.size - changedChains(before, after).size);
  });
});
