// (src, dst, port) -> verdict + the reason that decided it. The packet is
// routed the way the host routes it (which bridge it leaves and enters, INPUT
// vs FORWARD vs OUTPUT, DNAT of published ports, Docker's userland proxy) and
// walked through the very Ruleset moatd commits (explain-walk.ts), so the
// verdict is the ruleset's, not a second opinion. The deciding rule's
// `moat:<id>` comment is then mapped back to the label entry, policy-file
// line, default, config key or network option that produced it.
import ipaddr from 'ipaddr.js';
import { parseAddress, parseCidr, type Cidr } from './addr.js';
import type { Config } from './config.js';
import { ruleReason, type Decision } from './explain-reasons.js';
import { gatewayEndpoint } from './gateway.js';
import { UPLINK, walk, type AddrSet, type Outcome, type Packet, type RuleRef, type WalkContext } from './explain-walk.js';
import { netnsOwner } from './grants.js';
import { parseLabelValue, type Proto } from './labels.js';
import type { Container, Endpoint, Family } from './model.js';
import { BUILTIN_JUMPS } from './names.js';
import type { NetworkPolicy, Policy } from './policy.js';
import { buildRuleset, type Ruleset } from './ruleset.js';

export type { Decision, DecisionKind } from './explain-reasons.js';
export type Verdict = 'allowed' | 'denied';
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
  readonly verdict: Verdict;
  /** How a denied connection fails: reject (fast) or drop (timeout); null when allowed. */
  readonly action: 'reject' | 'drop' | null;
  readonly decision: Decision;
  readonly legs: readonly Leg[];
  /** Ports, protocols or address ranges that get the other verdict (when the query left them open). */
  readonly exceptions: readonly ExplainException[];
  readonly notes: readonly string[];
}

export type ExplainResult = { readonly ok: true; readonly explanation: Explanation } | { readonly ok: false; readonly error: string };

export interface ExplainOptions {
  /** Default: 4 unless an address or the endpoints say 6. */
  readonly family?: Family;
  /** The host's own addresses (an address among them is `host`). */
  readonly hostAddresses?: readonly string[];
}

export interface Target {
  readonly ref: string;
  readonly port: number | null;
  readonly proto: Proto | null;
}

/** Parses `REF[:PORT[/PROTO]]` (the label grammar's PEER:PORT/PROTO) into the reference and port. */
export function parseTarget(text: string): Target | { error: string } {
  const parsed = parseLabelValue(text, 'egress');
  if (parsed.problems.length > 0) return { error: `${text}: ${parsed.problems[0]!.reason}` };
  if (parsed.none || parsed.entries.length !== 1) return { error: `${text}: expected one of CONTAINER, PROJECT/SERVICE, host, lan, world or an address, optionally :PORT[/PROTO]` };
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
  }
  return { ref, port: e.ports?.lo ?? null, proto: e.proto };
}

// ---------------------------------------------------------------------------

type Resolved =
  | { readonly kind: 'container'; readonly container: Container; readonly pinned: Endpoint | null; readonly hostMode: boolean; readonly notes: string[] }
  | { readonly kind: 'host'; readonly address: string | null; readonly notes: string[] }
  | { readonly kind: 'zone'; readonly zone: 'lan' | 'world'; readonly address: string | null; readonly notes: string[] }
  | { readonly kind: 'docker'; readonly net: NetworkPolicy; readonly address: string; readonly notes: string[] };

/** One end of the routed packet. */
interface Side {
  readonly place: Place;
  readonly set: AddrSet;
  /** The bridge the packet leaves or enters by, for Docker ends. */
  readonly net: NetworkPolicy | null;
  readonly kind: 'docker' | 'host' | 'zone';
  readonly container: Container | null;
}

export class Explainer {
  private readonly rulesets = new Map<Family, Ruleset>();
  private readonly nets: ReadonlyMap<string, NetworkPolicy>;
  private readonly byId: ReadonlyMap<string, Container>;

  constructor(
    private readonly policy: Policy,
    private readonly config: Config,
    private readonly options: Omit<ExplainOptions, 'family'> = {},
  ) {
    this.nets = new Map(policy.networks.map((n) => [n.network.id, n]));
    this.byId = new Map(policy.containers.map((c) => [c.container.id, c.container]));
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
    const a = this.resolve(src);
    if (typeof a === 'string') return { ok: false, error: a };
    const b = this.resolve(dst);
    if (typeof b === 'string') return { ok: false, error: b };
    const fam = family ?? this.family(a, b);
    const effProto: Proto | null = proto ?? (port !== null ? 'tcp' : null);
    if (effProto === 'icmp' && port !== null) return { ok: false, error: 'icmp takes no port' };
    return { ok: true, explanation: this.explainResolved(a, b, port, effProto, fam) };
  }

