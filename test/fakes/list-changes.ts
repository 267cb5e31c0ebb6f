// Random changes to Docker list answers, as the reconciler's cached listing
// presents them: the raw object of whatever changed is replaced, every other
// raw object is kept (the same object), and the arrays are new each time.
// For the property test of the incremental path (src/core/desired.test.ts).
import fc from 'fast-check';
import { hexId, synthetic } from '../../bench/synthetic.js';

type Raw = Record<string, unknown>;

export interface Lists {
  readonly networks: readonly Raw[];
  readonly containers: readonly Raw[];
}

/** A label entry, resolved against the host when the change is applied (`k` picks a container or network). */
export interface EntrySpec {
  readonly peer: 'ctr' | 'publisher' | 'svc' | 'own-svc' | 'net' | 'world' | 'lan' | 'host' | 'none' | 'cidr' | 'cidr6' | 'inside' | 'missing' | 'bad';
  readonly k: number;
  readonly port: '' | ':80' | ':443' | ':8080' | ':8000-8100';
  readonly proto: '' | '/udp' | '/tcp';
}

export interface LabelSpec {
  readonly egress: readonly EntrySpec[] | null;
  readonly ingress: readonly EntrySpec[] | null;
}

export interface NetLabelSpec {
  readonly egress: 'none' | 'world' | 'bogus' | null;
  readonly icc: 'false' | 'true' | 'maybe' | null;
  readonly nat: 'false' | null;
  readonly internal: boolean;
  readonly iccOption: boolean;
  /** 0: a bridge; 1: a bridge whose name moat refuses; 2: macvlan. */
  readonly kind: 0 | 1 | 2;
}

export type Change =
  | {
      readonly kind: 'add-container';
      readonly net: number;
      readonly net2: number | null;
      readonly host: number;
      readonly labels: LabelSpec;
      readonly publish: number | null;
      readonly v6: boolean;
      readonly mode: 'own' | 'host' | 'joined';
    }
  | { readonly kind: 'remove-container'; readonly at: number }
  | { readonly kind: 'relabel'; readonly at: number; readonly labels: LabelSpec }
  | { readonly kind: 'connect'; readonly at: number; readonly net: number; readonly host: number }
  | { readonly kind: 'disconnect'; readonly at: number }
  | { readonly kind: 'ports'; readonly at: number; readonly publish: number | null }
  | { readonly kind: 'rename'; readonly at: number; readonly name: number }
  | { readonly kind: 'add-network'; readonly name: number; readonly labels: NetLabelSpec; readonly v6: boolean }
  | { readonly kind: 'remove-network'; readonly at: number }
  | { readonly kind: 'network-labels'; readonly at: number; readonly labels: NetLabelSpec }
  | { readonly kind: 'odd'; readonly at: number; readonly what: 'duplicate-id' | 'bad-id' | 'bad-address' | 'not-an-object' }
  | { readonly kind: 'policy' }
  | { readonly kind: 'touch' };

const entry: fc.Arbitrary<EntrySpec> = fc.record({
  peer: fc.constantFrom(
    'ctr',
    'ctr',
    'publisher',
    'publisher',
    'svc',
    'own-svc',
    'net',
    'world',
    'lan',
    'host',
    'none',
    'cidr',
    'cidr6',
    'inside',
    'missing',
    'bad',
  ),
  k: fc.nat(1000),
  port: fc.constantFrom('', ':80', ':443', ':8080', ':8000-8100'),
  proto: fc.constantFrom('', '', '/udp', '/tcp'),
});
const entries = fc.option(fc.array(entry, { minLength: 1, maxLength: 3 }), { freq: 2 });
const labels: fc.Arbitrary<LabelSpec> = fc.record({ egress: entries, ingress: entries });
const netLabels: fc.Arbitrary<NetLabelSpec> = fc.record({
  egress: fc.constantFrom('none', 'world', 'bogus', null, null),
  icc: fc.constantFrom('false', 'true', 'maybe', null, null),
  nat: fc.constantFrom('false', null, null),
  internal: fc.constantFrom(false, false, false, true),
  iccOption: fc.constantFrom(false, false, false, true),
  kind: fc.constantFrom(0, 0, 0, 0, 0, 1, 2),
});
const at = fc.nat(1000);

