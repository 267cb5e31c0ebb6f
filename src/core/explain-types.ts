// What explain answers: the verdict, the two ends as the host sees them, the
// legs the packet crosses (each with the rules it matched) and the parts of an
// open query that get the other verdict.
import type { Decision } from './explain-reasons.js';
import type { Proto } from './labels.js';
import type { Family } from './model.js';

export type Verdict = 'allowed' | 'denied';
export interface Place {
  readonly kind: 'container' | 'host' | 'lan' | 'world' | 'docker';
  /** Container name, `host`, `lan`, `world`, or the address given. */
  readonly name: string;
  readonly containerId: string | null;
  readonly network: string | null;
  readonly bridge: string | null;
  /** The address used; null for `host`/`lan`/`world` given without one. */
  readonly address: string | null;
}

export interface Leg {
  /** FORWARD (routed through the host), INPUT (to the host), OUTPUT (from the host); nat PREROUTING/OUTPUT for DNAT. */
  readonly hook: string;
  readonly in: string | null;
  readonly out: string | null;
  readonly src: string;
  readonly dst: string;
  readonly port: number | null;
  readonly verdict: Verdict;
  readonly decision: Decision;
  /** The rules the packet matched on its way, `table/chain moat:<id>`. */
  readonly trace: readonly string[];
}

export interface ExplainException {
  readonly proto: Proto | null;
  /** `80` or `8080-8081`; null for every port. */
  readonly ports: string | null;
  /** The part of `lan`/`world`/`host` it applies to; null for all of it. */
  readonly address: string | null;
  readonly verdict: Verdict;
  readonly decision: Decision;
}

export interface Explanation {
  readonly family: Family;
  readonly src: Place;
  readonly dst: Place;
  readonly port: number | null;
  readonly proto: Proto | null;
  readonly verdict: Verdict;
  /** How a denied connection fails: reject (fast) or drop (timeout); null when allowed. */
  readonly action: 'reject' | 'drop' | null;
  readonly decision: Decision;
  readonly legs: readonly Leg[];
  /** Ports, protocols or address ranges that get the other verdict (when the query left them open). */
  readonly exceptions: readonly ExplainException[];
  readonly notes: readonly string[];
}

export type ExplainResult = { readonly ok: true; readonly explanation: Explanation } | { readonly ok: false; readonly error: string };

export interface ExplainOptions {
  /** Default: 4 unless an address or the endpoints say 6. */
  readonly family?: Family;
  /** The host's own addresses (an address among them is `host`). */
  readonly hostAddresses?: readonly string[];
}
