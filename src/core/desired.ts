// Docker lists + config -> everything one reconcile computes: the snapshot,
// the policy, the rulesets and their rendered text, for each family.
//
// With a memo (createDesiredMemo), kept by the caller from one call to the
// next, the cost follows the change, not the host: each stage reuses what it
// computed from the very same objects last time (raw list objects, then the
// Network/Container objects they parsed to, their policies, flows, rules,
// chains), so an event that replaced one container's raw object rebuilds that
// container, the flows that name it and the chains of the networks they
// touch. Reuse is keyed on object identity and every input of a kept result
// is checked, so the output is exactly what a fresh computation gives (the
// property test in desired.test.ts holds it to that). What the caller must do
// for the memo to work: pass raw objects that are treated as immutable, the
// same object for a container or network that did not change and a new one
// for one that did.
import type { Config } from './config.js';
import type { DnsSet } from './dns-name.js';
import { dnsSetsOf, type DnsSetsMemo } from './dns-sets.js';
import { type DockerLists, fromDocker } from './from-docker.js';
import { createFromDockerMemo, type FromDockerMemo } from './from-docker-memo.js';
import { sameItems } from './memo.js';
import type { Family, Problem, Snapshot } from './model.js';
import { buildPolicy, createPolicyMemo, type Policy, type PolicyMemo } from './policy.js';
import { type PolicyOriginsMemo, policyOrigins, type PolicyRule } from './policy-file.js';
import { createRenderMemo, type RenderedRuleset, type RenderMemo, renderRulesetWith } from './render.js';
import { buildRuleset, createRulesetMemo, type Ruleset, type RulesetMemo } from './ruleset.js';

/** Everything one reconcile computed, for status and `moat plan`. */
export interface Desired {
  readonly snapshot: Snapshot;
  readonly policy: Policy;
  readonly problems: readonly Problem[];
  readonly rulesets: readonly Ruleset[];
  readonly rendered: readonly RenderedRuleset[];
  /** Every kernel set (ipset) the rendered rulesets reference, sorted by name: dns: grants' learned addresses. */
  readonly dnsSets: readonly DnsSet[];
}

/** What depends on the config and the policy rules: dropped whenever either changes. */
interface ConfigBound {
  readonly config: Config;
  readonly policyRules: readonly PolicyRule[];
  readonly policy: PolicyMemo;
  readonly origins: PolicyOriginsMemo;
  readonly rulesets: Map<Family, RulesetMemo>;
}

/** Opaque to callers: keep one per reconciler and pass it to every computeDesired. */
export interface DesiredMemo {
  /** Parsing and rendering depend on neither config nor policy rules. */
  readonly docker: FromDockerMemo;
  readonly render: RenderMemo;
  readonly dnsSets: DnsSetsMemo;
  bound: ConfigBound | null;
}

export const createDesiredMemo = (): DesiredMemo => ({ docker: createFromDockerMemo(), render: createRenderMemo(), dnsSets: new WeakMap(), bound: null });

function boundTo(memo: DesiredMemo, config: Config, policyRules: readonly PolicyRule[]): ConfigBound {
  // The rules are compared item by item: a caller may hand over a new array of the same rules each time.
  if (memo.bound?.config !== config || !sameItems(memo.bound.policyRules, policyRules)) {
    memo.bound = { config, policyRules: [...policyRules], policy: createPolicyMemo(), origins: new WeakMap(), rulesets: new Map() };
  }
  return memo.bound;
}

export function computeDesired(
  lists: DockerLists,
  config: Config,
  families: readonly Family[],
  policyRules: readonly PolicyRule[] = [],
  memo: DesiredMemo = createDesiredMemo(),
): Desired {
  const bound = boundTo(memo, config, policyRules);
  const { result: snapshot, problems: dataProblems } = fromDocker(lists, memo.docker);
  const policy = buildPolicy(snapshot, config, policyOrigins(snapshot, policyRules, bound.origins), bound.policy);
  const rulesets = families.map((f) => {
    let m = bound.rulesets.get(f);
    if (!m) bound.rulesets.set(f, (m = createRulesetMemo()));
    return buildRuleset(policy, config, f, m);
  });
  const rendered = rulesets.map((r) => renderRulesetWith(r, memo.render));
  // Only a computation that completed decides what is kept for the next one.
  for (const m of bound.rulesets.values()) m.slots.turn();
  const dnsSets = dnsSetsOf(policy.flows, rulesets, memo.dnsSets);
  return { snapshot, policy, problems: [...dataProblems, ...policy.problems], rulesets, rendered, dnsSets };
}
