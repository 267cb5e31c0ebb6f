// Policy files (docs/policy.md#policy-files): operators grant flows without recreating
// containers. Each rule selects containers and adds entries in the label
// grammar. A file with any error is rejected whole, with its path and line.
import { isMap, isSeq, LineCounter, parseDocument, type Node } from 'yaml';
import type { GrantOrigin } from './grant-origin.js';
import { type Entry, parseLabelValue } from './labels.js';
import { cached } from './memo.js';
import type { Container, Snapshot } from './model.js';
import { policyOriginId } from './rule-ids.js';

export interface Selector {
  readonly service?: string;
  readonly project?: string;
  readonly container?: string;
  readonly network?: string;
}

export interface PolicyRule {
  readonly file: string;
  readonly line: number;
  readonly select: Selector;
  readonly egress: readonly Entry[];
  readonly ingress: readonly Entry[];
}

export interface PolicyFileError {
  readonly file: string;
  readonly line: number;
  readonly message: string;
}

const SELECT_KEYS = new Set(['service', 'project', 'container', 'network']);
const RULE_KEYS = new Set(['select', 'egress', 'ingress']);
const NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,254}$/;

/** Parses one policy file; never throws. */
export function parsePolicyFile(file: string, text: string): { rules: PolicyRule[]; errors: PolicyFileError[] } {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, uniqueKeys: true, prettyErrors: false });
  const errors: PolicyFileError[] = [];
  const lineOf = (node: Node | null | undefined) => (node?.range ? lc.linePos(node.range[0]).line : 1);
  const err = (node: Node | null | undefined, message: string) => errors.push({ file, line: lineOf(node), message });

  for (const e of doc.errors) errors.push({ file, line: lc.linePos(e.pos[0]).line, message: e.message.split('\n')[0] ?? 'YAML error' });
  if (errors.length > 0) return { rules: [], errors };
  const root = doc.contents;
  if (root === null) return { rules: [], errors: [] }; // an empty file grants nothing
  if (!isSeq(root)) {
    err(root, 'a policy file is a list of rules (- select: ..., egress: [...], ingress: [...])');
    return { rules: [], errors };
  }
  const rules: PolicyRule[] = [];
  for (const item of root.items) {
    const node = item as Node;
    if (!isMap(node)) {
      err(node, 'each rule is a mapping with select and egress and/or ingress');
      continue;
    }
    let select: Selector | null = null;
    const lists: Record<'egress' | 'ingress', Entry[]> = { egress: [], ingress: [] };
    for (const pair of node.items) {
      const key = String((pair.key as { value?: unknown })?.value ?? pair.key);
      const value = pair.value as Node | null;
      if (!RULE_KEYS.has(key)) {
        err(pair.key as Node, `unknown key ${JSON.stringify(key)} (select, egress, ingress)`);
        continue;
      }
      if (key === 'select') {
        if (!isMap(value)) {
          err(value, 'select is a mapping: { service: NAME } or { container: NAME } or { network: NAME }');
          continue;
        }
        const sel: Record<string, string> = {};
        for (const sp of value.items) {
          const k = String((sp.key as { value?: unknown })?.value ?? sp.key);
          const v = (sp.value as { value?: unknown } | null)?.value;
          if (!SELECT_KEYS.has(k)) err(sp.key as Node, `unknown selector ${JSON.stringify(k)} (service, project, container, network)`);
          else if (typeof v !== 'string' || !NAME.test(v)) err(sp.value as Node, `${k} must be a Docker name`);
          else sel[k] = v;
        }
        if (!sel.service && !sel.container && !sel.network) err(value, 'select needs service, container or network');
        else if (sel.project && !sel.service) err(value, 'project narrows a service selector; add service');
        select = sel;
        continue;
      }
      const direction = key as 'egress' | 'ingress';
      if (!isSeq(value)) {
        err(value, `${direction} is a list of entries, e.g. ["app:80"]`);
        continue;
      }
      for (const entryNode of value.items) {
        const text = (entryNode as { value?: unknown }).value;
        if (typeof text !== 'string' && typeof text !== 'number') {
          err(entryNode as Node, `${direction} entries are strings`);
          continue;
        }
        const parsed = parseLabelValue(String(text), direction);
        if (parsed.none) err(entryNode as Node, "'none' is not a grant; remove world egress with the container's moat.egress label");
        for (const p of parsed.problems) err(entryNode as Node, `${p.entry}: ${p.reason}`);
        lists[direction].push(...parsed.entries);
      }
    }
    if (!select) err(node, 'rule has no select');
    else if (lists.egress.length + lists.ingress.length === 0) err(node, 'rule grants nothing (add egress or ingress)');
    else rules.push({ file, line: lineOf(node), select, egress: lists.egress, ingress: lists.ingress });
  }
  return errors.length > 0 ? { rules: [], errors } : { rules, errors: [] };
}

/** Origins already made per rule and container: the same objects while both stay the same (see desired.ts). */
export type PolicyOriginsMemo = WeakMap<PolicyRule, WeakMap<Container, readonly GrantOrigin[]>>;

/** The containers each rule selects, as grant origins (resolved like labels). */
export function policyOrigins(snapshot: Snapshot, rules: readonly PolicyRule[], memo: PolicyOriginsMemo = new WeakMap()): GrantOrigin[] {
  const netIds = new Map(snapshot.networks.map((n) => [n.name, n.id]));
  const origins: GrantOrigin[] = [];
  for (const rule of rules) {
    const s = rule.select;
    const selected = snapshot.containers.filter(
      (c) =>
        (s.container === undefined || c.name === s.container) &&
        (s.service === undefined || c.service === s.service) &&
        (s.project === undefined || c.project === s.project) &&
        (s.network === undefined || c.endpoints.some((e) => e.networkId === netIds.get(s.network!))),
    );
    const base = rule.file.split('/').pop() ?? '';
    const tag = /^[A-Za-z0-9_.-]{1,64}$/.test(base) ? base : 'file';
    const where = `${rule.file}:${rule.line}`;
    const byContainer = cached(memo, rule, () => new WeakMap<Container, readonly GrantOrigin[]>());
    for (const container of selected) {
      origins.push(
        ...cached(byContainer, container, () =>
          (['egress', 'ingress'] as const)
            .filter((direction) => rule[direction].length > 0)
            .map((direction): GrantOrigin => ({
              container,
              direction,
              entries: rule[direction],
              key: where,
              reason: `policy ${where}`,
              id: policyOriginId(tag, rule.line, direction),
            })),
        ),
      );
    }
  }
  return origins;
}