  /** Resolves a reference: container name, id prefix, compose service, PROJECT/SERVICE, host, lan, world or an address. */
  resolve(ref: string): Resolved | string {
    if (ref === 'host') return { kind: 'host', address: null, notes: [] };
    if (ref === 'lan' || ref === 'world') return { kind: 'zone', zone: ref, address: null, notes: [] };
    const bare = ref.startsWith('[') && ref.endsWith(']') ? ref.slice(1, -1) : ref;
    const addr = parseAddress(bare);
    if (addr) return this.resolveAddress(addr.text, addr.family);
    const all = this.policy.containers.map((c) => c.container);
    const slash = ref.indexOf('/');
    let matches: Container[];
    const notes: string[] = [];
    if (slash > 0) {
      const [project, service] = [ref.slice(0, slash), ref.slice(slash + 1)];
      matches = all.filter((c) => c.project === project && c.service === service);
    } else {
      matches = all.filter((c) => c.name === ref);
      if (matches.length === 0 && /^[0-9a-f]{4,64}$/.test(ref)) matches = all.filter((c) => c.id.startsWith(ref));
      if (matches.length === 0) {
        matches = all.filter((c) => c.service === ref);
        const projects = [...new Set(matches.map((c) => c.project))];
        if (projects.length > 1) return `${JSON.stringify(ref)} is a service in several compose projects (${projects.join(', ')}): use PROJECT/SERVICE`;
      }
    }
    if (matches.length === 0) return `no running container, compose service or PROJECT/SERVICE named ${JSON.stringify(ref)}`;
    if (matches.length > 1) notes.push(`${ref} has ${matches.length} containers; explaining ${matches[0]!.name} (name one to choose)`);
    const c = matches[0]!;
    if (c.networkMode === 'host') return { kind: 'container', container: c, pinned: null, hostMode: true, notes: [...notes, `${c.name} is in host network mode: it is the host, a host firewall cannot isolate it`] };
    const owner = netnsOwner(c, this.byId);
    if (!owner) return `${c.name} shares the network namespace of a container moat cannot find`;
    if (owner !== c) notes.push(`${c.name} shares ${owner.name}'s network namespace: ${owner.name}'s policy applies`);
    if (owner.networkMode === 'host') return { kind: 'container', container: owner, pinned: null, hostMode: true, notes: [...notes, `${owner.name} is in host network mode: it is the host`] };
    return { kind: 'container', container: owner, pinned: null, hostMode: false, notes };
  }

  private resolveAddress(ip: string, family: Family): Resolved {
    for (const c of this.policy.containers) {
      const ep = c.container.endpoints.find((e) => (family === 4 ? e.ipv4 : e.ipv6) === ip);
      if (ep) return { kind: 'container', container: c.container, pinned: ep, hostMode: false, notes: [] };
    }
    const host = (this.options.hostAddresses ?? []).map((a) => parseAddress(a)?.text).includes(ip);
    const cidr = parseCidr(ip)!;
    const net = this.policy.networks.find((n) => (family === 4 ? n.network.subnets4 : n.network.subnets6).some((s) => cidrIn(cidr, s)));
    if (host || (net && isGateway(ip, net, family))) return { kind: 'host', address: ip, notes: host ? [] : [`${ip} is taken as ${net!.network.name}'s gateway: the host`] };
    if (net) return { kind: 'docker', net, address: ip, notes: [`no running container has ${ip} (network ${net.network.name})`] };
    const lan = this.protectedRanges(family).some((r) => cidrIn(cidr, r.text));
    return { kind: 'zone', zone: lan ? 'lan' : 'world', address: ip, notes: [] };
  }

  private family(a: Resolved, b: Resolved): Family {
    for (const r of [a, b]) {
      if (r.kind === 'container' && r.pinned) return r.pinned.ipv4 ? 4 : 6;
      if ((r.kind === 'host' || r.kind === 'zone' || r.kind === 'docker') && r.address) return r.address.includes(':') ? 6 : 4;
    }
    const has = (r: Resolved, f: Family) => r.kind !== 'container' || r.hostMode || r.container.endpoints.some((e) => (f === 4 ? e.ipv4 : e.ipv6));
    return !has(a, 4) || !has(b, 4) ? (has(a, 6) && has(b, 6) ? 6 : 4) : 4;
  }

