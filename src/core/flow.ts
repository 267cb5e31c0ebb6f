// What a grant resolves to: a flow from one side to another, with its ports
// and the label or policy line that asked for it. Read by every stage after
// the grants (flow rules, published ports, status, graph, explain).
import type { PortRange, Proto } from './labels.js';
import type { Container, Family, Network } from './model.js';

export type Side =
  | { readonly kind: 'container'; readonly container: Container }
  | { readonly kind: 'network'; readonly network: Network }
  | { readonly kind: 'world' }
  | { readonly kind: 'lan' }
  | { readonly kind: 'host' }
  | { readonly kind: 'cidr'; readonly family: Family; readonly cidr: string };

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
