// The hooks a routed packet takes through the host, each walked as a leg:
// to the host, DNAT of a published port first (publishMode dnat), else INPUT,
// then Docker's userland proxy; from the host, OUTPUT; through it, FORWARD.
import type { Decision } from './explain-reasons.js';
import { hostPlace, type Router, type Side } from './explain-route.js';
import type { ExplainException, Explanation, Leg, Verdict } from './explain-types.js';
import { UPLINK, walk, type Outcome, type Packet } from './explain-walk.js';
import { type Decide, type LegQuery, type LegWalker, refText } from './explain-leg.js';
import { BUILTIN_JUMPS } from './names.js';

/** How a path ended: what explainResolved finishes its answer with. */
export interface PathEnd {
  readonly verdict: Verdict;
  readonly decision: Decision;
  readonly legs?: Leg[];
  readonly action?: Explanation['action'];
  readonly exceptions?: ExplainException[];
}

export interface PathDeps {
  readonly router: Router;
  readonly legs: LegWalker;
  readonly decide: Decide;
  /** The decision when no rule decides traffic from the host to a container. */
  readonly hostToContainers: () => Decision;
  /** The answer's notes; the path adds to them. */
  readonly notes: string[];
}

export function walkPath(src: Side, dst: Side, query: LegQuery, deps: PathDeps): PathEnd {
  const { family, port, proto } = query;
  const { router, notes } = deps;
  const legs: Leg[] = [];
  const exceptions = deps.legs.exceptions;
  const ctx = deps.legs.ctx;
  const pkt = (s: Side, d: Side, inIf: string | null, outIf: string | null, dnat = false): Packet => deps.legs.packet(s, d, inIf, outIf, dnat);
  const run = (hook: string, table: 'filter' | 'nat', chain: string, p: Packet, s: Side, d: Side, fallthrough: Decision) =>
    deps.legs.run(hook, table, chain, p, s, d, fallthrough);
  const unfiltered = (reason: string): Decision => ({ kind: 'unfiltered', reason, rule: null, table: null, chain: null });
  const action = (o: Outcome) => (o.result.kind === 'deny' ? o.result.action : null);
  const br = (s: Side) => s.net?.network.bridge ?? null;

  if (src.kind !== 'docker' && dst.kind !== 'docker' && !(dst.kind === 'host' && port !== null)) {
    return {
      verdict: 'allowed',
      decision: unfiltered("neither end is a Docker network: moat does not filter this traffic (the host's own firewall decides)"),
    };
  }

  // To the host: DNAT of a published port first (publishMode dnat), else INPUT.
  if (dst.kind === 'host') {
    const inIf = src.kind === 'docker' ? br(src) : src.kind === 'zone' ? UPLINK : null;
    const dnatChain = src.kind === 'host' ? BUILTIN_JUMPS.nat.OUTPUT : BUILTIN_JUMPS.nat.PREROUTING;
    if (port !== null && ctx.ruleset.tables.nat.chains.some((c) => c.name === dnatChain)) {
      const nat = walk(ctx, 'nat', dnatChain, pkt(src, dst, inIf, null)).at(-1)!;
      if (nat.result.kind === 'dnat') {
        const target = router.dnatTarget(nat.result.to, family);
        if (target) {
          legs.push({
            hook: `nat ${src.kind === 'host' ? 'OUTPUT' : 'PREROUTING'}`,
            in: inIf,
            out: null,
            src: src.place.address ?? src.place.name,
            dst: dst.place.address ?? 'host',
            port,
            verdict: 'allowed',
            decision: deps.decide(nat.rule!, nat.via, src, dst),
            trace: nat.trace.map(refText),
          });
          const to: Side = target;
          const p: Packet = { ...pkt(src, to, inIf, br(to), true), ports: { lo: target.port, hi: target.port } };
          const r =
            src.kind === 'host'
              ? run('OUTPUT', 'filter', BUILTIN_JUMPS.filter.OUTPUT, p, src, to, deps.hostToContainers())
              : run('FORWARD', 'filter', BUILTIN_JUMPS.filter.FORWARD, p, src, to, unfiltered('no moat rule matched'));
          legs.push(r.leg);
          return { verdict: r.verdict, decision: r.leg.decision, legs, action: action(r.outcome), exceptions };
        }
      }
    }
    if (src.kind !== 'host') {
      const r = run(
        'INPUT',
        'filter',
        BUILTIN_JUMPS.filter.INPUT,
        pkt(src, dst, inIf, null),
        src,
        dst,
        unfiltered("not from a Docker network: moat does not filter connections to the host's own services (the host's firewall decides)"),
      );
      legs.push(r.leg);
      if (r.verdict === 'denied') return { verdict: 'denied', decision: r.leg.decision, legs, action: action(r.outcome), exceptions };
    }
    // Docker's userland proxy answers a published port and connects to the container from the host.
    const published = port !== null ? router.publishedTarget(port, proto ?? 'tcp', dst.place.address, family) : null;
    if (!published) {
      if (src.kind === 'host') return { verdict: 'allowed', decision: unfiltered('host to itself: moat does not filter it') };
      return { verdict: 'allowed', decision: legs.at(-1)!.decision, legs, action: null, exceptions };
    }
    notes.push(`host port ${port} is published by ${published.place.name} (port ${published.port}); Docker's userland proxy connects to it from the host`);
    const host: Side = { place: hostPlace(null), set: { kind: 'host', within: null }, net: null, kind: 'host', container: null };
    const p: Packet = { ...pkt(host, published, null, br(published)), ports: { lo: published.port, hi: published.port } };
    const r = run('OUTPUT', 'filter', BUILTIN_JUMPS.filter.OUTPUT, p, host, published, deps.hostToContainers());
    legs.push({ ...r.leg, port: published.port });
    const decisive = r.verdict === 'denied' || legs.length === 1 ? r.leg.decision : legs[0]!.decision;
    return { verdict: r.verdict, decision: decisive, legs, action: action(r.outcome), exceptions };
  }

  if (src.kind === 'host') {
    const r = run('OUTPUT', 'filter', BUILTIN_JUMPS.filter.OUTPUT, pkt(src, dst, null, br(dst)), src, dst, deps.hostToContainers());
    return { verdict: r.verdict, decision: r.leg.decision, legs: [r.leg], action: action(r.outcome), exceptions };
  }
  // Routed through the host: FORWARD, in by the source's bridge (or an uplink), out by the destination's.
  const inIf = src.kind === 'docker' ? br(src) : UPLINK;
  const outIf = dst.kind === 'docker' ? br(dst) : UPLINK;
  const r = run('FORWARD', 'filter', BUILTIN_JUMPS.filter.FORWARD, pkt(src, dst, inIf, outIf), src, dst, unfiltered('no moat rule matched'));
  if (dst.kind === 'docker' && src.kind === 'zone' && r.verdict === 'denied' && dst.container && port !== null) {
    const pub = dst.container.ports.find((p) => p.containerPort === port && p.proto === (proto ?? 'tcp'));
    if (pub) notes.push(`${dst.container.name}:${port} is published as host port ${pub.hostPort}: \`moat explain ${src.place.name} host:${pub.hostPort}\``);
  }
  return { verdict: r.verdict, decision: r.leg.decision, legs: [r.leg], action: action(r.outcome), exceptions };
}