  private protectedRanges(family: Family): Cidr[] {
    return this.config.protectedNetworks.map((t) => parseCidr(t)).filter((c): c is Cidr => c !== null && c.family === family);
  }

  private walkContext(family: Family): WalkContext {
    const dockerSubnets = this.policy.networks.flatMap((n) => (family === 4 ? n.network.subnets4 : n.network.subnets6)).map((s) => parseCidr(s)!);
    return { ruleset: this.ruleset(family), dockerSubnets, protectedRanges: this.protectedRanges(family) };
  }

  private explainResolved(a: Resolved, b: Resolved, port: number | null, proto: Proto | null, family: Family): Explanation {
    const notes = [...a.notes, ...b.notes];
    const srcR: Resolved = a.kind === 'container' && a.hostMode ? { kind: 'host', address: null, notes: [] } : a;
    const dstR: Resolved = b.kind === 'container' && b.hostMode ? { kind: 'host', address: null, notes: [] } : b;
    const base = { family, port, proto, notes, exceptions: [] as ExplainException[] };
    const finish = (src: Place, dst: Place, verdict: Verdict, decision: Decision, legs: Leg[] = [], action: Explanation['action'] = null, exceptions: ExplainException[] = []): Explanation => ({
      ...base,
      src: a.kind === 'container' && a.hostMode ? { ...src, kind: 'container', name: a.container.name, containerId: a.container.id } : src,
      dst: b.kind === 'container' && b.hostMode ? { ...dst, kind: 'container', name: b.container.name, containerId: b.container.id } : dst,
      verdict,
      action: verdict === 'denied' ? action : null,
      decision,
      legs,
      exceptions,
    });

    const route = this.route(srcR, dstR, family);
    if ('error' in route) return finish(route.srcPlace, route.dstPlace, 'denied', { kind: 'routing', reason: route.error, rule: null, table: null, chain: null });
    const { src, dst } = route;
    if (src.container && dst.container && src.container.id === dst.container.id) {
      return finish(src.place, dst.place, 'allowed', { kind: 'default', reason: 'a container always reaches itself (loopback, not routed)', rule: null, table: null, chain: null });
    }
    for (const s of [src, dst]) {
      if (s.net && !s.net.managed) {
        return finish(src.place, dst.place, 'allowed', { kind: 'network', reason: `network ${s.net.network.name} (${s.net.network.driver}) bypasses the host's netfilter: moat cannot firewall it`, rule: null, table: null, chain: null });
      }
    }
    if (src.kind === 'docker' && dst.kind === 'docker' && src.net === dst.net) notes.push('same-network traffic is filtered only while br_netfilter is on (moat doctor checks it)');

    const legs: Leg[] = [];
    const exceptions: ExplainException[] = [];
    const ctx = this.walkContext(family);
    const pkt = (s: Side, d: Side, inIf: string | null, outIf: string | null, dnat = false): Packet => ({
      family, src: s.set, dst: d.set, in: inIf, out: outIf, proto, ports: port === null ? null : { lo: port, hi: port }, dstLocal: d.kind === 'host', dnat,
    });
    const run = (hook: string, table: 'filter' | 'nat', chain: string, p: Packet, s: Side, d: Side, fallthrough: Decision): { verdict: Verdict; outcome: Outcome; leg: Leg } => {
      const outcomes = walk(ctx, table, chain, p);
      const general = outcomes.at(-1)!;
      const verdict: Verdict = general.result.kind === 'deny' ? 'denied' : 'allowed';
      const decision = general.rule ? this.decision(general.rule, general.via, s, d, family) : fallthrough;
      for (const o of outcomes.slice(0, -1)) {
        const v: Verdict = o.result.kind === 'deny' ? 'denied' : 'allowed';
        if (v === verdict || o.result.kind === 'dnat') continue;
        exceptions.push({ proto: o.pkt.proto, ports: o.pkt.ports ? rangeText(o.pkt.ports) : null, address: zoneWithin(o.pkt), verdict: v, decision: this.decision(o.rule!, o.via, s, d, family) });
      }
      const leg: Leg = { hook, in: p.in, out: p.out, src: setText(p.src), dst: setText(p.dst), port, verdict, decision, trace: general.trace.map(refText) };
      return { verdict, outcome: general, leg };
    };
    const unfiltered = (reason: string): Decision => ({ kind: 'unfiltered', reason, rule: null, table: null, chain: null });
    const action = (o: Outcome) => (o.result.kind === 'deny' ? o.result.action : null);
    const br = (s: Side) => s.net?.network.bridge ?? null;

    if (src.kind !== 'docker' && dst.kind !== 'docker' && !(dst.kind === 'host' && port !== null)) {
      return finish(src.place, dst.place, 'allowed', unfiltered('neither end is a Docker network: moat does not filter this traffic (the host\'s own firewall decides)'));
    }

    // To the host: DNAT of a published port first (publishMode dnat), else INPUT.
    if (dst.kind === 'host') {
      const inIf = src.kind === 'docker' ? br(src) : src.kind === 'zone' ? UPLINK : null;
      const dnatChain = src.kind === 'host' ? BUILTIN_JUMPS.nat.OUTPUT : BUILTIN_JUMPS.nat.PREROUTING;
      if (port !== null && ctx.ruleset.tables.nat.chains.some((c) => c.name === dnatChain)) {
        const nat = walk(ctx, 'nat', dnatChain, pkt(src, dst, inIf, null)).at(-1)!;
        if (nat.result.kind === 'dnat') {
          const target = this.dnatTarget(nat.result.to, family);
          if (target) {
            legs.push({ hook: `nat ${src.kind === 'host' ? 'OUTPUT' : 'PREROUTING'}`, in: inIf, out: null, src: src.place.address ?? src.place.name, dst: dst.place.address ?? 'host', port, verdict: 'allowed', decision: this.decision(nat.rule!, nat.via, src, dst, family), trace: nat.trace.map(refText) });
            const to: Side = target;
            const p: Packet = { ...pkt(src, to, inIf, br(to), true), ports: { lo: target.port, hi: target.port } };
            const r = src.kind === 'host'
              ? run('OUTPUT', 'filter', BUILTIN_JUMPS.filter.OUTPUT, p, src, to, this.hostToContainers())
              : run('FORWARD', 'filter', BUILTIN_JUMPS.filter.FORWARD, p, src, to, unfiltered('no moat rule matched'));
            legs.push(r.leg);
            return finish(src.place, dst.place, r.verdict, r.leg.decision, legs, action(r.outcome), exceptions);
          }
        }
      }
      if (src.kind !== 'host') {
        const r = run('INPUT', 'filter', BUILTIN_JUMPS.filter.INPUT, pkt(src, dst, inIf, null), src, dst, unfiltered('not from a Docker network: moat does not filter connections to the host\'s own services (the host\'s firewall decides)'));
        legs.push(r.leg);
        if (r.verdict === 'denied') return finish(src.place, dst.place, 'denied', r.leg.decision, legs, action(r.outcome), exceptions);
      }
      // Docker's userland proxy answers a published port and connects to the container from the host.
      const published = port !== null ? this.publishedTarget(port, proto ?? 'tcp', dst.place.address, family) : null;
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

  /** Picks the endpoints the kernel would use: a shared network, else the source's default route. */
  private route(a: Resolved, b: Resolved, family: Family): { src: Side; dst: Side } | { error: string; srcPlace: Place; dstPlace: Place } {
    const addr = (e: Endpoint) => (family === 4 ? e.ipv4 : e.ipv6);
    const netName = (e: Endpoint) => this.nets.get(e.networkId)?.network.name ?? e.networkId;
    const eps = (c: Container) => c.endpoints.filter((e) => addr(e) && this.nets.has(e.networkId)).sort((x, y) => netName(x).localeCompare(netName(y)));
    // The source's default route: Docker's gateway endpoint of the family (gateway.ts); none into an internal network.
    const gateway = (c: Container) => {
      const gw = gatewayEndpoint(c, (id) => this.nets.get(id)?.network, family);
      return gw && addr(gw.ep) && !gw.net.internal && this.nets.has(gw.ep.networkId) ? gw.ep : null;
    };
    const dockerSide = (c: Container, e: Endpoint): Side => {
      const net = this.nets.get(e.networkId)!;
      const ip = addr(e)!;
      return { place: { kind: 'container', name: c.name, containerId: c.id, network: net.network.name, bridge: net.network.bridge, address: ip }, set: { kind: 'ip', cidr: parseCidr(ip)! }, net, kind: 'docker', container: c };
    };
    const other = (r: Resolved): Side | null => {
      if (r.kind === 'host') return { place: hostPlace(r.address), set: r.address ? { kind: 'ip', cidr: parseCidr(r.address)! } : { kind: 'host', within: null }, net: null, kind: 'host', container: null };
      if (r.kind === 'zone') return { place: { kind: r.zone, name: r.address ?? r.zone, containerId: null, network: null, bridge: null, address: r.address }, set: r.address ? { kind: 'ip', cidr: parseCidr(r.address)! } : { kind: 'zone', zone: r.zone, within: null }, net: null, kind: 'zone', container: null };
      if (r.kind === 'docker') return { place: { kind: 'docker', name: r.address, containerId: null, network: r.net.network.name, bridge: r.net.network.bridge, address: r.address }, set: { kind: 'ip', cidr: parseCidr(r.address)! }, net: r.net, kind: 'docker', container: null };
      return null;
    };
    const placeOf = (r: Resolved): Place => {
      if (r.kind !== 'container') return other(r)!.place;
      const ep = (r.pinned && addr(r.pinned) ? r.pinned : null) ?? eps(r.container)[0];
      return ep ? dockerSide(r.container, ep).place : { kind: 'container', name: r.container.name, containerId: r.container.id, network: null, bridge: null, address: null };
    };
    const fail = (error: string) => ({ error, srcPlace: placeOf(a), dstPlace: placeOf(b) });

    if (a.kind === 'container' && eps(a.container).length === 0) return fail(`${a.container.name} has no IPv${family} address on a network moat knows (network mode ${a.container.networkMode})`);
    if (b.kind === 'container' && eps(b.container).length === 0) return fail(`${b.container.name} has no IPv${family} address on a network moat knows (network mode ${b.container.networkMode})`);
    const dstNetId = b.kind === 'container' ? (b.pinned?.networkId ?? null) : b.kind === 'docker' ? b.net.network.id : null;

    if (a.kind === 'container') {
      const mine = eps(a.container);
      const pinnedSrc = a.pinned && addr(a.pinned) ? a.pinned : null;
      if (b.kind === 'container') {
        const theirs = eps(b.container);
        const shared = b.pinned ? theirs.filter((e) => e.networkId === b.pinned!.networkId && mine.some((m) => m.networkId === e.networkId)) : theirs.filter((e) => mine.some((m) => m.networkId === e.networkId));
        if (shared[0]) {
          const srcEp = mine.find((m) => m.networkId === shared[0]!.networkId)!;
          return { src: dockerSide(a.container, pinnedSrc ?? srcEp), dst: dockerSide(b.container, shared[0]) };
        }
        const dstEp = (b.pinned && addr(b.pinned) ? b.pinned : null) ?? theirs[0]!;
        const gw = pinnedSrc ?? gateway(a.container);
        if (!gw) return fail(`no route: ${a.container.name} is only on internal networks, which have no gateway to ${b.container.name}'s network`);
        return { src: dockerSide(a.container, gw), dst: dockerSide(b.container, dstEp) };
      }
      const dstSide = other(b)!;
      if (b.kind === 'docker' && dstNetId) {
        const onNet = mine.find((m) => m.networkId === dstNetId);
        if (onNet) return { src: dockerSide(a.container, pinnedSrc ?? onNet), dst: dstSide };
      }
      if (b.kind === 'host') {
        // The gateway of the source's own network is always on-link.
        const onLink = b.address ? mine.find((m) => (family === 4 ? this.nets.get(m.networkId)!.network.subnets4 : this.nets.get(m.networkId)!.network.subnets6).some((s) => cidrIn(parseCidr(b.address!)!, s))) : undefined;
        const ep = pinnedSrc ?? onLink ?? gateway(a.container) ?? mine[0]!;
        return { src: dockerSide(a.container, ep), dst: dstSide };
      }
      const gw = pinnedSrc ?? gateway(a.container);
      if (!gw) return fail(`no route: ${a.container.name} is only on internal networks (no gateway)`);
      return { src: dockerSide(a.container, gw), dst: dstSide };
    }
    const srcSide = other(a)!;
    if (b.kind === 'container') {
      const ep = (b.pinned && addr(b.pinned) ? b.pinned : null) ?? eps(b.container)[0]!;
      return { src: srcSide, dst: dockerSide(b.container, ep) };
    }
    return { src: srcSide, dst: other(b)! };
  }

  private dnatTarget(to: string, family: Family): (Side & { port: number }) | null {
    const m = family === 4 ? /^([0-9.]+):(\d+)$/.exec(to) : /^\[([0-9a-f:]+)\]:(\d+)$/i.exec(to);
    if (!m) return null;
    const r = this.resolveAddress(m[1]!, family);
    if (r.kind !== 'container') return null;
    const ep = r.pinned!;
    const net = this.nets.get(ep.networkId)!;
    return { place: { kind: 'container', name: r.container.name, containerId: r.container.id, network: net.network.name, bridge: net.network.bridge, address: m[1]! }, set: { kind: 'ip', cidr: parseCidr(m[1]!)! }, net, kind: 'docker', container: r.container, port: Number(m[2]) };
  }

  /** The container behind a host port Docker publishes (userland proxy), on this family's wildcard or `address`. */
  private publishedTarget(port: number, proto: Proto, address: string | null, family: Family): (Side & { port: number }) | null {
    const wildcard = family === 4 ? '0.0.0.0' : '::';
    for (const cp of this.policy.containers) {
      const c = cp.container;
      const p = c.ports.find((x) => x.hostPort === port && x.proto === proto && x.hostIp.includes(':') === (family === 6) && (x.hostIp === wildcard || address === null || x.hostIp === address));
      if (!p) continue;
      // Docker's proxy connects to the gateway endpoint of the family; from a
      // host IPv6 port to the IPv4 one when the container has no IPv6 gateway.
      const networkOf = (id: string) => this.nets.get(id)?.network;
      const gw = gatewayEndpoint(c, networkOf, family) ?? (family === 6 ? gatewayEndpoint(c, networkOf, 4) : null);
      const ep = gw && this.nets.get(gw.ep.networkId)?.managed ? gw.ep : null;
      if (!ep) continue;
      const ip = (family === 4 ? ep.ipv4 : ep.ipv6) ?? ep.ipv4!;
      const net = this.nets.get(ep.networkId)!;
      return { place: { kind: 'container', name: c.name, containerId: c.id, network: net.network.name, bridge: net.network.bridge, address: ip }, set: { kind: 'ip', cidr: parseCidr(ip)! }, net, kind: 'docker', container: c, port: p.containerPort };
    }
    return null;
  }

  private decision(ref: RuleRef, via: readonly string[], src: Side, dst: Side, family: Family): Decision {
    return ruleReason(ref, via, { srcNet: src.net, srcContainer: src.container, dstKind: dst.kind, dstSet: dst.set }, { policy: this.policy, config: this.config, nets: this.nets, protectedRanges: this.protectedRanges(family) });
  }
}

/** One-shot form of Explainer.explain (build an Explainer to ask many questions). */
export function explain(policy: Policy, config: Config, src: string, dst: string, port: number | null, proto: Proto | null, options: ExplainOptions = {}): ExplainResult {
  return new Explainer(policy, config, options).explain(src, dst, port, proto, options.family);
}

function cidrIn(c: Cidr, outer: string): boolean {
  const o = parseCidr(outer);
  return o !== null && o.family === c.family && c.prefix >= o.prefix && c.addr.match(o.addr, o.prefix);
}

/** Docker's default gateway is the subnet's first address. */
function isGateway(ip: string, net: NetworkPolicy, family: Family): boolean {
  const subnets = family === 4 ? net.network.subnets4 : net.network.subnets6;
  return subnets.some((s) => {
    const bytes = parseCidr(s)!.addr.toByteArray();
    bytes[bytes.length - 1] = (bytes[bytes.length - 1] ?? 0) | 1;
    return parseAddress(ipaddr.fromByteArray(bytes).toString())?.text === ip;
  });
}

function hostPlace(address: string | null): Place {
  return { kind: 'host', name: address ?? 'host', containerId: null, network: null, bridge: null, address };
}

const rangeText = (r: { lo: number; hi: number }) => (r.lo === r.hi ? String(r.lo) : `${r.lo}-${r.hi}`);
const refText = (r: RuleRef) => `${r.table}/${r.chain} ${r.comment}`;

function setText(s: AddrSet): string {
  if (s.kind === 'ip') return s.cidr.text.replace(/\/(32|128)$/, '');
  if (s.kind === 'host') return s.within ? `host ${s.within.text}` : 'host';
  return s.within ? `${s.zone} ${s.within.text}` : s.zone;
}

function zoneWithin(p: Packet): string | null {
  for (const s of [p.src, p.dst]) if (s.kind !== 'ip' && s.within) return s.within.text;
  return null;
}
