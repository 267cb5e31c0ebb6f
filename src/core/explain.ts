// (src, dst, port) -> verdict + the reason that decided it. The packet is
// routed the way the host routes it (which bridge it leaves and enters, INPUT
// vs FORWARD vs OUTPUT, DNAT of published ports, Docker's userland proxy) and
// walked through the very Ruleset moatd commits (explain-walk.ts), so the
// verdict is the ruleset's, not a second opinion. The deciding rule's
// `moat:<id>` comment is then mapped back to the label entry, policy-file
// line, default, config key or network option that produced it.
//
// The parts: explain-resolve.ts (names and addresses -> what they are),
// explain-route.ts (the endpoints and bridges the packet uses),
// explain-walk.ts (the packet through the chains), explain-reasons.ts (the
// deciding rule -> its origin), explain-target.ts (the query's destination).
import { parseCidr } from './addr.js';
import { assertNever } from './assert-never.js';
import type { Config } from './config.js';
import { ruleReason, type Decision } from './explain-reasons.js';
import { queryFamily, type Resolved, Resolver } from './explain-resolve.js';
import { hostPlace, Router, type Side } from './explain-route.js';
import type { ExplainException, ExplainOptions, ExplainResult, Explanation, Leg, Place, Verdict } from './explain-types.js';
import { UPLINK, walk, type AddrSet, type Outcome, type Packet, type RuleRef, type WalkContext } from './explain-walk.js';
import type { Proto } from './labels.js';
import type { Family } from './model.js';
import { BUILTIN_JUMPS } from './names.js';
import type { NetworkPolicy, Policy } from './policy.js';
import { buildRuleset, type Ruleset } from './ruleset.js';

export type { Decision, DecisionKind } from './explain-reasons.js';
export { parseTarget, type Target } from './explain-target.js';
export type { ExplainException, ExplainOptions, ExplainResult, Explanation, Leg, Place, Verdict } from './explain-types.js';

export class Explainer {
  private readonly rulesets = new Map<Family, Ruleset>();
  private readonly nets: ReadonlyMap<string, NetworkPolicy>;
  private readonly resolver: Resolver;
  private readonly router: Router;

  constructor(
    private readonly policy: Policy,
    private readonly config: Config,
    options: Omit<ExplainOptions, 'family'> = {},
  ) {
    this.nets = new Map(policy.networks.map((n) => [n.network.id, n]));
    this.resolver = new Resolver(policy, config, options.hostAddresses ?? []);
    this.router = new Router(policy, this.nets, this.resolver);
  }

  private ruleset(family: Family): Ruleset {
    let r = this.rulesets.get(family);
    if (!r) {
      r = buildRuleset(this.policy, this.config, family);
      this.rulesets.set(family, r);
    }
    return r;
  }

  explain(src: string, dst: string, port: number | null, proto: Proto | null, family?: Family): ExplainResult {
    const a = this.resolver.resolve(src);
    if (typeof a === 'string') return { ok: false, error: a };
    const b = this.resolver.resolve(dst);
    if (typeof b === 'string') return { ok: false, error: b };
    const fam = family ?? queryFamily(a, b);
    const effProto: Proto | null = proto ?? (port !== null ? 'tcp' : null);
    if (effProto === 'icmp' && port !== null) return { ok: false, error: 'icmp takes no port' };
    return { ok: true, explanation: this.explainResolved(a, b, port, effProto, fam) };
  }

  private walkContext(family: Family): WalkContext {
    const dockerSubnets = this.policy.networks.flatMap((n) => (family === 4 ? n.network.subnets4 : n.network.subnets6)).map((s) => parseCidr(s)!);
    return { ruleset: this.ruleset(family), dockerSubnets, protectedRanges: this.resolver.protectedRanges(family) };
  }