export const change: fc.Arbitrary<Change> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('add-container'),
      net: at,
      net2: fc.option(at, { freq: 4 }),
      host: fc.integer({ min: 2, max: 250 }),
      labels,
      publish: fc.option(fc.integer({ min: 20000, max: 20010 }), { freq: 2 }),
      v6: fc.boolean(),
      mode: fc.constantFrom('own', 'own', 'own', 'own', 'own', 'own', 'host', 'joined'),
    }),
  },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('remove-container'), at }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('relabel'), at, labels }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('connect'), at, net: at, host: fc.integer({ min: 2, max: 250 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('disconnect'), at }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('ports'), at, publish: fc.option(fc.integer({ min: 20000, max: 20010 }), { freq: 3 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('rename'), at, name: fc.nat(30) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('add-network'), name: fc.nat(8), labels: netLabels, v6: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('remove-network'), at }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('network-labels'), at, labels: netLabels }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('odd'), at, what: fc.constantFrom('duplicate-id', 'bad-id', 'bad-address', 'not-an-object') }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('policy') }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('touch') }) },
) as fc.Arbitrary<Change>;

const obj = (v: unknown): Raw => (v !== null && typeof v === 'object' ? (v as Raw) : {});
const nameOf = (c: Raw) => (Array.isArray(obj(c).Names) ? String((obj(c).Names as string[])[0]).slice(1) : 'nobody');
const subnetsOf = (n: Raw) => ((obj(n.IPAM).Config as Raw[] | undefined) ?? []).map((c) => String(c.Subnet));

/** An address of `host` in the network's first subnet of the family ('' when it has none). */
function addressIn(n: Raw, host: number, family: 4 | 6): string {
  const s = subnetsOf(n).find((x) => x.includes(':') === (family === 6));
  if (!s) return '';
  if (family === 6) return `${s.split('::')[0]}::${host.toString(16)}`;
  return `${s.split('.').slice(0, 3).join('.')}.${host}`;
}

function endpoint(n: Raw, host: number, v6: boolean): Raw {
  return {
    NetworkID: n.Id,
    EndpointID: hexId(`ep-${String(n.Id)}-${host}`),
    IPAddress: addressIn(n, host, 4),
    IPPrefixLen: 24,
    GlobalIPv6Address: v6 ? addressIn(n, host, 6) : '',
    GlobalIPv6PrefixLen: 64,
  };
}

/** The host under change: its lists, and a counter that keeps new ids distinct. */
export class ChangingHost {
  lists: Lists;
  private made = 0;
  /** Flips with each `policy` change: which set of policy rules is in force. */
  policyFlips = 0;

  constructor(containers: number, networks: number) {
    this.lists = synthetic({ containers, networks });
  }

  private entryText(e: EntrySpec): string {
    const { containers: cs, networks: ns } = this.lists;
    const c = cs.length > 0 ? cs[e.k % cs.length]! : null;
    const n = ns.length > 0 ? ns[e.k % ns.length]! : null;
    const labelsOf = (x: Raw) => obj(x.Labels) as Record<string, string>;
    let peer: string;
    switch (e.peer) {
      case 'ctr':
        peer = c ? nameOf(c) : 'nobody';
        break;
      case 'publisher': {
        // Grants to a container that publishes a port are what the DNAT rules of that port depend on.
        const ps = cs.filter((x) => Array.isArray(x.Ports) && x.Ports.length > 0);
        peer = ps.length > 0 ? nameOf(ps[e.k % ps.length]!) : 'nobody';
        break;
      }
      case 'svc':
        peer =
          c && labelsOf(c)['com.docker.compose.service']
            ? `${labelsOf(c)['com.docker.compose.project']}/${labelsOf(c)['com.docker.compose.service']}`
            : 'p/none';
        break;
      case 'own-svc':
        peer = c ? (labelsOf(c)['com.docker.compose.service'] ?? 'nosvc') : 'nosvc';
        break;
      case 'net':
        peer = n ? `net:${String(n.Name)}` : 'net:none';
        break;
      case 'cidr':
        peer = '192.168.50.10';
        break;
      case 'cidr6':
        peer = '[2001:db8::/64]';
        break;
      case 'inside':
        peer = n && subnetsOf(n)[0] && !subnetsOf(n)[0]!.includes(':') ? subnetsOf(n)[0]! : '10.0.0.0/24';
        break;
      case 'missing':
        peer = 'nosuch';
        break;
      case 'bad':
        peer = 'bad$';
        break;
      default:
        peer = e.peer;
    }
    if (e.peer === 'none') return 'none';
    return `${peer}${e.port}${e.proto}`;
  }

