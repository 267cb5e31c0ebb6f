// What the ruleset builders keep across calls on the incremental path
// (desired.ts), for one config and one family.
import type { CidrLeaf, DispatchMemo } from './dispatch.js';
import { createFlowRulesMemo, type FlowRulesMemo } from './flow-rules.js';
import type { Members } from './members.js';
import { Slots } from './memo.js';
import type { Container } from './model.js';
import type { KeptChains, NetworkLeaves } from './network-chains.js';
import type { NetworkPolicy } from './policy.js';
import type { Rule } from './rule.js';

/**
 * Every piece is reused only when the objects it was built from are the same
 * ones, and every chain whose rules are the same objects as last time is
 * handed back as the same Chain, so rendering and planning can skip it.
 */
export interface RulesetMemo {
  readonly slots: Slots;
  readonly flows: FlowRulesMemo;
  readonly world: WeakMap<Container, readonly { readonly networkId: string; readonly rule: Rule }[]>;
  readonly leaves: WeakMap<NetworkPolicy, NetworkLeaves>;
  readonly chains: WeakMap<NetworkPolicy, KeptChains>;
  readonly masquerade: WeakMap<NetworkPolicy, readonly CidrLeaf[]>;
  /** Per dispatch tree, its subtrees: a bridge that comes or goes rebuilds the path to it, not the tree. */
  readonly trees: Record<'forwardIn' | 'forwardOut' | 'input' | 'output' | 'masquerade', DispatchMemo>;
  /** The last policy's members and the `world` rules of each network, patched by the next one. */
  members: { readonly members: Members; readonly world: ReadonlyMap<string, readonly Rule[]> } | null;
}

export const createRulesetMemo = (): RulesetMemo => ({
  slots: new Slots(),
  flows: createFlowRulesMemo(),
  world: new WeakMap(),
  leaves: new WeakMap(),
  chains: new WeakMap(),
  masquerade: new WeakMap(),
  members: null,
  trees: { forwardIn: new Map(), forwardOut: new Map(), input: new Map(), output: new Map(), masquerade: new Map() },
});
