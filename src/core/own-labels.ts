// A container's own moat.egress / moat.ingress labels -> grant origins,
// `egress=none`, and a problem for each entry that does not parse.
import type { Config } from './config.js';
import { cut } from './cut.js';
import type { GrantOrigin } from './grant-origin.js';
import { parseLabelValue } from './labels.js';
import { cached } from './memo.js';
import type { Container, Problem, Snapshot } from './model.js';
import { labelOriginId } from './rule-ids.js';

export interface OwnLabels {
  readonly origins: readonly GrantOrigin[];
  readonly none: boolean;
  readonly problems: readonly Problem[];
}

/** Shared by every container whose labels grant nothing and report nothing (most of them). */
const NO_LABELS: OwnLabels = { origins: [], none: false, problems: [] };

/** What labelOrigins keeps across calls (GrantsMemo has it). */
export interface OwnLabelsMemo {
  readonly labels: WeakMap<Container, OwnLabels>;
}

/**
 * Parses each container's own labels into origins; label problems are reported per entry.
 * `own`: each container's ownLabels, when the caller has them (in snapshot order).
 */
export function labelOrigins(
  snapshot: Snapshot,
  config: Config,
  problems: Problem[],
  memo: OwnLabelsMemo = { labels: new WeakMap() },
  own?: readonly OwnLabels[],
): { origins: GrantOrigin[]; egressNone: Set<string> } {
  const origins: GrantOrigin[] = [];
  const egressNone = new Set<string>();
  snapshot.containers.forEach((c, i) => {
    const o = own?.[i] ?? cached(memo.labels, c, () => ownLabels(c, config));
    if (o === NO_LABELS) return;
    for (const x of o.origins) origins.push(x);
    if (o.none) egressNone.add(c.id);
    for (const p of o.problems) problems.push(p);
  });
  return { origins, egressNone };
}

/** One container's label origins, `egress=none` and label problems. */
export function ownLabels(c: Container, config: Config): OwnLabels {
  const origins: GrantOrigin[] = [];
  const problems: Problem[] = [];
  let none = false;
  if (!c.networkMode.startsWith('container:')) {
    // else reported by policy.ts as ignored
    for (const direction of ['egress', 'ingress'] as const) {
      const key = `${config.labelPrefix}.${direction}`;
      const value = c.labels[key];
      if (value === undefined) continue;
      if (c.networkMode === 'host') {
        problems.push({
          kind: 'label_ignored',
          subject: `container ${c.name}`,
          container: c.name,
          key,
          value: cut(value),
          reason: 'host network mode: moat cannot enforce flows for it',
        });
        continue;
      }
      const parsed = parseLabelValue(value, direction);
      for (const p of parsed.problems) {
        problems.push({ kind: 'label_invalid', subject: `container ${c.name}`, container: c.name, key, value: cut(p.entry), reason: p.reason });
      }
      if (parsed.none) none = true;
      if (parsed.entries.length > 0) {
        origins.push({ container: c, direction, entries: parsed.entries, key, reason: `label ${key} on ${c.name}`, id: labelOriginId(c.id, direction) });
      }
    }
  }
  return origins.length === 0 && !none && problems.length === 0 ? NO_LABELS : { origins, none, problems };
}