  private labelsFor(spec: LabelSpec, base: Record<string, string>): Record<string, string> {
    const out: Record<string, string> = { ...base };
    delete out['moat.egress'];
    delete out['moat.ingress'];
    if (spec.egress) out['moat.egress'] = spec.egress.map((e) => this.entryText(e)).join(', ');
    if (spec.ingress) out['moat.ingress'] = spec.ingress.map((e) => this.entryText(e)).join(' ');
    return out;
  }

  private netLabelsRaw(n: Raw, spec: NetLabelSpec): Raw {
    const labels: Record<string, string> = {};
    if (spec.egress) labels['moat.egress'] = spec.egress;
    if (spec.icc) labels['moat.icc'] = spec.icc;
    if (spec.nat) labels['moat.nat'] = spec.nat;
    const options: Record<string, string> = {};
    if (spec.iccOption) options['com.docker.network.bridge.enable_icc'] = 'false';
    if (spec.kind === 1) options['com.docker.network.bridge.name'] = 'x;y';
    return { ...n, Driver: spec.kind === 2 ? 'macvlan' : 'bridge', Internal: spec.internal, Labels: labels, Options: options };
  }

  private replaceContainer(i: number, next: Raw | null): void {
    const cs = [...this.lists.containers];
    if (next) cs[i] = next;
    else cs.splice(i, 1);
    this.lists = { networks: [...this.lists.networks], containers: cs };
  }

