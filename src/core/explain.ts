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
// explain-path.ts (the hooks the packet takes, each a leg), explain-leg.ts (one
// leg: a walk through one chain), explain-walk.ts (the packet through the
// chains), explain-reasons.ts (the deciding rule -> its origin),
// explain-target.ts (the query's destination), explain-dns.ts (dns: grants'
// learned addresses).
import { parseCidr } from './addr.js';
import type { Config } from './config.js';
import { DnsSets, learnedText } from './explain-dns.js';
import { ruleReason, type Decision } from './explain-reasons.js';
import { queryFamily, type Resolved, Resolver } from './explain-resolve.js';
import { type Decide, LegWalker } from './explain-leg.js';
import { walkPath } from './explain-path.js';
import { parseRuleComment } from './rule-ids.js';
import { Router, type Side } from './explain-route.js';
import type { ExplainException, ExplainOptions, ExplainResult, Explanation, Leg, Place } from './explain-types.js';
import type { RuleRef, WalkContext } from './explain-walk.js';
import type { Proto } from './labels.js';
import type { Family } from './model.js';
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
  private readonly dns: DnsSets;

  constructor(
    private readonly policy: Policy,
    private readonly config: Config,
    options: Omit<ExplainOptions, 'family'> = {},
  ) {
    this.nets = new Map(policy.networks.map((n) => [n.network.id, n]));
    this.resolver = new Resolver(policy, config, options.hostAddresses ?? []);
    this.router = new Router(policy, this.nets, this.resolver);
    this.dns = new DnsSets(policy, options.learned);
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
    return { ruleset: this.ruleset(family), dockerSubnets, protectedRanges: this.resolver.protectedRanges(family), inSet: this.dns.inSet };
  }

  private explainResolved(a: Resolved, b: Resolved, port: number | null, proto: Proto | null, family: Family): Explanation {
    const notes = [...a.notes, ...b.notes];
    const srcR: Resolved = a.kind === 'container' && a.hostMode ? { kind: 'host', address: null, notes: [] } : a;
    const dstR: Resolved = b.kind === 'container' && b.hostMode ? { kind: 'host', address: null, notes: [] } : b;
    const base = { family, port, proto, notes, exceptions: [] as ExplainException[] };
    const finish = (
      src: Place,
      dst: Place,
      verdict: Explanation['verdict'],
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

    const query = { family, port, proto };
    const decide: Decide = (ref, via, s, d) => this.decision(ref, via, s, d, family);
    const hostToContainers = () => this.hostToContainers();
    const pass = (assumeLearned: boolean, into: string[]) => {
      this.dns.begin(assumeLearned);
      const legs = new LegWalker(this.walkContext(family), query, decide);
      return { ...walkPath(src, dst, query, { router: this.router, legs, decide, hostToContainers, notes: into }), dns: this.dns.seen() };
    };
    const end = pass(false, notes);
    if (
      dst.set.kind !== 'ip' &&
      src.container &&
      this.policy.flows.some((f) => f.to.kind === 'dns' && f.from.kind === 'container' && f.from.container === src.container)
    )
      notes.push(`${src.container.name}'s dns: entries allow only the addresses learned for their names: ask about one address to see them`);
    const dnsOf = (d: ReturnType<typeof pass>) => (d.dns.length > 0 ? { dns: d.dns } : {});
    if (!this.dns.unknown) {
      // Known: a dns: grant that decided names the learned address it allowed.
      const lookup = end.decision.rule ? this.dns.lookupOf(this.flowOf(end.decision.rule)) : null;
      const decision = lookup?.learned ? { ...end.decision, reason: `${end.decision.reason}, ${learnedText(lookup.learned)}` } : end.decision;
      return { ...finish(src.place, dst.place, end.verdict, decision, end.legs, end.action, end.exceptions), ...dnsOf(end) };
    }
    // Unknown: walk again as if every address looked up had been learned. The same verdict either way does not depend on them.
    const learned = pass(true, []);
    const unknown = `learned addresses unknown (moatd not reachable): ${[...new Set(learned.dns.map((l) => `dns:${l.pattern}`))].join(', ')}`;
    if (learned.verdict === end.verdict) {
      notes.push(`${unknown}; this verdict holds whether or not ${dst.place.address} was learned`);
      return { ...finish(src.place, dst.place, end.verdict, end.decision, end.legs, end.action, end.exceptions), ...dnsOf(end) };
    }
    const decision = {
      ...learned.decision,
      reason: `${learned.decision.reason} allows it if ${dst.place.address} was learned for that name; ${unknown}. If it was not: ${end.verdict}, ${end.decision.reason}`,
    };
    return { ...finish(src.place, dst.place, 'unknown', decision, learned.legs, null, learned.exceptions), ...dnsOf(learned) };
  }

  private flowOf(comment: string) {
    const id = parseRuleComment(comment);
    return id?.kind === 'flow' ? this.policy.flows.find((f) => f.id === id.flow) : undefined;
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
