// What a grant resolves to: a flow from one side to another, with its ports
// and the label or policy line that asked for it. Read by every stage after
// the grants (flow rules, published ports, status, graph, explain).
import { type Cidr, cidrContains, parseCidr } from './addr.js';
import type { PortRange, Proto } from './labels.js';
import type { Container, Endpoint, Family, Network } from './model.js';

export type Side =
  | {
      readonly kind: 'container';
      readonly container: Container;
      /** Set when an address or CIDR entry named the container: only its addresses inside this range are the peer. */
      readonly within?: Cidr;
    }
  | { readonly kind: 'network'; readonly network: Network }
  | { readonly kind: 'world' }
  | { readonly kind: 'lan' }
  | { readonly kind: 'host' }
  | { readonly kind: 'cidr'; readonly family: Family; readonly cidr: string }
  /** The addresses learned from DNS answers for the pattern (labels-dns.ts), both families: a destination only. */
  | { readonly kind: 'dns'; readonly pattern: string };

export interface Flow {
  readonly from: Side;
  readonly to: Side;
  readonly ports: PortRange | null;
  readonly proto: Proto | null;
  /** Human text: which label or policy line asked for it. */
  readonly reason: string;
  /** Comment-safe id carried by every rule the flow produces. */
  readonly id: string;
}

/** The endpoint's address of `family` that a container side stands for (all of them, or those `within` its range); null for none. */
export function sideAddress(side: Side & { kind: 'container' }, ep: Endpoint, family: Family): string | null {
  const ip = family === 4 ? ep.ipv4 : ep.ipv6;
  if (ip === null || side.within === undefined) return ip;
  const c = parseCidr(ip);
  return c !== null && cidrContains(side.within, c) ? ip : null;
}
