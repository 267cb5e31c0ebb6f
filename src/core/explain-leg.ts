// One leg of `moat explain`'s answer: the packet walked through one built-in
// chain of the ruleset (explain-walk.ts), its verdict, the decision behind it,
// and the sub-cases the same chain decides the other way (exceptions).
import { assertNever } from './assert-never.js';
import type { Decision } from './explain-reasons.js';
import type { Side } from './explain-route.js';
import type { ExplainException, Leg, Verdict } from './explain-types.js';
import { walk, type AddrSet, type Outcome, type Packet, type RuleRef, type WalkContext } from './explain-walk.js';
import type { Proto } from './labels.js';
import type { Family } from './model.js';

/** What the query asks about every leg: the family, the port and the protocol. */
export interface LegQuery {
  readonly family: Family;
  readonly port: number | null;
  readonly proto: Proto | null;
}

/** The deciding rule of a walk -> its origin, for a packet from src to dst. */
export type Decide = (ref: RuleRef, via: readonly string[], src: Side, dst: Side) => Decision;

export class LegWalker {
  /** What the legs walked so far decided otherwise than their verdict, in walk order. */
  readonly exceptions: ExplainException[] = [];

  constructor(
    readonly ctx: WalkContext,
    private readonly query: LegQuery,
    private readonly decide: Decide,
  ) {}

  packet(s: Side, d: Side, inIf: string | null, outIf: string | null, dnat = false): Packet {
    const { family, port, proto } = this.query;
    return {
      family,
      src: s.set,
      dst: d.set,
      in: inIf,
      out: outIf,
      proto,
      ports: port === null ? null : { lo: port, hi: port },
      dstLocal: d.kind === 'host',
      dnat,
    };
  }

  run(
    hook: string,
    table: 'filter' | 'nat',
    chain: string,
    p: Packet,
    s: Side,
    d: Side,
    fallthrough: Decision,
  ): { verdict: Verdict; outcome: Outcome; leg: Leg } {
    const outcomes = walk(this.ctx, table, chain, p);
    const general = outcomes.at(-1)!;
    const verdict: Verdict = general.result.kind === 'deny' ? 'denied' : 'allowed';
    const decision = general.rule ? this.decide(general.rule, general.via, s, d) : fallthrough;
    for (const o of outcomes.slice(0, -1)) {
      const v: Verdict = o.result.kind === 'deny' ? 'denied' : 'allowed';
      if (v === verdict || o.result.kind === 'dnat') continue;
      this.exceptions.push({
        proto: o.pkt.proto,
        ports: o.pkt.ports ? rangeText(o.pkt.ports) : null,
        address: zoneWithin(o.pkt),
        verdict: v,
        decision: this.decide(o.rule!, o.via, s, d),
      });
    }
    const leg: Leg = {
      hook,
      in: p.in,
      out: p.out,
      src: setText(p.src),
      dst: setText(p.dst),
      port: this.query.port,
      verdict,
      decision,
      trace: general.trace.map(refText),
    };
    return { verdict, outcome: general, leg };
  }
}

/** A rule as a leg's trace shows it: `table/chain comment`. */
export const refText = (r: RuleRef) => `${r.table}/${r.chain} ${r.comment}`;

const rangeText = (r: { lo: number; hi: number }) => (r.lo === r.hi ? String(r.lo) : `${r.lo}-${r.hi}`);

function setText(s: AddrSet): string {
  switch (s.kind) {
    case 'ip':
      return s.cidr.text.replace(/\/(32|128)$/, '');
    case 'host':
      return s.within ? `host ${s.within.text}` : 'host';
    case 'zone':
      return s.within ? `${s.zone} ${s.within.text}` : s.zone;
    default:
      return assertNever(s);
  }
}

function zoneWithin(p: Packet): string | null {
  for (const s of [p.src, p.dst]) if (s.kind !== 'ip' && s.within) return s.within.text;
  return null;
}
