// The zone chains MOAT-TO-WORLD, MOAT-TO-LAN, MOAT-TO-EXTERNAL,
// MOAT-FROM-WORLD and MOAT-FROM-LAN: a grant or a default jumps there to ask
// "is this peer world / lan / outside Docker?".
//
// RETURN (not deny) keeps them composable: the caller's later rules still
// decide. A Docker peer is never `lan` or `world`, and a bridge moat does not
// know yet counts as a Docker peer. A bridge network's peers are recognised by
// the bridge the packet leaves or enters by (a few patterns, whatever the
// number of networks); only other networks (macvlan, a bridge moat cannot
// name) are listed by subnet.
import { parseCidr } from './addr.js';
import type { Bridges } from './bridges.js';
import type { Chain } from './chain.js';
import type { Config } from './config.js';
import type { Family } from './model.js';
import { FROM_LAN_CHAIN, FROM_WORLD_CHAIN, TO_EXTERNAL_CHAIN, TO_LAN_CHAIN, TO_WORLD_CHAIN } from './names.js';
import type { Rule } from './rule.js';
import { zoneComment } from './rule-ids.js';

const DOCKER = zoneComment('docker');
const LAN = zoneComment('lan');
const WORLD = zoneComment('world');

export function zoneChains(b: Bridges, config: Config, family: Family): Chain[] {
  const protectedRanges = config.protectedNetworks
    .map(parseCidr)
    .filter((c) => c?.family === family)
    .map((c) => c!.text);
  const dockerDst: Rule[] = [
    ...b.ifaces.map((i): Rule => ({ out: i, comment: DOCKER, jump: 'RETURN' })),
    ...b.routedSubnets.map((s): Rule => ({ dst: s, comment: DOCKER, jump: 'RETURN' })),
  ];
  const dockerSrc: Rule[] = [
    ...b.ifaces.map((i): Rule => ({ in: i, comment: DOCKER, jump: 'RETURN' })),
    ...b.routedSubnets.map((s): Rule => ({ src: s, comment: DOCKER, jump: 'RETURN' })),
  ];
  return [
    {
      name: TO_WORLD_CHAIN,
      rules: [...dockerDst, ...protectedRanges.map((r): Rule => ({ dst: r, comment: LAN, jump: 'RETURN' })), { comment: WORLD, jump: 'ACCEPT' }],
    },
    { name: TO_LAN_CHAIN, rules: [...dockerDst, ...protectedRanges.map((r): Rule => ({ dst: r, comment: LAN, jump: 'ACCEPT' }))] },
    { name: TO_EXTERNAL_CHAIN, rules: [...dockerDst, { comment: zoneComment('external'), jump: 'ACCEPT' }] },
    {
      name: FROM_WORLD_CHAIN,
      rules: [...dockerSrc, ...protectedRanges.map((r): Rule => ({ src: r, comment: LAN, jump: 'RETURN' })), { comment: WORLD, jump: 'ACCEPT' }],
    },
    { name: FROM_LAN_CHAIN, rules: [...dockerSrc, ...protectedRanges.map((r): Rule => ({ src: r, comment: LAN, jump: 'ACCEPT' }))] },
  ];
}
