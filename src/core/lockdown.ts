// The boot-time ruleset (`moat lockdown`, before docker.service): Docker
// bridges get no forwarding and no host input at all, so containers started
// before moatd's first reconcile have no reach. It uses moatd's own chain
// names, so moatd's first commit replaces it atomically.
import type { Config } from './config.js';
import type { Family } from './model.js';
import { BUILTIN_JUMPS } from './names.js';
import type { Ruleset } from './ruleset.js';
import { fixed } from './rule-ids.js';

const LOCKDOWN = fixed('lockdown');

export function lockdownRuleset(config: Config, family: Family): Ruleset {
  const forward = config.dockerBridges.flatMap((b) => [
    { in: b, comment: LOCKDOWN, jump: 'DROP' },
    { out: b, comment: LOCKDOWN, jump: 'DROP' },
  ]);
  const input = config.dockerBridges.map((b) => ({ in: b, comment: LOCKDOWN, jump: 'DROP' }));
  return {
    family,
    tables: {
      filter: {
        chains: [
          { name: BUILTIN_JUMPS.filter.FORWARD, rules: forward },
          { name: BUILTIN_JUMPS.filter.INPUT, rules: input },
        ],
        jumps: { FORWARD: BUILTIN_JUMPS.filter.FORWARD, INPUT: BUILTIN_JUMPS.filter.INPUT },
      },
      nat: { chains: [], jumps: {} },
    },
  };
}