  apply(ch: Change): void {
    const { containers: cs, networks: ns } = this.lists;
    const pick = <T>(xs: readonly T[], k: number): [number, T] | null => (xs.length > 0 ? [k % xs.length, xs[k % xs.length]!] : null);
    switch (ch.kind) {
      case 'add-container': {
        const net = pick(ns, ch.net);
        if (!net) return;
        const k = this.made++;
        const name = `x${k}`;
        const networks: Raw = { [String(net[1].Name)]: endpoint(net[1], ch.host, ch.v6) };
        const net2 = ch.net2 === null ? null : pick(ns, ch.net2);
        if (net2 && net2[0] !== net[0]) networks[String(net2[1].Name)] = endpoint(net2[1], ch.host, ch.v6);
        const first = cs[0];
        const mode = ch.mode === 'host' ? 'host' : ch.mode === 'joined' && first ? `container:${String(first.Id)}` : String(net[1].Name);
        const raw: Raw = {
          Id: hexId(`x-${k}`),
          Names: [`/${name}`],
          Ports: ch.publish ? [{ IP: '0.0.0.0', PrivatePort: 80, PublicPort: ch.publish, Type: 'tcp' }] : [],
          HostConfig: { NetworkMode: mode },
          NetworkSettings: { Networks: mode.startsWith('container:') || mode === 'host' ? {} : networks },
        };
        raw.Labels = this.labelsFor(ch.labels, { 'com.docker.compose.project': `p${net[0] % 3}`, 'com.docker.compose.service': `s${k % 4}` });
        this.lists = { networks: [...ns], containers: [...cs, raw] };
        return;
      }
      case 'remove-container': {
        const c = pick(cs, ch.at);
        if (c) this.replaceContainer(c[0], null);
        return;
      }
      case 'relabel': {
        const c = pick(cs, ch.at);
        if (c) this.replaceContainer(c[0], { ...c[1], Labels: this.labelsFor(ch.labels, obj(c[1].Labels) as Record<string, string>) });
        return;
      }
      case 'connect': {
        const c = pick(cs, ch.at);
        const n = pick(ns, ch.net);
        if (!c || !n) return;
        const nets = { ...obj(obj(c[1].NetworkSettings).Networks), [String(n[1].Name)]: endpoint(n[1], ch.host, ch.host % 2 === 0) };
        this.replaceContainer(c[0], { ...c[1], NetworkSettings: { Networks: nets } });
        return;
      }
      case 'disconnect': {
        const c = pick(cs, ch.at);
        if (!c) return;
        const nets = { ...obj(obj(c[1].NetworkSettings).Networks) };
        const first = Object.keys(nets)[0];
        if (first === undefined) return;
        delete nets[first];
        this.replaceContainer(c[0], { ...c[1], NetworkSettings: { Networks: nets } });
        return;
      }
      case 'ports': {
        const c = pick(cs, ch.at);
        if (!c) return;
        const ports = ch.publish
          ? [
              { IP: '0.0.0.0', PrivatePort: 80, PublicPort: ch.publish, Type: 'tcp' },
              { IP: '::', PrivatePort: 53, PublicPort: ch.publish, Type: 'udp' },
            ]
          : [];
        this.replaceContainer(c[0], { ...c[1], Ports: ports });
        return;
      }
      case 'rename': {
        const c = pick(cs, ch.at);
        if (c) this.replaceContainer(c[0], { ...c[1], Names: [`/x${ch.name}`] });
        return;
      }
      case 'add-network': {
        const k = this.made++;
        const subnets = [{ Subnet: `10.250.${k % 256}.0/24` }, ...(ch.v6 ? [{ Subnet: `fd00:${k.toString(16)}::/64` }] : [])];
        const raw = this.netLabelsRaw({ Name: `xn${ch.name}`, Id: hexId(`xn-${k}`), Scope: 'local', IPAM: { Driver: 'default', Config: subnets } }, ch.labels);
        this.lists = { networks: [...ns, raw], containers: [...cs] };
        return;
      }
      case 'remove-network': {
        const n = pick(ns, ch.at);
        if (!n) return;
        this.lists = { networks: ns.filter((_, i) => i !== n[0]), containers: [...cs] };
        return;
      }
      case 'network-labels': {
        const n = pick(ns, ch.at);
        if (!n) return;
        const networks = [...ns];
        networks[n[0]] = this.netLabelsRaw(n[1], ch.labels);
        this.lists = { networks, containers: [...cs] };
        return;
      }
      case 'odd': {
        // Docker data as from-docker.ts must survive it: a second object with an id already listed, an id that is not one, an address that is not one, a list item that is not an object.
        const c = pick(cs, ch.at);
        if (!c) return;
        const k = this.made++;
        const odd: unknown =
          ch.what === 'duplicate-id'
            ? { ...c[1], Names: [`/dup${k}`] }
            : ch.what === 'bad-id'
              ? { ...c[1], Id: `nothex${k}`, Names: [`/bad${k}`] }
              : ch.what === 'bad-address'
                ? {
                    ...c[1],
                    Id: hexId(`odd-${k}`),
                    Names: [`/odd${k}`],
                    NetworkSettings: {
                      Networks: Object.fromEntries(
                        Object.entries(obj(obj(c[1].NetworkSettings).Networks)).map(([n, e]) => [n, { ...obj(e), IPAddress: '10.0.0.300' }]),
                      ),
                    },
                  }
                : `not an object ${k}`;
        this.lists = { networks: [...ns], containers: [...cs, odd as Raw] };
        return;
      }
      case 'policy':
        this.policyFlips++;
        this.lists = { networks: [...ns], containers: [...cs] };
        return;
      case 'touch':
        this.lists = { networks: [...ns], containers: [...cs] };
        return;
    }
  }
}
