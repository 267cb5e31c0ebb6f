// Every rule's comment, `moat:<id>`, formatted and parsed here only: what the
// ruleset writes and what explain reads back cannot drift apart. The ids of
// granted flows (`label:…`, `policy:…`) are made here too: own-labels.ts,
// policy-file.ts and origin-flows.ts call labelOriginId, policyOriginId and
// flowId. Only ids and 12-character hex prefixes of Docker ids are written;
// rule.ts refuses any comment outside its safe alphabet.
import { assertNever } from './assert-never.js';

/** Ids that take no parameter: the comment is `moat:` + the kind. */
const FIXED = [
  'established',
  'ndp',
  'log-denied',
  'deny',
  'inbound',
  'icc',
  'icc-off',
  'internal',
  'default-deny',
  'host',
  'host-to-containers',
  'dispatch',
  'lockdown',
  'unknown-bridge',
  'unrenderable-bridge',
  'no-nat-between-networks',
  /** nat PREROUTING/OUTPUT -> MOAT-DNAT for the host's own addresses. */
  'published',
  /** MOAT-DNAT: a Docker source not granted a published port is not DNAT'ed. */
  'published:from-docker',
  /** MOAT-HOST-<net>: containers may reach moatd's DNS forwarder (config dns.listen), port 53 udp and tcp. */
  'dns-forwarder',
] as const;
export type FixedKind = (typeof FIXED)[number];
const FIXED_SET: ReadonlySet<string> = new Set(FIXED);

export type Zone = 'docker' | 'lan' | 'world' | 'external';
const ZONES: readonly Zone[] = ['docker', 'lan', 'world', 'external'];

export type RuleId =
  | { readonly kind: FixedKind }
  | { readonly kind: 'zone'; readonly zone: Zone }
  /** A granted flow: a label entry or a policy-file line (Flow.id). */
  | { readonly kind: 'flow'; readonly flow: string }
  /** Dispatch to a network's chains. `network`: its id (only the first 12 characters are written). */
  | { readonly kind: 'net'; readonly network: string }
  /** Masquerade of a network. */
  | { readonly kind: 'nat'; readonly network: string }
  /** A container allowed to reach world. `container`: its id (first 12 characters written). */
  | { readonly kind: 'world'; readonly container: string }
  /** A published port; `unlisted`: the drop of the sources `published: labelled` does not name. */
  | { readonly kind: 'published-port'; readonly container: string; readonly port: number; readonly proto: string; readonly unlisted: boolean };

const short = (id: string) => id.slice(0, 12);

const isFixed = (id: RuleId): id is { readonly kind: FixedKind } => FIXED_SET.has(id.kind);

export function ruleComment(id: RuleId): string {
  if (isFixed(id)) return `moat:${id.kind}`;
  switch (id.kind) {
    case 'zone':
      return `moat:zone:${id.zone}`;
    case 'flow':
      return `moat:${id.flow}`;
    case 'net':
      return `moat:net:${short(id.network)}`;
    case 'nat':
      return `moat:nat:${short(id.network)}`;
    case 'world':
      return `moat:world:${short(id.container)}`;
    case 'published-port':
      return `moat:published:${short(id.container)}:${id.port}/${id.proto}${id.unlisted ? ':unlisted' : ''}`;
    default:
      return assertNever(id);
  }
}

/** A comment without parameter, e.g. `fixed('icc')` -> `moat:icc`. */
export const fixed = (kind: FixedKind): string => `moat:${kind}`;
export const zoneComment = (zone: Zone): string => `moat:zone:${zone}`;
/** True for the zone chains' own rules (their verdict belongs to the rule that jumped there). */
export const isZoneComment = (comment: string): boolean => comment.startsWith('moat:zone:');

const HEX12 = '([0-9a-f]{12})';
const NET = new RegExp(`^net:${HEX12}$`);
const NAT = new RegExp(`^nat:${HEX12}$`);
const WORLD = new RegExp(`^world:${HEX12}$`);
const PUBLISHED = new RegExp(`^published:${HEX12}:(\\d+)/(\\w+)(:unlisted)?$`);

/** The id a comment carries; null for a comment moat does not write. */
export function parseRuleComment(comment: string): RuleId | null {
  if (!comment.startsWith('moat:')) return null;
  const id = comment.slice('moat:'.length);
  if (FIXED_SET.has(id)) return { kind: id as FixedKind };
  if (id.startsWith('zone:')) {
    const zone = ZONES.find((z) => z === id.slice('zone:'.length));
    return zone ? { kind: 'zone', zone } : null;
  }
  if (id.startsWith('label:') || id.startsWith('policy:')) return { kind: 'flow', flow: id };
  let m: RegExpExecArray | null;
  if ((m = NET.exec(id))) return { kind: 'net', network: m[1]! };
  if ((m = NAT.exec(id))) return { kind: 'nat', network: m[1]! };
  if ((m = WORLD.exec(id))) return { kind: 'world', container: m[1]! };
  if ((m = PUBLISHED.exec(id))) return { kind: 'published-port', container: m[1]!, port: Number(m[2]), proto: m[3]!, unlisted: m[4] !== undefined };
  return null;
}

/** Where a granted flow's id comes from. */
export type FlowOrigin = 'label' | 'policy';

/** The id of a container's own `moat.egress` / `moat.ingress` label, as an origin of flows. */
export const labelOriginId = (containerId: string, direction: 'egress' | 'ingress') => `label:${short(containerId)}:${direction}`;
/** The id of a policy-file rule, as an origin of flows: `tag` is the file's comment-safe base name. */
export const policyOriginId = (tag: string, line: number, direction: 'egress' | 'ingress') => `policy:${tag}:${line}:${direction}`;
/** The id of the `index`th entry of an origin: Flow.id. */
export const flowId = (originId: string, index: number) => `${originId}:${index}`;
export const flowOrigin = (flowId: string): FlowOrigin => (flowId.startsWith('policy:') ? 'policy' : 'label');
