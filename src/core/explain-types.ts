// What explain answers: the verdict, the two ends as the host sees them, the
// legs the packet crosses (each with the rules it matched) and the parts of an
// open query that get the other verdict.
import type { Decision } from './explain-reasons.js';
import type { Proto } from './labels.js';
import type { Family } from './model.js';

export type Verdict = 'allowed' | 'denied';

/** An address moatd's DNS forwarder learned for a dns: pattern (status document `dns.grants[].learned`). */
export interface LearnedAddress {
  readonly address: string;
  /** The question name it was answered for. */
  readonly name: string;
  /** ISO time. */
  readonly expiresAt: string;
}

/** A dns: set the packet's destination was looked up in. */
export interface DnsLookup {
  readonly pattern: string;
  readonly set: string;
  readonly address: string;
  /** false: moatd's learned table was not available (moatd not running or not reachable). */
  readonly known: boolean;
  /** The learned record for the address; null when not learned (or not known). */
  readonly learned: LearnedAddress | null;
}
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
  /** `unknown`: it depends on addresses moatd learned from DNS answers, and its learned table was not available. */
  readonly verdict: Verdict | 'unknown';
  /** How a denied connection fails: reject (fast) or drop (timeout); null when allowed. */
  readonly action: 'reject' | 'drop' | null;
  readonly decision: Decision;
  readonly legs: readonly Leg[];
  /** Ports, protocols or address ranges that get the other verdict (when the query left them open). */
  readonly exceptions: readonly ExplainException[];
  readonly notes: readonly string[];
  /** The dns: sets the destination was looked up in (absent when none). */
  readonly dns?: readonly DnsLookup[];
}

export type ExplainResult = { readonly ok: true; readonly explanation: Explanation } | { readonly ok: false; readonly error: string };

export interface ExplainOptions {
  /** Default: 4 unless an address or the endpoints say 6. */
  readonly family?: Family;
  /** The host's own addresses (an address among them is `host`). */
  readonly hostAddresses?: readonly string[];
  /** moatd's learned addresses by dns: pattern; absent: not known (moatd not reachable), and a verdict that depends on them is `unknown`. */
  readonly learned?: ReadonlyMap<string, readonly LearnedAddress[]>;
}
