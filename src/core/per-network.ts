// Every managed network's own chains (network-chains.ts builds one
// network's) and the dispatch that leads to them from MOAT-FORWARD,
// MOAT-INPUT and MOAT-OUTPUT: flat up to FANOUT bridges, a tree of
// dispatch chains beyond (dispatch.ts).
import type { Chain } from './chain.js';
import type { Config } from './config.js';
import { type Dispatch, dispatch, FANOUT, type Leaf } from './dispatch.js';
import type { FlowRules } from './flow-rules.js';
import { cached } from './memo.js';
import type { Family } from './model.js';
import { DISPATCH_PREFIX } from './names.js';
import { type KeptChains, networkChains, networkLeaves, type NetworkRules } from './network-chains.js';
import type { NetworkPolicy } from './policy.js';
import type { Rule } from './rule.js';
import type { RulesetMemo } from './ruleset-memo.js';

/** What other stages made for the networks: grants, `world` rules and published ports' MOAT-IN rules, each by network id. */
export interface PerNetworkInputs {
  readonly grants: FlowRules;
  readonly world: ReadonlyMap<string, readonly Rule[]>;
  readonly published: ReadonlyMap<string, readonly Rule[]>;
}

export interface PerNetwork {
  /** The networks' own chains, in policy order. */
  readonly chains: readonly Chain[];
  /** FORWARD -i / -o, INPUT -i and OUTPUT -o dispatch to them. */
  readonly dispatched: Readonly<Record<'forwardIn' | 'forwardOut' | 'input' | 'output', Dispatch>>;
}

export function perNetwork(managed: readonly NetworkPolicy[], inputs: PerNetworkInputs, config: Config, family: Family, memo: RulesetMemo): PerNetwork {
  const { slots } = memo;
  const { grants, world, published } = inputs;
  const chains: Chain[] = [];
  const leaves = { forwardIn: [] as Leaf[], forwardOut: [] as Leaf[], input: [] as Leaf[], output: [] as Leaf[] };
  for (const np of managed) {
    const net = np.network;
    const l = cached(memo.leaves, np, () => networkLeaves(np, config));
    leaves.forwardIn.push(l.forwardIn);
    leaves.forwardOut.push(l.forwardOut);
    leaves.input.push(l.input);
    if (l.output) leaves.output.push(l.output);
    const rules: NetworkRules = {
      out: grants.out.get(net.id) ?? [],
      world: world.get(net.id) ?? [],
      in: grants.in.get(net.id) ?? [],
      published: published.get(net.id) ?? [],
      host: grants.host.get(net.id) ?? [],
      output: grants.output.get(net.bridge!) ?? [],
    };
    for (const chain of networkChains(
      np,
      config,
      family,
      rules,
      cached(memo.chains, np, (): KeptChains => ({})),
    ))
      chains.push(chain);
  }
  const dispatched = {
    forwardIn: slots.reuse('dispatch:forwardIn', leaves.forwardIn, () =>
      dispatch(leaves.forwardIn, 'in', DISPATCH_PREFIX.forwardIn, FANOUT, memo.trees.forwardIn),
    ),
    forwardOut: slots.reuse('dispatch:forwardOut', leaves.forwardOut, () =>
      dispatch(leaves.forwardOut, 'out', DISPATCH_PREFIX.forwardOut, FANOUT, memo.trees.forwardOut),
    ),
    input: slots.reuse('dispatch:input', leaves.input, () => dispatch(leaves.input, 'in', DISPATCH_PREFIX.input, FANOUT, memo.trees.input)),
    output: slots.reuse('dispatch:output', leaves.output, () => dispatch(leaves.output, 'out', DISPATCH_PREFIX.output, FANOUT, memo.trees.output)),
  };
  return { chains, dispatched };
}
