// The unit resolveGrants works on: one label's or one policy-file rule's
// entries, with the container they are for and the text problems name.
import type { Entry } from './labels.js';
import type { Container } from './model.js';

/** Where a set of entries came from: a container's own label or a policy-file rule selecting it. */
export interface GrantOrigin {
  readonly container: Container;
  readonly direction: 'egress' | 'ingress';
  readonly entries: readonly Entry[];
  /** The label key (`moat.egress`) or policy-file location (`/etc/moat/policy.d/web.yaml:3`) problems name. */
  readonly key: string;
  /** e.g. `label moat.egress on proxy`, `policy /etc/moat/policy.d/web.yaml:3`. */
  readonly reason: string;
  /** Comment-safe prefix, e.g. `label:1a2b3c4d5e6f:egress`, `policy:2:3`. */
  readonly id: string;
}
