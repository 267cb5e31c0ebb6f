// moat's chain names. iptables limits names to 28 characters; network ids
// are hex, so a 12-character prefix keeps every name short and unique enough
// (the same length Docker uses for br-<id>).
const CHAIN_PREFIX = 'MOAT-';

export const BUILTIN_JUMPS = {
  filter: { FORWARD: 'MOAT-FORWARD', INPUT: 'MOAT-INPUT', OUTPUT: 'MOAT-OUTPUT' },
  nat: { POSTROUTING: 'MOAT-POSTROUTING', PREROUTING: 'MOAT-PREROUTING', OUTPUT: 'MOAT-OUTPUT' },
} as const;

export type TableName = keyof typeof BUILTIN_JUMPS;

export const DENY_CHAIN = 'MOAT-DENY';
/** Inbound deny: drop, logged first when `logDenied` is on. */
export const DROP_CHAIN = 'MOAT-DROP';
/**
 * Accepts a packet whose destination is `world`; returns for anything else
 * (Docker peers, bridges, `lan`) so the caller's later rules still decide.
 */
export const TO_WORLD_CHAIN = 'MOAT-TO-WORLD';
/** Accepts a destination in `lan` (protectedNetworks) that is not Docker; returns otherwise. */
export const TO_LAN_CHAIN = 'MOAT-TO-LAN';
/** Accepts any destination outside Docker (for CIDR grants); returns for Docker peers. */
export const TO_EXTERNAL_CHAIN = 'MOAT-TO-EXTERNAL';
/** Accepts a source in `world` (not lan, not Docker); returns otherwise. */
export const FROM_WORLD_CHAIN = 'MOAT-FROM-WORLD';
/** Accepts a source in `lan` that is not Docker; returns otherwise. */
export const FROM_LAN_CHAIN = 'MOAT-FROM-LAN';
/** nat: DNAT of published ports (publishMode: dnat). */
export const DNAT_CHAIN = 'MOAT-DNAT';

const short = (networkId: string) => networkId.slice(0, 12);

// A network's own chains are named from the network's side: OUT is what
// leaves the network, IN what enters it. iptables' -i / -o name the host's
// side of the bridge, so they read the other way round: what containers
// send comes *in* by their bridge (-i br-N) and goes to MOAT-OUT-N.
//
//            world, lan, the host's uplinks, other Docker networks
//                      ^                            |
//     FORWARD -i br-N  |                            |  FORWARD -o br-N
//     MOAT-OUT-N       |                            v  MOAT-IN-N
//     what the network's containers        what reaches them from outside
//     send: grants, ICC, world,            Docker: grants, DNAT'ed published
//     else MOAT-DENY                       ports, else drop
//                      ^                            |
//                      |                            v
//            +----- br-N: the containers of network N -----+
//                      |                            ^
//      INPUT -i br-N   |                            |  OUTPUT -o br-N
//      MOAT-HOST-N     v                            |  MOAT-FROMHOST-N
//     containers -> the host: grants,      the host -> containers: grants,
//     else MOAT-DENY                       else MOAT-DENY (only with
//                                          hostToContainers: deny)
//                      the host itself (its own processes)
//
// Traffic between two containers of N is bridged, not routed: with
// br_netfilter it crosses FORWARD -i br-N -o br-N and MOAT-OUT-N decides it
// (ICC). From network N to network M, MOAT-OUT-N decides; MOAT-IN-M sees only
// what comes from outside Docker.

/** Traffic that containers on the network send through the host (FORWARD, -i bridge). */
export const outChain = (networkId: string) => `MOAT-OUT-${short(networkId)}`;
/** Traffic arriving at the network's bridge from outside Docker (FORWARD, -o bridge). */
export const inChain = (networkId: string) => `MOAT-IN-${short(networkId)}`;
/** Traffic from the network's containers to the host itself (INPUT, -i bridge). */
export const hostChain = (networkId: string) => `MOAT-HOST-${short(networkId)}`;
/** Traffic from the host itself to the network's containers (OUTPUT, -o bridge; hostToContainers: deny). */
export const fromHostChain = (networkId: string) => `MOAT-FROMHOST-${short(networkId)}`;
/** The 12-character network id prefix a network's own chain is named after; null for any other chain. */
export function networkOfChain(chain: string): string | null {
  return /^MOAT-(?:OUT|IN|HOST|FROMHOST)-([0-9a-f]{12})$/.exec(chain)?.[1] ?? null;
}
/**
 * Prefixes of the dispatch chains (see dispatch.ts): by interface for FORWARD -i / -o, INPUT -i, OUTPUT -o;
 * by port for published ports (INPUT, nat DNAT); by source subnet for masquerade.
 */
export const DISPATCH_PREFIX = {
  forwardIn: 'MOAT-FI-',
  forwardOut: 'MOAT-FO-',
  input: 'MOAT-HI-',
  output: 'MOAT-HO-',
  published: 'MOAT-PI-',
  dnat: 'MOAT-PD-',
  masquerade: 'MOAT-MQ-',
} as const;

export const isMoatChain = (name: string) => name.startsWith(CHAIN_PREFIX);
