// Docker bridges moat cannot dispatch by name, denied so that they fail
// closed instead of escaping every rule: a bridge Docker may create that is
// not in the snapshot yet (the dockerBridges patterns no managed bridge is
// named exactly), and a bridge network whose interface name moat refuses to
// render (Docker accepts `x;y`), denied by its subnets.
import type { Bridges } from './bridges.js';
import { DENY_CHAIN } from './names.js';
import type { Rule } from './rule.js';
import { fixed } from './rule-ids.js';

export interface UnknownBridgeRules {
  /** MOAT-FORWARD, first: unrenderable bridges by subnet. */
  readonly unnamedForward: readonly Rule[];
  /** MOAT-INPUT, first. */
  readonly unnamedInput: readonly Rule[];
  /** MOAT-FORWARD, after the known bridges' -i dispatch. */
  readonly unknownIn: readonly Rule[];
  /** MOAT-FORWARD, after the known bridges' -o dispatch. */
  readonly unknownOut: readonly Rule[];
  /** MOAT-INPUT, after the known bridges' dispatch. */
  readonly unknownInput: readonly Rule[];
}

export function unknownBridgeRules(b: Bridges): UnknownBridgeRules {
  return {
    unnamedForward: b.unnamedSubnets.flatMap((s): Rule[] => [
      { src: s, comment: fixed('unrenderable-bridge'), jump: DENY_CHAIN },
      { dst: s, comment: fixed('unrenderable-bridge'), jump: 'DROP' },
    ]),
    unnamedInput: b.unnamedSubnets.map((s): Rule => ({ src: s, comment: fixed('unrenderable-bridge'), jump: DENY_CHAIN })),
    unknownIn: b.unknown.map((p): Rule => ({ in: p, comment: fixed('unknown-bridge'), jump: DENY_CHAIN })),
    unknownOut: b.unknown.map((p): Rule => ({ out: p, comment: fixed('unknown-bridge'), jump: 'DROP' })),
    unknownInput: b.unknown.map((p): Rule => ({ in: p, comment: fixed('unknown-bridge'), jump: DENY_CHAIN })),
  };
}
