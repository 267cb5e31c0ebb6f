// The destination of a query, `REF[:PORT[/PROTO]]`: read with the label
// grammar (labels.ts), so that `moat explain` accepts what a label names.
import { parseCidr } from './addr.js';
import { assertNever } from './assert-never.js';
import { parseLabelValue, type Proto } from './labels.js';

export interface Target {
  readonly ref: string;
  readonly port: number | null;
  readonly proto: Proto | null;
}

/** Parses `REF[:PORT[/PROTO]]` (the label grammar's PEER:PORT/PROTO) into the reference and port. */
export function parseTarget(text: string): Target | { error: string } {
  const parsed = parseLabelValue(text, 'egress');
  if (parsed.problems.length > 0) return { error: `${text}: ${parsed.problems[0]!.reason}` };
  if (parsed.none || parsed.entries.length !== 1)
    return { error: `${text}: expected one of CONTAINER, PROJECT/SERVICE, host, lan, world or an address, optionally :PORT[/PROTO]` };
  const e = parsed.entries[0]!;
  if (e.ports && e.ports.lo !== e.ports.hi) return { error: `${text}: one port, not a range` };
  const p = e.peer;
  let ref: string;
  switch (p.kind) {
    case 'world':
    case 'lan':
    case 'host':
      ref = p.kind;
      break;
    case 'cidr': {
      const c = parseCidr(p.cidr)!;
      if (c.prefix !== (c.family === 4 ? 32 : 128)) return { error: `${text}: an address, not a range` };
      ref = p.cidr.slice(0, p.cidr.indexOf('/'));
      break;
    }
    case 'container':
      ref = p.name;
      break;
    case 'service':
      ref = `${p.project}/${p.service}`;
      break;
    case 'network':
      return { error: `${text}: a network is not an endpoint; name a container on it` };
    case 'dns':
      return { error: `${text}: a DNS name is not an endpoint; name the address it answered (moat explain CONTAINER ADDRESS[:PORT])` };
    default:
      return assertNever(p);
  }
  return { ref, port: e.ports?.lo ?? null, proto: e.proto };
}
