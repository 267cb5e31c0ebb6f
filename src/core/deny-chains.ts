// Where a denied packet goes: MOAT-DENY for what containers send (reject
// or drop, per config denyAction) and MOAT-DROP for inbound traffic when
// logDenied wants a log line first. Each is logged, rate-limited, when
// logDenied is on.
import type { Chain } from './chain.js';
import type { Config } from './config.js';
import type { Family } from './model.js';
import { DENY_CHAIN, DROP_CHAIN } from './names.js';
import { fixed } from './rule-ids.js';
import { logRule } from './rule-parts.js';

export function denyChain(config: Config, family: Family): Chain {
  const log = logRule(config, 'moat-deny');
  if (config.denyAction === 'drop') return { name: DENY_CHAIN, rules: [...log, { comment: fixed('deny'), jump: 'DROP' }] };
  return {
    name: DENY_CHAIN,
    rules: [
      ...log,
      { proto: 'tcp', comment: fixed('deny'), jump: 'REJECT', jumpArgs: '--reject-with tcp-reset' },
      { comment: fixed('deny'), jump: 'REJECT', jumpArgs: `--reject-with ${family === 4 ? 'icmp-port-unreachable' : 'icmp6-port-unreachable'}` },
    ],
  };
}

/** Only with logDenied: otherwise MOAT-IN drops directly. */
export const dropChain = (config: Config): Chain | null =>
  config.logDenied ? { name: DROP_CHAIN, rules: [...logRule(config, 'moat-drop'), { comment: fixed('inbound'), jump: 'DROP' }] } : null;