  private explainResolved(a: Resolved, b: Resolved, port: number | null, proto: Proto | null, family: Family): Explanation {
    const notes = [...a.notes, ...b.notes];
    const srcR: Resolved = a.kind === 'container' && a.hostMode ? { kind: 'host', address: null, notes: [] } : a;
    const dstR: Resolved = b.kind === 'container' && b.hostMode ? { kind: 'host', address: null, notes: [] } : b;
    const base = { family, port, proto, notes, exceptions: [] as ExplainException[] };
    const finish = (
      src: Place,
      dst: Place,
      verdict: Verdict,
      decision: Decision,
      legs: Leg[] = [],
      action: Explanation['action'] = null,
      exceptions: ExplainException[] = [],
    ): Explanation => ({
      ...base,
      src: a.kind === 'container' && a.hostMode ? { ...src, kind: 'container', name: a.container.name, containerId: a.container.id } : src,
      dst: b.kind === 'container' && b.hostMode ? { ...dst, kind: 'container', name: b.container.name, containerId: b.container.id } : dst,
      verdict,
      action: verdict === 'denied' ? action : null,
      decision,
      legs,
      exceptions,
    });

    const route = this.router.route(srcR, dstR, family);
    if ('error' in route)
      return finish(route.srcPlace, route.dstPlace, 'denied', { kind: 'routing', reason: route.error, rule: null, table: null, chain: null });
    const { src, dst } = route;
    if (src.container && dst.container && src.container.id === dst.container.id) {
      return finish(src.place, dst.place, 'allowed', {
        kind: 'default',
        reason: 'a container always reaches itself (loopback, not routed)',
        rule: null,
        table: null,
        chain: null,
      });
    }
    for (const s of [src, dst]) {
      if (s.net && !s.net.managed) {
        return finish(src.place, dst.place, 'allowed', {
          kind: 'network',
          reason: `network ${s.net.network.name} (${s.net.network.driver}) bypasses the host's netfilter: moat cannot firewall it`,
          rule: null,
          table: null,
          chain: null,
        });
      }
    }
    if (src.kind === 'docker' && dst.kind === 'docker' && src.net === dst.net)
      notes.push('same-network traffic is filtered only while br_netfilter is on (moat doctor checks it)');

    const legs: Leg[] = [];
    const exceptions: ExplainException[] = [];
    const ctx = this.walkContext(family);
    const pkt = (s: Side, d: Side, inIf: string | null, outIf: string | null, dnat = false): Packet => ({
      family,
      src: s.set,
      dst: d.set,
      in: inIf,
      out: outIf,
      proto,
      ports: port === null ? null : { lo: port, hi: port },
      dstLocal: d.kind === 'host',
      dnat,
    });
    const run = (
      hook: string,
      table: 'filter' | 'nat',
      chain: string,
      p: Packet,
      s: Side,
      d: Side,
      fallthrough: Decision,
    ): { verdict: Verdict; outcome: Outcome; leg: Leg } => {
      const outcomes = walk(ctx, table, chain, p);
      const general = outcomes.at(-1)!;
      const verdict: Verdict = general.result.kind === 'deny' ? 'denied' : 'allowed';
      const decision = general.rule ? this.decision(general.rule, general.via, s, d, family) : fallthrough;
      for (const o of outcomes.slice(0, -1)) {
        const v: Verdict = o.result.kind === 'deny' ? 'denied' : 'allowed';
        if (v === verdict || o.result.kind === 'dnat') continue;
        exceptions.push({
          proto: o.pkt.proto,
          ports: o.pkt.ports ? rangeText(o.pkt.ports) : null,
          address: zoneWithin(o.pkt),
          verdict: v,
          decision: this.decision(o.rule!, o.via, s, d, family),
        });
      }
      const leg: Leg = { hook, in: p.in, out: p.out, src: setText(p.src), dst: setText(p.dst), port, verdict, decision, trace: general.trace.map(refText) };
      return { verdict, outcome: general, leg };
    };
    const unfiltered = (reason: string): Decision => ({ kind: 'unfiltered', reason, rule: null, table: null, chain: null });
    const action = (o: Outcome) => (o.result.kind === 'deny' ? o.result.action : null);
    const br = (s: Side) => s.net?.network.bridge ?? null;

    if (src.kind !== 'docker' && dst.kind !== 'docker' && !(dst.kind === 'host' && port !== null)) {
      return finish(
        src.place,
        dst.place,
        'allowed',
        unfiltered("neither end is a Docker network: moat does not filter this traffic (the host's own firewall decides)"),
      );
    }

    // To the host: DNAT of a published port first (publishMode dnat), else INPUT.
    if (dst.kind === 'host') {
      const inIf = src.kind === 'docker' ? br(src) : src.kind === 'zone' ? UPLINK : null;
      const dnatChain = src.kind === 'host' ? BUILTIN_JUMPS.nat.OUTPUT : BUILTIN_JUMPS.nat.PREROUTING;
      if (port !== null && ctx.ruleset.tables.nat.chains.some((c) => c.name === dnatChain)) {
        const nat = walk(ctx, 'nat', dnatChain, pkt(src, dst, inIf, null)).at(-1)!;
        if (nat.result.kind === 'dnat') {
          const target = this.router.dnatTarget(nat.result.to, family);
          if (target) {
            legs.push({
              hook: `nat ${src.kind === 'host' ? 'OUTPUT' : 'PREROUTING'}`,
              in: inIf,
              out: null,
              src: src.place.address ?? src.place.name,
              dst: dst.place.address ?? 'host',
              port,
              verdict: 'allowed',
              decision: this.decision(nat.rule!, nat.via, src, dst, family),
              trace: nat.trace.map(refText),
            });
            const to: Side = target;
            const p: Packet = { ...pkt(src, to, inIf, br(to), true), ports: { lo: target.port, hi: target.port } };
            const r =
              src.kind === 'host'
                ? run('OUTPUT', 'filter', BUILTIN_JUMPS.filter.OUTPUT, p, src, to, this.hostToContainers())
                : run('FORWARD', 'filter', BUILTIN_JUMPS.filter.FORWARD, p, src, to, unfiltered('no moat rule matched'));
            legs.push(r.leg);
            return finish(src.place, dst.place, r.verdict, r.leg.decision, legs, action(r.outcome), exceptions);
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
        if (r.verdict === 'denied') return finish(src.place, dst.place, 'denied', r.leg.decision, legs, action(r.outcome), exceptions);
      }
      // Docker's userland proxy answers a published port and connects to the container from the host.
      const published = port !== null ? this.router.publishedTarget(port, proto ?? 'tcp', dst.place.address, family) : null;
      if (!published) {
        if (src.kind === 'host') return finish(src.place, dst.place, 'allowed', unfiltered('host to itself: moat does not filter it'));
        return finish(src.place, dst.place, 'allowed', legs.at(-1)!.decision, legs, null, exceptions);
      }
      notes.push(`host port ${port} is published by ${published.place.name} (port ${published.port}); Docker's userland proxy connects to it from the host`);
      const host: Side = { place: hostPlace(null), set: { kind: 'host', within: null }, net: null, kind: 'host', container: null };
      const p: Packet = { ...pkt(host, published, null, br(published)), ports: { lo: published.port, hi: published.port } };
      const r = run('OUTPUT', 'filter', BUILTIN_JUMPS.filter.OUTPUT, p, host, published, this.hostToContainers());
      legs.push({ ...r.leg, port: published.port });
      const decisive = r.verdict === 'denied' || legs.length === 1 ? r.leg.decision : legs[0]!.decision;
      return finish(src.place, dst.place, r.verdict, decisive, legs, action(r.outcome), exceptions);
    }

    if (src.kind === 'host') {
      const r = run('OUTPUT', 'filter', BUILTIN_JUMPS.filter.OUTPUT, pkt(src, dst, null, br(dst)), src, dst, this.hostToContainers());
      return finish(src.place, dst.place, r.verdict, r.leg.decision, [r.leg], action(r.outcome), exceptions);
    }
    // Routed through the host: FORWARD, in by the source's bridge (or an uplink), out by the destination's.
    const inIf = src.kind === 'docker' ? br(src) : UPLINK;
    const outIf = dst.kind === 'docker' ? br(dst) : UPLINK;
    const r = run('FORWARD', 'filter', BUILTIN_JUMPS.filter.FORWARD, pkt(src, dst, inIf, outIf), src, dst, unfiltered('no moat rule matched'));
    if (dst.kind === 'docker' && src.kind === 'zone' && r.verdict === 'denied' && dst.container && port !== null) {
      const pub = dst.container.ports.find((p) => p.containerPort === port && p.proto === (proto ?? 'tcp'));
      if (pub) notes.push(`${dst.container.name}:${port} is published as host port ${pub.hostPort}: \`moat explain ${src.place.name} host:${pub.hostPort}\``);
    }
    return finish(src.place, dst.place, r.verdict, r.leg.decision, [r.leg], action(r.outcome), exceptions);
  }

  private hostToContainers(): Decision {
    return { kind: 'config', reason: `config hostToContainers: ${this.config.hostToContainers}`, rule: null, table: null, chain: null };
  }

  private decision(ref: RuleRef, via: readonly string[], src: Side, dst: Side, family: Family): Decision {
    return ruleReason(
      ref,
      via,
      { srcNet: src.net, srcContainer: src.container, dstKind: dst.kind, dstSet: dst.set },
      { policy: this.policy, config: this.config, nets: this.nets, protectedRanges: this.resolver.protectedRanges(family) },
    );
  }
}

/** One-shot form of Explainer.explain (build an Explainer to ask many questions). */
export function explain(
  policy: Policy,
  config: Config,
  src: string,
  dst: string,
  port: number | null,
  proto: Proto | null,
  options: ExplainOptions = {},
): ExplainResult {
  return new Explainer(policy, config, options).explain(src, dst, port, proto, options.family);
}

const rangeText = (r: { lo: number; hi: number }) => (r.lo === r.hi ? String(r.lo) : `${r.lo}-${r.hi}`);
const refText = (r: RuleRef) => `${r.table}/${r.chain} ${r.comment}`;

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
